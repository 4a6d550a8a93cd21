#!/usr/bin/python3
# Groups, protocol.md section 10.4 rules 9 and 10: sent.expect with a
# blocked member.  A sender blocked by members is told expect and skipped
# as if he were not blocked (the blocker counted, never as skipped), also
# on a resend and when every other member blocked him, and gets the
# receipts of the other members only; the blocker's own sends count the
# user it blocked; over group_receipts_max expect is 0 for the blocked
# sender as for anyone, and back to the member count below it; after an
# unblock the messages flow again.  group_receipts_max is 3.
#
# Where the contract is silent this script assumes (tickd-protocol(7)):
# a resent group send is a dup with the same expect and skipped.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

REPLIES = ("ok", "error", "group_info", "groups", "sent")
ITEMS = ("msg", "group_event", "receipt")


async def req(c, obj, timeout=5):
    """Send obj; the direct reply (None on timeout)."""
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout)


async def drain(c, quiet=0.5):
    """Every item that arrives, acked, in arrival order."""
    got = await c.collect(ITEMS, quiet=quiet)
    if got:
        await c.send({"op": "ack", "mids": [f["mid"] for f in got]})
    return got


def promise(s):
    """What a sent promised: (op, expect, skipped)."""
    s = s or {}
    return (s.get("op"), s.get("expect"), s.get("skipped"))


def msgs(frames):
    return [f.get("id") for f in frames if f.get("op") == "msg"]


async def main(t):
    with Daemon(group_receipts_max=3) as d:
        (ta, tal, tb, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)
        everyone = (ap, al, bp, bl, c)
        r = await req(ap, {"op": "group_create", "group": "#e",
            "title": "E", "members": ["bob", "carol"]})
        for x in everyone:
            await drain(x, 0.3)
        r2 = await req(c, {"op": "block", "user": "bob", "ref": 1})
        t.ok((r or {}).get("op") == "group_info" and
            r2 == {"op": "ok", "ref": 1}, "#e: alice, bob, carol; carol "
            "blocks bob", f"{r!r}\n{r2!r}")

        # Bob's send: expect counts carol; carol is not skipped either.
        s = await req(bp, {"op": "send", "to": "#e", "id": "b1",
            "body": 1})
        got = {x: await drain(x) for x in (ap, al, bl, c)}
        t.ok(promise(s) == ("sent", 2, 0) and
            [msgs(got[x]) for x in (ap, al, bl, c)] ==
            [["b1"], ["b1"], ["b1"], []],
            "a member who blocked the sender gets nothing, yet the "
            "sender's expect counts her and skipped stays 0",
            f"{s!r}\n{[msgs(got[x]) for x in (ap, al, bl, c)]!r}")
        mid = (s or {}).get("mid")
        await ap.send({"op": "read", "mids": [mid], "ref": 2})
        rc = await bp.collect("receipt", quiet=0.8)
        t.ok(sorted((f.get("by"), f.get("status"), f.get("group"),
            f.get("for")) for f in rc) == [("alice", "delivered", "#e",
            mid), ("alice", "read", "#e", mid)],
            "of the expect of 2 only alice's receipts come; the blocker's "
            "never can", repr(rc))
        await bp.send({"op": "ack", "mids": [f["mid"] for f in rc]})
        await drain(bl, 0.3)

        dup = await req(bp, {"op": "send", "to": "#e", "id": "b1",
            "body": 1})
        t.ok(promise(dup) == ("sent", 2, 0) and
            (dup or {}).get("dup") is True and
            (dup or {}).get("mid") == mid,
            "a resend of the blocked sender's message is a dup with the "
            "same expect and skipped", repr(dup))

        # Carol's own send counts bob, whom she blocked, and reaches him.
        s = await req(c, {"op": "send", "to": "#e", "id": "c1",
            "body": 2})
        gb = await drain(bp)
        t.ok(promise(s) == ("sent", 2, 0) and msgs(gb) == ["c1"],
            "the blocker's expect counts the member she blocked, and "
            "her message reaches him", f"{s!r}\n{gb!r}")
        for x in (ap, al, bl, c):
            await drain(x, 0.5)

        # Every other member blocked bob: still expect 2, skipped 0.
        await req(ap, {"op": "block", "user": "bob"})
        s = await req(bp, {"op": "send", "to": "#e", "id": "b2",
            "body": 3})
        got = {x: await drain(x) for x in (ap, al, bl, c)}
        rc = await bp.expect_nothing(0.5, op="receipt")
        t.ok(promise(s) == ("sent", 2, 0) and
            [msgs(got[x]) for x in (ap, al, bl, c)] ==
            [[], [], ["b2"], []] and rc == [],
            "blocked by every other member, the sender is still told "
            "expect 2 and skipped 0; only his own other device gets it "
            "and no receipt comes",
            f"{s!r}\n{[msgs(got[x]) for x in (ap, al, bl, c)]!r}\n{rc!r}")

        # Over group_receipts_max (3) expect is 0, blocked or not.
        tok_d = token_for(d, "dave", new=True)
        dv = await Client.connect(d, tok_d, name="dave")
        r = await req(ap, {"op": "group_add", "group": "#e",
            "users": ["dave"], "ref": 3})
        for x in everyone + (dv,):
            await drain(x, 0.3)
        s1 = await req(bp, {"op": "send", "to": "#e", "id": "b3",
            "body": 4})
        s2 = await req(c, {"op": "send", "to": "#e", "id": "c2",
            "body": 5})
        gd = await drain(dv)
        t.ok(r == {"op": "ok", "ref": 3, "refused": []} and
            promise(s1) == ("sent", 0, 0) and
            promise(s2) == ("sent", 0, 0) and msgs(gd) == ["b3", "c2"],
            "with 4 members, over group_receipts_max, expect is 0 for the "
            "blocked sender as for anyone", f"{r!r}\n{s1!r}\n{s2!r}")
        for x in everyone:
            await drain(x, 0.3)
        r = await req(ap, {"op": "group_remove", "group": "#e",
            "users": ["dave"], "ref": 4})
        for x in everyone + (dv,):
            await drain(x, 0.3)
        s = await req(bp, {"op": "send", "to": "#e", "id": "b4",
            "body": 6})
        t.ok(r == {"op": "ok", "ref": 4} and
            promise(s) == ("sent", 2, 0),
            "back at 3 members, the blocked sender's expect is 2 again",
            f"{r!r}\n{s!r}")
        for x in everyone:
            await drain(x, 0.3)

        # Unblocked, carol gets bob's messages again; expect unchanged.
        await req(c, {"op": "unblock", "user": "bob"})
        s = await req(bp, {"op": "send", "to": "#e", "id": "b5",
            "body": 7})
        gc = await drain(c)
        ga = await drain(ap)
        rc = await bp.collect("receipt", quiet=0.8)
        t.ok(promise(s) == ("sent", 2, 0) and msgs(gc) == ["b5"] and
            msgs(ga) == [] and [(f.get("by"), f.get("status"))
            for f in rc] == [("carol", "delivered")],
            "after carol's unblock the same expect, her copy and her "
            "receipt; alice, still blocking, gets neither",
            f"{s!r}\n{gc!r}\n{ga!r}\n{rc!r}")


run(main, 9, timeout=90)
