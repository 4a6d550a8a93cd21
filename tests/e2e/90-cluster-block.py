#!/usr/bin/python3
# block of a user homed on another node that this node has not cached
# (tickd-cluster(7) Home nodes): the name is resolved as a send resolves
# it, then the block is as on one node.  alice (n1) blocks bob (n2) before
# n1 ever looked bob up: ok, the mirror tickd:b:{alice} names him, and
# bob's message to alice is dropped.  A name nobody has: no_such_user.
# n1 cut from Redis, carol (n3) not cached: unavailable; once cached,
# unblock of carol runs with Redis still cut.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1


async def req(c, obj):
    await c.send(obj)
    return await c.recv_op(("ok", "error"), 10 * W) or {}


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        for d, u in ((n1, "alice"), (n2, "bob"), (n3, "carol")):
            register(d, u)
        a = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        b = await Client.connect(n2, token_for(n2, "bob"), name="bob")

        r = await req(a, {"op": "block", "user": "bob", "ref": 1})
        t.eq(r, {"op": "ok", "ref": 1},
            "alice on n1 blocks bob (n2), not cached on n1: ok")
        t.ok(wait_for(lambda: cl.redis.cmd("SISMEMBER", "tickd:b:{alice}",
            "bob") == "1", 10), "the mirror tickd:b:{alice} names bob")
        await a.send({"op": "blocks", "ref": 2})
        f = await a.recv_op("blocks", 5 * W)
        t.eq((f or {}).get("users"), ["bob"], "alice's blocks: bob")
        await b.send({"op": "send", "to": "alice", "id": "x1",
            "body": "hi"})
        f = await b.recv_op(("sent", "error"), 10 * W) or {}
        got = await a.collect("msg", 2 * W)
        t.ok(f.get("op") == "sent" and got == [],
            "bob's message to alice: sent, and never reaches her", [f, got])

        r = await req(a, {"op": "block", "user": "nosuch", "ref": 3})
        t.ok(r.get("code") == "no_such_user" and r.get("ref") == 3,
            "block of a name nobody has: no_such_user", r)

        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0, 15), "n1 cut from Redis")
        r = await req(a, {"op": "block", "user": "carol", "ref": 4})
        t.ok(r.get("code") == "unavailable" and r.get("ref") == 4,
            "block of carol (n3), not cached, Redis unreachable: "
            "unavailable", r)
        r = await req(a, {"op": "unblock", "user": "bob", "ref": 5})
        t.eq(r, {"op": "ok", "ref": 5},
            "unblock of bob, cached, Redis unreachable: ok")
        cl.proxies[0].restore()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 1, 15), "n1 back on Redis")
        r = await req(a, {"op": "block", "user": "carol", "ref": 6})
        t.eq(r, {"op": "ok", "ref": 6}, "then carol's block: ok")
        t.ok(wait_for(lambda: cl.redis.cmd("SISMEMBER", "tickd:b:{alice}",
            "carol") == "1", 10), "the mirror names carol")
        await a.close()
        await b.close()


run(main, 11, timeout=90)
