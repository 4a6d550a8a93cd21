#!/usr/bin/python3
# tickctl cluster forget releases what the outbox held (tickd-cluster(7)
# Media in messages between nodes): while bob's home n2 is down, alice on
# n1 sends him an n1 upload (n1's outbox record holds a reference of its
# own) and an n3 upload (the record holds an mref on n3), and carol on n3
# sends him the n3 upload too (n3's record holds one more); n2 forgotten
# on n1, n1's records for it go with their references, at once on n1 and
# through an mref -1 on n3; n3 forgets n2 at a heartbeat and releases
# its own; alice gets failed receipts and verify stays consistent.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()


def outbox(d, node):
    """How many records d's outbox holds for node (its mref records for
    other owners may still be on their way)."""
    return (tickctl(d, "cluster", "outbox").get("nodes") or {}).get(node, 0)


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        ta = token_for(n1, "alice", "phone", new=True)
        token_for(n2, "bob", "laptop", new=True)
        tc = token_for(n3, "carol", "pc", new=True)
        a = await Client.connect(n1, ta, name="alice")
        c = await Client.connect(n3, tc, name="carol")

        # n1 and n3 learn bob's home while n2 is up.
        s1 = await a.request({"op": "send", "to": "bob", "id": "hi",
            "body": "hi"})
        s3 = await c.request({"op": "send", "to": "bob", "id": "hi",
            "body": "hi"})
        t.ok(s1 is not None and s1.get("op") == "sent" and s3 is not None
            and s3.get("op") == "sent" and wait_for(lambda: outbox(n1, "n2")
            == 0 and outbox(n3, "n2") == 0, 10),
            "alice (n1) and carol (n3) reach bob (n2)", [s1, s3])
        n2.kill()
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", "tickd:alive:{n2}")
            == "0", 15), "n2 killed: its heartbeat lapses")

        st1, m1 = upload_png(n1, ta, b"alice's")
        st3, m3 = upload_png(n3, tc, b"carol's")
        t.ok(st1 == st3 == 201 and m1.startswith("n1.") and
            m3.startswith("n3."), "an upload on n1 and one on n3",
            [st1, m1, st3, m3])
        own = await a.request({"op": "send", "to": "bob", "id": "own",
            "body": "mine", "media": [m1]})
        other = await a.request({"op": "send", "to": "bob", "id": "other",
            "body": "carol's", "media": [m3]})
        cs = await c.request({"op": "send", "to": "bob", "id": "c1",
            "body": "mine", "media": [m3]})
        t.ok(all(x is not None and x.get("op") == "sent" for x in
            (own, other, cs)) and outbox(n1, "n2") == 2 and
            outbox(n3, "n2") >= 1,
            "alice sends bob both IDs, carol the n3 one: sent, waiting in "
            "the outboxes", [own, other, cs, outbox(n1, "n2"),
            outbox(n3, "n2")])
        t.ok(wait_for(lambda: media_refs(n1, m1) == 1 and
            media_refs(n3, m3) == 2, 10),
            "n1 counts its record's reference; n3 counts its own "
            "record's and n1's (an mref)",
            [media_refs(n1, m1), media_refs(n3, m3)])

        def forget():
            """tickctl cluster forget n2 on n1, once n1 saw its heartbeat
            lapse; None while refused."""
            r = tickctl(n1, "cluster", "forget", "n2")
            return r if r.ok else None

        r = wait_for(forget, 15)
        t.ok(r is not None and r.get("forgotten") == "n2",
            "n1 forgets n2", r)
        t.ok(outbox(n1, "n2") == 0 and media_refs(n1, m1) == 0,
            "n1's records for n2 go, and the reference its own held",
            [outbox(n1, "n2"), media_refs(n1, m1)])
        t.ok(wait_for(lambda: media_refs(n3, m3) == 0 and
            outbox(n3, "n2") == 0, 15),
            "n3 applies n1's mref -1 and forgets n2 at a heartbeat, "
            "releasing its own record's: no reference left",
            [media_refs(n3, m3), outbox(n3, "n2")])
        got = {}
        for _ in range(4):
            f = await a.recv_op("receipt", 10)
            if f is None:
                break
            got[f.get("for")] = f.get("status")
            await a.send({"op": "ack", "mid": f["mid"]})
            if len(got) == 2:
                break
        t.eq(got, {own["mid"]: "failed", other["mid"]: "failed"},
            "alice gets a failed receipt for each")
        for d in (n1, n3):
            v = tickctl(d, "verify")
            t.ok(v.ok and v.get("consistent") is True,
                f"verify on {d.conf['node_name']}: consistent", v)
        await a.close()
        await c.close()


run(main, 11, timeout=120)
