#!/usr/bin/python3
# What each failure does to three tickd nodes on one real redis-server
# (tickd-cluster(7) FAILURES): Redis stopped (local traffic goes on,
# cross-node sends get sent and arrive once Redis is back, registration
# and unknown names are unavailable), Redis restarted empty and Redis
# flushed (the directory comes back, nothing is lost), a node SIGKILLed
# (the outbox for it rises, then falls to 0 once it is back), and one
# node's link cut at its proxy; after Redis's restart and the cut, the
# nodes SSUBSCRIBE their typing channels again (tickd-cluster(7),
# Channels) and typing crosses nodes.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()


async def send(t, a, to, mid_id, what):
    s = await a.request({"op": "send", "to": to, "id": mid_id,
        "body": mid_id})
    t.ok(s is not None and s.get("op") == "sent", f"{what}: sent", s)
    return s


async def got(t, b, ids, what, timeout=20):
    """b receives the msgs of ids (each once), acked; t checks."""
    seen = []
    deadline = time.monotonic() + (timeout * (4 if VALGRIND else 1))
    while set(ids) - set(seen) and time.monotonic() < deadline:
        m = await b.recv_op("msg", max(0.1, deadline - time.monotonic()))
        if m is None:
            break
        seen.append(m.get("id"))
        await b.send({"op": "ack", "mid": m["mid"]})
    extra = await b.expect_nothing(1.0, "msg")
    seen += [m.get("id") for m in extra]
    t.ok(sorted(seen) == sorted(ids), what, seen)


async def typing_crosses(t, cl, frm, to, who, node, what):
    """frm's typing reaches to, user who of node, whose channel is
    subscribed (again)."""
    ch = f"tickd:t:{{{node}}}"
    ok = wait_for(lambda: shard_numsub(cl.redis.port, ch) == 1, 10)
    await frm.send({"op": "typing", "to": who, "state": "composing"})
    f = await to.recv_op("typing", 10)
    t.ok(ok and f is not None and f.get("state") == "composing",
        f"{what}: {node} SSUBSCRIBEs {ch} again, and typing to {who} "
        "arrives", f)


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        for d, u in ((n1, "alice"), (n1, "carol"), (n2, "bob"),
                (n3, "dave")):
            if register(d, u).status != 201:
                raise Failure(f"register {u}")
        ta = token_for(n1, "alice")
        tc = token_for(n1, "carol")
        tb = token_for(n2, "bob")
        a = await Client.connect(n1, ta, name="alice")
        c = await Client.connect(n1, tc, name="carol")
        b = await Client.connect(n2, tb, name="bob")
        await send(t, a, "bob", "warm", "a first send to bob")
        await got(t, b, ["warm"], "bob gets it")

        # Redis stopped.
        cl.redis.stop()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0, 15), "Redis stopped: tickd_cluster_redis_up 0 on n1")
        await send(t, a, "carol", "local1", "Redis down, alice to carol")
        await got(t, c, ["local1"], "carol on the same node gets it")
        await send(t, a, "bob", "down1", "Redis down, alice to bob")
        t.ok((cluster_metric(n1, "tickd_cluster_outbox") or 0) >= 1,
            "it waits in n1's outbox")
        r = await a.request({"op": "send", "to": "dave", "id": "dd",
            "body": 1})
        t.ok(r is not None and r.get("code") == "unavailable",
            "Redis down, a name n1 never looked up: unavailable", r)
        r = register(n2, "erin")
        t.ok(r.status == 503 and r.error == "unavailable",
            "Redis down: registration 503 unavailable", r)
        r = login(n1, "alice")
        t.eq(r.status, 200, "Redis down: a local login works")

        # Redis back, empty.
        cl.redis.start()
        cl.wait_up()
        await got(t, b, ["down1"], "Redis back empty: bob gets the "
            "message sent while it was down, once")
        t.ok(wait_for(lambda: cl.redis.cmd("GET", "tickd:u:{bob}") == "n2"
            and cl.redis.cmd("GET", "tickd:u:{alice}") == "n1", 10),
            "the directory is written back")
        r = register(n3, "alice")
        t.eq(r.status, 409, "alice is taken again across the cluster")
        await typing_crosses(t, cl, a, b, "bob", "n2", "Redis back empty")

        # FLUSHALL while a message is in flight.
        await send(t, a, "bob", "flush1", "alice to bob")
        cl.redis.cmd("FLUSHALL")
        await send(t, a, "bob", "flush2", "alice to bob after FLUSHALL")
        await got(t, b, ["flush1", "flush2"], "FLUSHALL: bob gets both, "
            "once each", timeout=30)
        t.ok(wait_for(lambda: cl.redis.cmd("GET", "tickd:u:{dave}") ==
            "n3", 10), "FLUSHALL: dave's entry is back")

        # n2 SIGKILLed, then started again.
        await b.close()
        n2.kill()
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", "tickd:alive:{n2}")
            == "0", 15), "n2 killed: its alive key lapses")
        for i in range(3):
            await send(t, a, "bob", f"k{i}", f"n2 down, message {i}")
        t.ok((cluster_metric(n1, "tickd_cluster_outbox") or 0) >= 3,
            "n1's outbox holds them")
        n2.start()
        cl.wait_up()
        b = await Client.connect(n2, tb, name="bob")
        await got(t, b, ["k0", "k1", "k2"], "n2 back: bob gets all three",
            timeout=30)
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_outbox")
            == 0, 20), "n1's outbox falls to 0")

        # n1's link cut at its proxy.
        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0, 15), "n1 cut off: redis_up 0 on n1")
        t.eq(cluster_metric(n2, "tickd_cluster_redis_up"), 1,
            "n2 still up")
        await send(t, a, "carol", "cut-local", "n1 cut off, local send")
        await got(t, c, ["cut-local"], "carol gets it")
        await send(t, a, "bob", "cut1", "n1 cut off, alice to bob")
        cl.proxies[0].restore()
        await got(t, b, ["cut1"], "link back: bob gets it", timeout=30)
        await typing_crosses(t, cl, b, a, "alice", "n1", "n1's link back")
        for x in (a, b, c):
            await x.close()


run(main, 32, timeout=240)
