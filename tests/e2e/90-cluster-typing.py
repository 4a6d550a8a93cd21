#!/usr/bin/python3
# Typing across the nodes of a cluster (tickd-cluster(7) TYPING): alice on
# n1 types to bob on n2 and both of bob's devices get the frame, before
# and after n1 has bob's home in its cache; typing between two users of
# one node still works; bob's block of alice drops her typing but not
# carol's; with n1 cut from Redis alice's typing gets no error and reaches
# nobody, not even once the link is back (typing is never stored); n2 cut
# and back subscribes again.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1    # valgrind's slowdown on every wait


def subscribed(cl, node):
    """Whether node listens on its typing channel (SSUBSCRIBE)."""
    out = cl.redis.cmd("PUBSUB", "SHARDNUMSUB", f"tickd:t:{{{node}}}")
    return out.splitlines()[-1:] == ["1"]


def typing(frm, state):
    return {"op": "typing", "from": frm, "state": state}


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        for d, u in ((n1, "alice"), (n1, "dave"), (n2, "bob"),
                (n3, "carol")):
            t.eq(register(d, u).status, 201, f"{u} registers on {d.name}")
        t.ok(wait_for(lambda: all(subscribed(cl, n) for n in
            ("n1", "n2", "n3")), 10),
            "each node subscribes to its channel tickd:t:{NODE}")

        a = await Client.connect(n1, token_for(n1, "alice", "phone"),
            name="alice")
        dv = await Client.connect(n1, token_for(n1, "dave", "phone"),
            name="dave")
        b1 = await Client.connect(n2, token_for(n2, "bob", "laptop"),
            name="bob-laptop")
        b2 = await Client.connect(n2, token_for(n2, "bob", "phone"),
            name="bob-phone")
        c = await Client.connect(n3, token_for(n3, "carol", "tablet"),
            name="carol")

        ok = await a.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": 1})
        t.eq(ok, {"op": "ok", "ref": 1}, "alice on n1 types to bob: ok")
        f1 = await b1.recv_op("typing", 5 * W)
        f2 = await b2.recv_op("typing", 5 * W)
        t.ok(f1 == typing("alice", "composing") and f1 == f2,
            "both of bob's devices on n2 get it, n1 having looked bob up",
            [f1, f2])
        await a.send({"op": "typing", "to": "bob", "state": "paused"})
        f1 = await b1.recv_op("typing", 5 * W)
        f2 = await b2.recv_op("typing", 5 * W)
        t.ok(f1 == typing("alice", "paused") and f1 == f2,
            "paused too, bob's home now cached on n1", [f1, f2])
        got = await b1.expect_nothing(1, op="typing")
        t.eq(got, [], "each typing arrives once")

        await dv.send({"op": "typing", "to": "alice", "state": "composing"})
        f = await a.recv_op("typing", 5 * W)
        t.eq(f, typing("dave", "composing"),
            "dave types to alice, both on n1: as on a single node")
        ok = await a.request({"op": "typing", "to": "nosuch",
            "state": "composing", "ref": 2})
        t.eq(ok, {"op": "ok", "ref": 2}, "typing to a name nobody has: ok")

        # bob's node learns alice's home from his message, then he blocks
        # her: her typing is dropped at his home, carol's is not.
        s = await b1.request({"op": "send", "to": "alice", "id": "hi",
            "body": {"text": "hi"}}, 10 * W)
        t.ok(s is not None and s.get("op") == "sent", "bob writes to alice",
            s)
        ok = await b1.request({"op": "block", "user": "alice", "ref": 3},
            10 * W)
        t.eq(ok, {"op": "ok", "ref": 3}, "bob on n2 blocks alice of n1")
        ok = await a.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": 4})
        t.eq(ok, {"op": "ok", "ref": 4},
            "alice types to bob, who blocked her: ok all the same")
        await c.send({"op": "typing", "to": "bob", "state": "composing"})
        f = await b2.recv_op("typing", 5 * W)
        t.eq(f, typing("carol", "composing"),
            "carol on n3 types to bob: he gets hers")
        got = await b1.expect_nothing(1.5 * W, op="typing")
        got += await b2.expect_nothing(0.2, op="typing")
        t.eq(got, [typing("carol", "composing")],
            "and nothing of alice's (bob's home applies his block)")
        ok = await b1.request({"op": "unblock", "user": "alice", "ref": 5},
            10 * W)
        t.eq(ok, {"op": "ok", "ref": 5}, "bob unblocks alice")

        # n1 cut from Redis: typing is dropped, without an error.
        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0, 15), "n1 cut from Redis notices")
        ok = await a.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": 6})
        t.eq(ok, {"op": "ok", "ref": 6},
            "alice types to bob with n1 cut from Redis: ok, no error")
        got = await b1.expect_nothing(1.5 * W, op="typing")
        t.eq(got, [], "bob gets nothing")
        cl.proxies[0].restore()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 1 and subscribed(cl, "n1"), 15 * W), "n1 reconnects")
        got = await b1.expect_nothing(1.5 * W, op="typing")
        t.eq(got, [], "nor once n1 is back: typing was never stored")
        await a.send({"op": "typing", "to": "bob", "state": "paused"})
        f = await b1.recv_op("typing", 5 * W)
        t.eq(f, typing("alice", "paused"), "alice's next typing arrives")

        # n2 cut and back: it subscribes to its channel again.
        cl.proxies[1].cut()
        t.ok(wait_for(lambda: not subscribed(cl, "n2"), 10 * W),
            "n2 cut from Redis: its subscription goes")
        cl.proxies[1].restore()
        t.ok(wait_for(lambda: subscribed(cl, "n2"), 15 * W),
            "n2 back: it subscribes again")
        await c.send({"op": "typing", "to": "bob", "state": "paused"})
        f = await b1.recv_op("typing", 5 * W)
        t.eq(f, typing("carol", "paused"), "and carol's typing reaches bob")
        for x in (a, dv, b1, b2, c):
            await x.close()


run(main, 26, timeout=120)
