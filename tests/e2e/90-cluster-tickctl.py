#!/usr/bin/python3
# tickctl cluster status, nodes, outbox and forget (tickctl(8) Cluster,
# tickd-cluster(7)) on three nodes over a real redis-server: the status
# and node list, the outbox per destination while n3 is down, and forget
# n3: alice's message for dave on n3 becomes a failed receipt
# (no_such_user) and dave's name can be registered again.  Refusals: a
# forget of this node, of an alive node; cluster commands on a single node.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        for d, u in ((n1, "alice"), (n2, "bob"), (n3, "dave")):
            if register(d, u).status != 201:
                raise Failure(f"register {u}")
        r = tickctl(n1, "cluster", "status")
        t.ok(r.ok and r.get("node") == "n1" and r.get("redis_up") is True
            and r.get("outbox") == 0 and
            r.get("url") == f"http://127.0.0.1:{n1.port}",
            "cluster status on n1", r)
        r = tickctl(n1, "cluster", "nodes")
        nodes = {x.get("node"): x for x in (r.get("nodes") or [])}
        t.ok(r.ok and set(nodes) == {"n1", "n2", "n3"} and
            all(x.get("alive") for x in nodes.values()) and
            nodes["n1"].get("self") is True and
            nodes["n2"].get("url") == f"http://127.0.0.1:{n2.port}",
            "cluster nodes: n1-n3 alive, with their URLs", r)
        r = tickctl(n1, "cluster", "nodes", json_out=False)
        t.ok(r.ok and "n2" in r.out and "alive" in r.out,
            "cluster nodes as text", r)

        a = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        s = await a.request({"op": "send", "to": "dave", "id": "d0",
            "body": 0})
        t.ok(s is not None and s.get("op") == "sent" and
            wait_for(lambda: tickctl(n1, "cluster", "outbox").get("total")
            == 0, 15), "alice to dave: sent, confirmed by n3", s)
        n3.kill()
        t.ok(wait_for(lambda: (tickctl(n1, "cluster", "nodes").get("nodes")
            or [{}])[-1:] and not any(x.get("alive") for x in
            tickctl(n1, "cluster", "nodes").get("nodes") or []
            if x.get("node") == "n3"), 15), "n3 killed: down on n1")
        sents = [await a.request({"op": "send", "to": "dave",
            "id": f"d{i}", "body": i}) for i in (1, 2)]
        r = tickctl(n1, "cluster", "outbox")
        t.ok(r.ok and r.get("total") == 2 and
            r.get("nodes") == {"n3": 2}, "cluster outbox: 2 for n3", r)
        r = tickctl(n1, "cluster", "outbox", json_out=False)
        t.ok(r.ok and "n3" in r.out and "total:" in r.out,
            "cluster outbox as text", r)

        r = tickctl(n1, "cluster", "forget", "n1")
        t.ok(r.one_error_line("not this one"), "forget n1 on n1: refused",
            r)
        r = tickctl(n1, "cluster", "forget", "n2")
        t.ok(r.one_error_line("alive"), "forget n2 (alive): refused", r)
        r = tickctl(n1, "cluster", "forget", "n3")
        t.ok(r.ok and r.get("forgotten") == "n3", "forget n3", r)
        fails = []
        for _ in range(2):
            f = await a.recv_op("receipt", 10)
            if f is not None:
                fails.append(f)
        t.ok(sorted(f.get("for") for f in fails) ==
            sorted(x["mid"] for x in sents) and
            all(f.get("status") == "failed" and
            f.get("reason") == "no_such_user" and f.get("by") == "dave"
            for f in fails), "alice: a failed receipt, no_such_user, for "
            "each message held for n3", fails)
        t.eq(tickctl(n1, "cluster", "outbox").get("total"), 0,
            "n1's outbox is empty")
        t.ok(wait_for(lambda: cl.redis.cmd("GET", "tickd:u:{dave}") == ""
            and cl.redis.cmd("EXISTS", "tickd:{n3}:in") == "0", 10),
            "dave's entry and n3's stream are gone from Redis")
        r = register(n2, "dave")
        t.eq(r.status, 201, "dave's name registers again, on n2")
        await a.close()

    with Daemon() as single:
        r = tickctl(single, "cluster", "status")
        t.ok(r.one_error_line("single node") or
            r.one_error_line("without cluster support"),
            "cluster status on a single node: an error", r)


run(main, 15, timeout=120)
