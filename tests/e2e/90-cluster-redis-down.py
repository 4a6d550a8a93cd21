#!/usr/bin/python3
# Redis down for a while (tickd-cluster(7) FAILURES; cluster.md section 7,
# "Redis stopped for 60 s"): local traffic goes on, cross-node sends get
# sent, and all of them are delivered, once, within cluster_retry after
# Redis is back.  Twice: Redis shut down (saving its data) and started
# again, then Redis frozen with SIGSTOP (connections stay open, commands
# go unanswered) and thawed.  The outage lasts TICKD_REDIS_DOWN seconds (5
# by default; 60 for the long run); the round trips of local sends
# before and during it are printed, bounded only loosely.  After each
# outage the nodes SSUBSCRIBE their channels again (tickd-cluster(7),
# Channels), and typing crosses nodes.

import os
import signal
import statistics
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

DOWN = float(os.environ.get("TICKD_REDIS_DOWN", "5"))
RETRY = 5           # cluster_retry, s
W = 4 if VALGRIND else 1
LOCAL_MAX = 2.0 * W  # s: a generous bound on one local round trip


def figures(ms):
    ms = sorted(ms)
    if not ms:
        return "none"
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    slow = sum(1 for x in ms if x > 50)
    return (f"n={len(ms)} min={ms[0]:.1f} median="
        f"{statistics.median(ms):.1f} p99={p99:.1f} max={ms[-1]:.1f} ms, "
        f"{slow} over 50 ms")


async def local_round(a, c, mid_id):
    """alice sends carol (same node) one message: (ms to sent, ms to
    carol's msg), or None if either did not come."""
    t0 = time.monotonic()
    s = await a.request({"op": "send", "to": "carol", "id": mid_id,
        "body": mid_id}, 5 * W)
    t1 = time.monotonic()
    m = await c.recv_op("msg", 5 * W)
    t2 = time.monotonic()
    if s is None or s.get("op") != "sent" or m is None or \
            m.get("id") != mid_id:
        return None
    await c.send({"op": "ack", "mid": m["mid"]})
    return ((t1 - t0) * 1000, (t2 - t0) * 1000)


async def traffic(t, a, c, tag, seconds):
    """Local sends for `seconds`, and one cross-node send to bob every
    tenth; what the checks need."""
    rtt, dlv, bad, cross, cross_bad = [], [], [], [], []
    i = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = await local_round(a, c, f"{tag}-l{i}")
        if r is None:
            bad.append(i)
        else:
            rtt.append(r[0])
            dlv.append(r[1])
        if i % 10 == 0:
            mid_id = f"{tag}-x{i}"
            s = await a.request({"op": "send", "to": "bob", "id": mid_id,
                "body": mid_id}, 5 * W)
            if s is not None and s.get("op") == "sent":
                cross.append(mid_id)
            else:
                cross_bad.append(s)
        i += 1
        await asyncio.sleep(0.02)
    return rtt, dlv, bad, cross, cross_bad


async def bob_gets(b, ids, deadline):
    """The ids of bob's msgs until all of ids came or deadline (monotonic
    s) passed, then for one more second, each acked; and when the last of
    ids came."""
    seen = []
    last = time.monotonic()
    while set(ids) - set(seen) and time.monotonic() < deadline:
        m = await b.recv_op("msg", max(0.05, deadline - time.monotonic()))
        if m is None:
            break
        seen.append(m.get("id"))
        last = time.monotonic()
        await b.send({"op": "ack", "mid": m["mid"]})
    for m in await b.expect_nothing(1.0, "msg"):
        seen.append(m.get("id"))
    return seen, last


async def outage(t, cl, a, b, c, how):
    n1 = cl.node(1)
    if how == "stopped":
        try:
            cl.redis.cmd("SHUTDOWN", "SAVE")
        except OSError:
            pass    # redis-cli may call the closed connection an error
        cl.redis.proc.wait(10)
    else:
        cl.redis.proc.send_signal(signal.SIGSTOP)
    rtt, dlv, bad, cross, cross_bad = await traffic(t, a, c, how, DOWN)
    t.diag(f"Redis {how} {DOWN:g} s: local send->sent {figures(rtt)}")
    t.diag(f"Redis {how} {DOWN:g} s: local send->msg {figures(dlv)}")
    t.ok(not bad and rtt and max(rtt) < LOCAL_MAX * 1000,
        f"Redis {how}: every local send got sent and reached carol, each "
        f"within {LOCAL_MAX:g} s", [bad, figures(rtt)])
    t.ok(cross and not cross_bad,
        f"Redis {how}: every cross-node send got sent", cross_bad)
    t.eq(cluster_metric(n1, "tickd_cluster_redis_up"), 0,
        f"Redis {how}: n1 knew it unreachable")
    got = await b.expect_nothing(0.2, "msg")
    t.eq(got, [], f"Redis {how}: bob got nothing meanwhile")
    back = time.monotonic()
    if how == "stopped":
        cl.redis.start()
    else:
        cl.redis.proc.send_signal(signal.SIGCONT)
    seen, last = await bob_gets(b, cross, back + RETRY * W)
    took = last - back
    t.diag(f"Redis {how}: {len(cross)} cross-node messages delivered, "
        f"the last {took:.2f} s after Redis was started again "
        f"(cluster_retry {RETRY} s)")
    t.ok(sorted(seen) == sorted(cross), f"Redis {how}: bob got every "
        f"cross-node send, once, within cluster_retry of Redis's return",
        [sorted(cross), sorted(seen)])
    t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_outbox") == 0,
        RETRY), f"Redis {how}: n1's outbox is empty again")


async def crossing(t, cl, a, b, how):
    """Once Redis is back: n2's typing channel and n1's of bob's presence
    are subscribed again, and alice's typing reaches bob."""
    port = cl.redis.port
    ok = wait_for(lambda: shard_numsub(port, "tickd:t:{n2}") == 1 and
        shard_numsub(port, "tickd:pc:{bob}") == 1, 10)
    t.ok(ok, f"Redis {how}, back: n2 SSUBSCRIBEs tickd:t:{{n2}} again, "
        "n1 tickd:pc:{bob}", [shard_numsub(port, "tickd:t:{n2}"),
        shard_numsub(port, "tickd:pc:{bob}")])
    r = await a.request({"op": "typing", "to": "bob", "state": "composing",
        "ref": how})
    f = await b.recv_op("typing", 5 * W)
    t.ok(r == {"op": "ok", "ref": how} and f == {"op": "typing",
        "from": "alice", "state": "composing"},
        f"Redis {how}, back: alice's typing reaches bob", [r, f])


async def main(t):
    # Straight to Redis, not through the helper's proxies: a proxy
    # accepts a connection even while Redis is down, which would hide
    # the nodes' reconnect backoff.
    cl = Cluster(cluster_retry=f"{RETRY}s")
    for d in cl.nodes:
        d.conf["cluster_redis"] = f"redis://127.0.0.1:{cl.redis.port}"
    with cl:
        n1, n2 = cl.node(1), cl.node(2)
        for d, u in ((n1, "alice"), (n1, "carol"), (n2, "bob")):
            if register(d, u).status != 201:
                raise Failure(f"register {u}")
        a = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        c = await Client.connect(n1, token_for(n1, "carol"), name="carol")
        b = await Client.connect(n2, token_for(n2, "bob"), name="bob")

        rtt, dlv, bad, cross, _ = await traffic(t, a, c, "before", 1.0)
        t.diag(f"Redis up: local send->sent {figures(rtt)}")
        t.diag(f"Redis up: local send->msg {figures(dlv)}")
        seen, _ = await bob_gets(b, cross, time.monotonic() + 5 * W)
        t.ok(not bad and sorted(seen) == sorted(cross),
            "Redis up: local and cross-node traffic flows", [bad, seen])
        await a.send({"op": "subscribe", "users": ["bob"]})
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "alice on n1 watches bob on n2: online", f)

        await outage(t, cl, a, b, c, "stopped")
        cl.wait_up()
        await crossing(t, cl, a, b, "stopped")
        await outage(t, cl, a, b, c, "frozen")
        await crossing(t, cl, a, b, "frozen")
        for x in (a, b, c):
            await x.close()


run(main, 18, timeout=90 + 4 * DOWN * W)
