#!/usr/bin/python3
# Three tickd nodes on a Redis Cluster of three masters, each with a
# replica (tickd-cluster(7), Redis Cluster).  While alice on n1 sends to
# bob on n2, the master that holds n2's stream is SIGKILLed: the nodes
# count Redis as unreachable, ask for the slot map again until its replica
# has taken over, connect to it and resend what was not confirmed.  Every
# message arrives once, every receipt comes back, the outboxes drain, and
# names registered before are still taken.  n2's typing channel, of the
# same slot, is subscribed again at the new master, and typing and
# presence cross nodes again.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
if not cluster_mode_ok():
    print("1..0 # SKIP redis-server cannot run a Redis Cluster here")
    sys.exit(77)

W = 4 if VALGRIND else 1
N = 150


async def main(t):
    with Cluster(rcluster=True, replicas=True) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        rc = cl.redis
        t.eq(register(n1, "alice").status, 201, "alice registers on n1")
        t.eq(register(n2, "bob").status, 201, "bob registers on n2")
        a = await Client.connect(n1, token_for(n1, "alice", "phone"),
            name="alice")
        b = await Client.connect(n2, token_for(n2, "bob", "laptop"),
            name="bob")

        key2 = "tickd:{n2}:in"
        victim = rc.owner(key2)
        tr = Traffic(a, b, N, "f", 0.02, W)
        await asyncio.sleep(1)
        rc.kill(victim)
        t.diag(f"killed the master on {victim}, which held {key2}")
        ok = wait_for(lambda: rc.owner(key2) not in (None, victim), 30)
        t.ok(ok, f"a replica took over {key2}'s slot", rc.owner(key2))
        ok = wait_for(lambda: all(cluster_metric(d,
            "tickd_cluster_redis_up") == 1 for d in (n1, n2, n3)), 30)
        t.ok(ok, "the three nodes are up again on the new master")
        await tr.check(t, (n1, n2), 40, 30)
        r = register(n3, "bob")
        t.ok(r.status == 409 and r.error == "name_taken",
            "bob is still taken, on n3", r)
        t2 = "tickd:t:{n2}"
        t.ok(wait_for(lambda: shard_numsub(rc.owner(t2), t2) == 1, 10),
            f"n2 SSUBSCRIBEs {t2} again, at {rc.owner(t2)}")
        r = await a.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": 1})
        f = await b.recv_op("typing", 5 * W)
        t.ok(r == {"op": "ok", "ref": 1} and f == {"op": "typing",
            "from": "alice", "state": "composing"},
            "alice's typing reaches bob through the new master", [r, f])
        await b.send({"op": "subscribe", "users": ["alice"]})
        f = await b.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "bob on n2 watches alice on n1: online", f)
        await a.close()
        f = await b.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is False,
            "alice goes: bob sees her offline", f)
        a = await Client.connect(n1, token_for(n1, "alice", "phone"),
            name="alice")
        for cli in (a, b):
            await cli.close()


run(main, 13, timeout=300)
