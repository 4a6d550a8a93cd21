#!/usr/bin/python3
# Redis through Sentinel (tickd-cluster(7), Redis Sentinel): a master, its
# replica and three redis-sentinel; two nodes whose cluster_redis is a
# sentinel:// URL naming a dead Sentinel first.  Traffic across the nodes;
# a manual SENTINEL FAILOVER, which leaves the old master up as a replica
# (the nodes follow, and hear +switch-master); then the new master
# SIGKILLed and the old one promoted back.  Every message sent before, between,
# during and after the failovers reaches bob once; a name registers on
# the last master.  After each failover n2 SSUBSCRIBEs its typing channel
# at the new master (tickd-cluster(7), Channels), and typing crosses.  Skipped (77) without redis-sentinel.

import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
REDIS_SENTINEL = shutil.which("redis-sentinel")
if REDIS_SENTINEL is None:
    print("1..0 # SKIP redis-sentinel not found")
    sys.exit(77)

MASTER = "tm"
W = 4 if VALGRIND else 1


class Sentinel:
    """A redis-sentinel on a free port, watching master_port."""

    def __init__(self, master_port):
        self.dir = tempfile.mkdtemp(prefix="tickd-sentinel-")
        self.port = free_port()
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 10000\n")
        self.proc = subprocess.Popen([REDIS_SENTINEL, conf],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def cmd(self, *args):
        p = subprocess.run(["redis-cli", "-p", str(self.port), *args],
            capture_output=True, timeout=10)
        return p.stdout.decode(errors="replace").strip()

    def master(self):
        """The master's port, as this Sentinel says, or None."""
        try:
            out = self.cmd("SENTINEL", "get-master-addr-by-name", MASTER)
        except (OSError, subprocess.TimeoutExpired):
            return None
        lines = out.splitlines()
        return int(lines[1]) if len(lines) == 2 and \
            lines[1].isdigit() else None

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


async def bob_gets(b, ids, timeout):
    """The ids of bob's msgs until all of ids came or timeout s, then for
    one more second; each acked."""
    seen = []
    deadline = time.monotonic() + timeout * W
    while set(ids) - set(seen) and time.monotonic() < deadline:
        m = await b.recv_op("msg", max(0.05, deadline - time.monotonic()))
        if m is None:
            break
        seen.append(m.get("id"))
        await b.send({"op": "ack", "mid": m["mid"]})
    for m in await b.expect_nothing(1.0, "msg"):
        seen.append(m.get("id"))
    return seen


async def sends(t, a, ids):
    bad = []
    for i in ids:
        s = await a.request({"op": "send", "to": "bob", "id": i,
            "body": i}, 10 * W)
        if s is None or s.get("op") != "sent":
            bad.append((i, s))
    return bad


def link_up(r, master_port):
    """Whether r replicates the Redis on master_port."""
    try:
        info = r.cmd("INFO", "replication")
    except OSError:
        return False
    return "master_link_status:up" in info and \
        f"master_port:{master_port}" in info


def reach(nodes, r):
    """Whether both nodes say Redis is up and have their alive keys in
    r."""
    return all(cluster_metric(d, "tickd_cluster_redis_up") == 1 for d in
        nodes) and r.cmd("EXISTS", "tickd:alive:{n1}",
        "tickd:alive:{n2}") == "2"


def logged(d, text):
    with open(d.log_path, errors="replace") as f:
        return text in f.read()


async def typing_at(t, r, a, b, what):
    """n2's typing channel is subscribed at r, and alice's typing reaches
    bob."""
    ok = wait_for(lambda: shard_numsub(r.port, "tickd:t:{n2}") == 1, 15)
    await a.send({"op": "typing", "to": "bob", "state": "paused"})
    f = await b.recv_op("typing", 10 * W)
    t.ok(ok and f == {"op": "typing", "from": "alice", "state": "paused"},
        f"{what}: n2 SSUBSCRIBEs tickd:t:{{n2}} there, and alice's typing "
        "reaches bob", [shard_numsub(r.port, "tickd:t:{n2}"), f])


async def main(t):
    ra = Redis().start()
    rb = Redis(["--replicaof", "127.0.0.1", str(ra.port)]).start()
    sentinels = []
    nodes = []
    try:
        t.ok(wait_for(lambda: link_up(rb, ra.port), 15),
            "the replica follows the master")
        sentinels = [Sentinel(ra.port) for _ in range(3)]
        t.ok(wait_for(lambda: all(s.master() == ra.port and
            str(rb.port) in s.cmd("SENTINEL", "replicas", MASTER) for s in
            sentinels), 15), "three Sentinels watch the master and its "
            "replica")
        dead = free_port()
        url = "sentinel://" + ",".join(f"127.0.0.1:{p}" for p in
            [dead] + [s.port for s in sentinels]) + f"/{MASTER}"
        for i in (1, 2):
            d = Daemon(name=f"n{i}", node_name=f"n{i}", cluster_redis=url,
                cluster_retry="2s",
                cluster_heartbeat="2s" if VALGRIND else "1s",
                cluster_redis_timeout="10s" if VALGRIND else "3s")
            d.conf["cluster_url"] = f"http://127.0.0.1:{d.port}"
            nodes.append(d)
            d.start()
        n1, n2 = nodes
        t.ok(wait_for(lambda: reach(nodes, ra), 20),
            "n1 and n2, told the Sentinels (a dead one first), reach the "
            "master")
        time.sleep(1.5)
        t.eq(register(n1, "alice").status, 201, "alice registers on n1")
        t.eq(register(n2, "bob").status, 201, "bob registers on n2")
        a = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        b = await Client.connect(n2, token_for(n2, "bob"), name="bob")

        before = [f"before{i}" for i in range(5)]
        t.eq(await sends(t, a, before), [], "alice sends bob 5: all sent")
        seen = await bob_gets(b, before, 10)
        t.eq(sorted(seen), sorted(before), "bob on n2 gets them, once each")

        # A manual failover: the old master stays up, as a replica (the
        # Sentinels kill its clients, so the nodes ask again; they hear
        # +switch-master too).
        sentinels[1].cmd("SENTINEL", "FAILOVER", MASTER)
        t.ok(wait_for(lambda: all(s.master() == rb.port for s in
            sentinels) and link_up(ra, rb.port), 30),
            "SENTINEL FAILOVER: the replica is master, the old master its "
            "replica")
        t.ok(wait_for(lambda: all(logged(d, f"Sentinel: master {MASTER} is "
            f"127.0.0.1:{rb.port}") for d in nodes) and reach(nodes, rb),
            20), "both nodes follow it to the new master")
        t.ok(wait_for(lambda: all(logged(d, "Sentinel: +switch-master "
            f"{MASTER}") for d in nodes), 10),
            "each heard +switch-master on its subscription")
        manual = [f"manual{i}" for i in range(5)]
        t.eq(await sends(t, a, manual), [], "alice sends bob 5 more: sent")
        seen = await bob_gets(b, manual, 20)
        t.eq(sorted(seen), sorted(manual),
            "bob gets them, once each, through the new master")
        await typing_at(t, rb, a, b, "the new master")

        # The new master killed: the Sentinels promote the old one back.
        t.ok(wait_for(lambda: all(str(ra.port) in s.cmd("SENTINEL",
            "replicas", MASTER) for s in sentinels), 15),
            "the Sentinels know the old master as a replica")
        rb.proc.kill()
        rb.proc.wait()
        during = [f"during{i}" for i in range(5)]
        t.eq(await sends(t, a, during), [],
            "master killed: alice's sends are still answered sent")
        t.ok(wait_for(lambda: all(s.master() == ra.port for s in
            sentinels), 30), "the Sentinels promote the replica")
        t.ok(wait_for(lambda: reach(nodes, ra), 20),
            "both nodes reach the new master")
        after = [f"after{i}" for i in range(5)]
        t.eq(await sends(t, a, after), [], "alice sends 5 more: all sent")
        seen = await bob_gets(b, during + after, 20)
        t.eq(sorted(seen), sorted(during + after),
            "bob gets those sent during and after the failover, once each")
        t.eq(register(n2, "carol").status, 201,
            "a registration on n2 goes to the new master")
        t.eq(ra.cmd("GET", "tickd:u:{carol}"), "n2",
            "whose directory has it")
        await typing_at(t, ra, a, b, "the old master promoted back")
        await a.close()
        await b.close()
    finally:
        for d in nodes:
            d.cleanup()
        for s in sentinels:
            s.cleanup()
        rb.cleanup()
        ra.cleanup()


run(main, 22, timeout=180)
