#!/usr/bin/python3
# Three tickd nodes on a Redis Cluster of three masters, each with a
# replica (tickd-cluster(7), Redis Cluster).  While alice on n1 sends to
# bob on n2, the master that holds n2's stream is SIGKILLed: the nodes
# count Redis as unreachable, ask for the slot map again until its replica
# has taken over, connect to it and resend what was not confirmed.  Every
# message arrives once, every receipt comes back, the outboxes drain, and
# names registered before are still taken.

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
        for cli in (a, b):
            await cli.close()


run(main, 9, timeout=300)
