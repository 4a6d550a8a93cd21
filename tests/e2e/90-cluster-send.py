#!/usr/bin/python3
# Three tickd nodes on one real redis-server (tickd-cluster(7)): names are
# unique across the cluster, tokens name their home, a login, a logout or
# a WebSocket on the wrong node is sent to the home (307, wrong_node and
# close 4001), and a 1:1 message from alice on n1 reaches bob on n2 and
# his receipts come back, each once, with "for" the sender's mid; refusals
# only bob's home can know come back as failed receipts.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()


async def main(t):
    with Cluster(max_queue=2) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        t.eq(register(n1, "alice").status, 201, "alice registers on n1")
        t.eq(register(n2, "bob").status, 201, "bob registers on n2")
        r = register(n3, "bob")
        t.ok(r.status == 409 and r.error == "name_taken",
            "bob again on n3: 409 name_taken across the cluster", r)
        t.eq(cl.redis.cmd("GET", "tickd:u:{bob}"), "n2",
            "the directory says n2 for bob")

        r = login(n1, "bob")
        want = f"http://127.0.0.1:{n2.port}/v1/login"
        t.ok(r.status == 307 and r.headers.get("Location") == want and
            r.json == {"error": "wrong_node", "node": "n2", "url": want},
            "bob's login on n1: 307 to n2's /v1/login", r)
        r = login(n3, "nobody")
        t.eq(r.status, 401, "a login for a name nobody has: 401")

        ta = token_for(n1, "alice", "phone")
        tb = token_for(n2, "bob", "laptop")
        t.ok(ta.startswith("n1.") and tb.startswith("n2."),
            "tokens begin with their home's node name", [ta, tb])

        w = await Client.connect(n1, tb, name="bob-on-n1", ready=False)
        f = await w.recv()
        code = await w.wait_closed()
        t.ok(f == {"op": "error", "code": "wrong_node",
            "url": f"http://127.0.0.1:{n2.port}/v1/ws"} and code == 4001,
            "bob's WebSocket on n1: wrong_node naming n2's /v1/ws, 4001",
            [f, code])
        r = http_request(n3, "POST", "/v1/logout", token=tb)
        t.ok(r.status == 307 and r.headers.get("Location") ==
            f"http://127.0.0.1:{n2.port}/v1/logout",
            "bob's logout on n3: 307 to n2", r)

        r = http_request(n1, "POST", "/v1/media", b"x", token=tb,
            headers={"Content-Type": "image/png"})
        t.ok(r.status == 307 and r.headers.get("Location") ==
            f"http://127.0.0.1:{n2.port}/v1/media" and
            r.error == "wrong_node", "bob's upload on n1: 307 to n2", r)
        r = http_request(n3, "GET", "/v1/users/alice/last-seen", token=tb)
        t.ok(r.status == 307 and r.headers.get("Location") ==
            f"http://127.0.0.1:{n2.port}/v1/users/alice/last-seen",
            "bob's last-seen on n3: 307 to n2", r)

        a = await Client.connect(n1, ta, name="alice")
        b = await Client.connect(n2, tb, name="bob")
        s = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": {"text": "hi bob"}})
        t.ok(s is not None and s.get("op") == "sent" and
            s.get("to") == "bob", "alice on n1 to bob on n2: sent", s)
        m = await b.recv_op("msg", 20)
        t.ok(m is not None and m.get("from") == "alice" and
            m.get("from_device") == "phone" and m.get("id") == "m1" and
            m.get("body") == {"text": "hi bob"},
            "bob gets the msg on n2", m)
        await b.send({"op": "ack", "mid": m["mid"]})
        d = await a.recv_op("receipt", 20)
        t.ok(d is not None and d.get("status") == "delivered" and
            d.get("for") == s["mid"] and d.get("id") == "m1" and
            d.get("by") == "bob", "alice: delivered, for = sent.mid", d)
        await b.send({"op": "read", "mid": m["mid"]})
        rd = await a.recv_op("receipt", 20)
        t.ok(rd is not None and rd.get("status") == "read" and
            rd.get("for") == s["mid"], "alice: read, for = sent.mid", rd)
        await a.send({"op": "ack", "mids": [d["mid"], rd["mid"]]})

        s2 = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": {"text": "hi bob"}})
        t.ok(s2 is not None and s2.get("dup") is True and
            s2.get("mid") == s["mid"], "the same id again: dup, same mid",
            s2)
        more = await b.expect_nothing(1.5, "msg")
        more += await a.expect_nothing(0.5, "receipt")
        t.eq(more, [], "no second msg, no second receipt")

        r = await a.request({"op": "send", "to": "zed", "id": "z1",
            "body": 1})
        t.ok(r is not None and r.get("code") == "no_such_user",
            "a name nobody has: no_such_user", r)

        # bob's queue holds 2 at most: the third is refused at his home.
        await b.close()
        sents = []
        for i in range(3):
            sents.append(await a.request({"op": "send", "to": "bob",
                "id": f"q{i}", "body": i}))
        t.ok(all(x and x.get("op") == "sent" for x in sents),
            "three more sends: each sent on n1", sents)
        f = await a.recv_op("receipt", 20)
        t.ok(f is not None and f.get("status") == "failed" and
            f.get("reason") == "queue_full" and
            f.get("for") == sents[2]["mid"],
            "the third: a failed receipt, queue_full", f)
        ok = wait_for(lambda: cluster_metric(n1, "tickd_cluster_outbox") ==
            0 and cluster_metric(n2, "tickd_cluster_outbox") == 0, 15)
        t.ok(ok, "the outboxes drain to 0")
        t.ok((cluster_metric(n2, "tickd_cluster_applied_total") or 0) >= 4
            and (cluster_metric(n1, "tickd_cluster_forwarded_total") or 0)
            >= 4, "forwarded and applied counters moved")
        await a.close()


run(main, 22, timeout=120)
