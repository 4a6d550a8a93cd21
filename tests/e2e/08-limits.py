#!/usr/bin/python3
# Queue limits, tickd-protocol(7) MESSAGES rule 7: a full recipient queue
# refuses the send with queue_full and stores nothing; a full queue of the
# sender's own other device is skipped.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

MAX_QUEUE = 3


async def main(t):
    with Daemon(max_queue=MAX_QUEUE) as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")

        fill = [await a.request({"op": "send", "to": "bob", "id": f"q-{i}",
            "body": i}) for i in range(MAX_QUEUE)]
        t.ok(all((s or {}).get("op") == "sent" for s in fill),
            "sends up to max_queue (3) are accepted", f"got {fill!r}")

        over = await a.request({"op": "send", "to": "bob", "id": "over",
            "body": "x", "ref": "q4"})
        over2 = await a.request({"op": "send", "to": "bob", "id": "over2",
            "body": "y", "ref": 5})
        over, over2 = over or {}, over2 or {}
        t.ok(over.get("op") == "error" and over.get("code") == "queue_full"
            and over.get("ref") == "q4" and over.get("id") == "over" and
            over2.get("op") == "error" and over2.get("code") == "queue_full"
            and over2.get("ref") == 5 and over2.get("id") == "over2",
            "a send to a full queue: queue_full with ref and id",
            f"4th {over!r}\n5th {over2!r}")

        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.7)
        t.ok([m.get("id") for m in got] == ["q-0", "q-1", "q-2"],
            "the recipient gets exactly the 3 accepted messages",
            f"got ids {[m.get('id') for m in got]!r}")

        await b.request({"op": "ack", "mid": got[0].get("mid") if got
            else "1-1", "ref": 1})
        retry = await a.request({"op": "send", "to": "bob", "id": "over",
            "body": "x"}) or {}
        m = await b.recv_op("msg", 3) or {}
        t.ok(retry.get("op") == "sent" and retry.get("dup", False) is False
            and m.get("id") == "over" and m.get("mid") == retry.get("mid"),
            "after an ack frees a slot, the refused id is sent anew "
            "(nothing was stored for it)",
            f"retry {retry!r}\nbob got {m!r}")
        await a.close()
        await b.close()

        # carol's phone never connects; her sends fill its queue
        tc = token_for(d, "carol", new=True)
        tphone = token_for(d, "carol", "phone")
        users = ["u1", "u2", "u3", "u4"]
        tu = {u: token_for(d, u, new=True) for u in users}
        c = await Client.connect(d, tc, name="carol")
        replies = [await c.request({"op": "send", "to": u, "id": f"to-{u}",
            "body": u}) for u in users]
        t.ok(all((r or {}).get("op") == "sent" for r in replies),
            "a full queue of the sender's own other device does not "
            "refuse the send", f"got {replies!r}")

        u4 = await Client.connect(d, tu["u4"], name="u4")
        got = await u4.collect("msg", quiet=0.7)
        t.ok([m.get("id") for m in got] == ["to-u4"],
            "the recipient got that send", f"got {got!r}")

        phone = await Client.connect(d, tphone, name="carol/phone")
        got = await phone.collect("msg", quiet=0.7)
        t.ok([m.get("id") for m in got] == ["to-u1", "to-u2", "to-u3"],
            "the full device was skipped: it holds the first 3 only",
            f"got ids {[m.get('id') for m in got]!r}")

        for cl in (c, u4, phone):
            await cl.close()
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")


run(main, 8)
