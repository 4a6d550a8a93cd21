#!/usr/bin/python3
# Groups, tickd-protocol(7) GROUPS, Events and Rules: one order of messages and
# events on every device, offline devices replaying it on reconnect with
# consecutive versions, also after SIGKILL; the removal ordering of rule 4
# and rule 5; skipped with a member device at max_queue (never
# queue_full); blocking inside groups; refused alike for a block and for
# group_add nobody; an ownership transfer as two role events; the owner's
# leave as left then role (by the leaver); the last leave deleting the
# group and its name staying taken.  max_queue is 12.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

REPLIES = ("ok", "error", "group_info", "groups", "sent")
ITEMS = ("msg", "group_event", "receipt")


async def req(c, obj, timeout=5):
    """Send obj (a group op on #o unless it names a group); its reply."""
    if obj["op"].startswith("group_") and obj["op"] != "group_create":
        obj = dict(obj, group=obj.get("group", "#o"))
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout)


def brief(f):
    """A queue item as (kind, what) for comparing orders."""
    if f.get("op") == "msg":
        return ("msg", f.get("id"))
    if f.get("op") == "group_event":
        return (f.get("event"), f.get("version"))
    return (f.get("op"), f.get("status"))


async def drain(c, quiet=0.6):
    """Every item that arrives, acked, in arrival order."""
    got = await c.collect(ITEMS, quiet=quiet)
    if got:
        await c.send({"op": "ack", "mids": [f["mid"] for f in got]})
    return got


async def main(t):
    with Daemon(max_queue=12) as d:
        (ta, tal, tb, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)
        await al.close()
        await bl.close()

        r = await req(ap, {"op": "group_create", "group": "#o",
            "title": "O", "members": ["bob", "carol"]})
        s1 = await req(bp, {"op": "send", "to": "#o", "id": "m1",
            "body": 1})
        r2 = await req(ap, {"op": "group_role", "user": "bob",
            "role": "admin", "ref": 1})
        s2 = await req(c, {"op": "send", "to": "#o", "id": "m2",
            "body": 2})
        r3 = await req(ap, {"op": "group_remove", "users": ["carol"],
            "ref": 2})
        s3 = await req(bp, {"op": "send", "to": "#o", "id": "m3",
            "body": 3})
        t.ok((r or {}).get("op") == "group_info" and
            (s1 or {}).get("expect") == 2 and r2 == {"op": "ok", "ref": 1}
            and (s2 or {}).get("op") == "sent" and
            r3 == {"op": "ok", "ref": 2} and (s3 or {}).get("expect") == 1,
            "create, send, role, send, remove, send", [r, s1, r2, s2, r3,
            s3])

        want = [("created", 1), ("msg", "m1"), ("role", 2), ("msg", "m2"),
            ("removed", 3), ("msg", "m3")]
        ga = [brief(f) for f in await drain(ap)]
        gc = [brief(f) for f in await drain(c) if f.get("op") != "receipt"]
        t.eq(ga, want, "an online member sees messages and events in "
            "commit order")
        t.eq(gc, [("created", 1), ("msg", "m1"), ("role", 2),
            ("removed", 3)], "the removed member gets what was sent "
            "before its removal, then its removed event, and nothing "
            "after (rules 4 and 5)")

        d.kill()
        d.start()
        al = await Client.connect(d, tal, name="alice/laptop")
        bl = await Client.connect(d, tbl, name="bob/laptop")
        gal = await drain(al)
        gbl = await drain(bl)
        t.eq([brief(f) for f in gal], want, "an offline device replays "
            "the same order on reconnect, after a SIGKILL")
        t.eq([brief(f) for f in gbl if f.get("op") != "receipt"],
            [("created", 1), ("msg", "m1"), ("role", 2), ("msg", "m2"),
            ("removed", 3), ("msg", "m3")],
            "the sender's other device too, its own messages included")
        vs = [f["version"] for f in gal if f.get("op") == "group_event"]
        t.eq(vs, list(range(1, len(vs) + 1)), "event versions are "
            "consecutive from 1")
        ap = await Client.connect(d, ta, name="alice/phone")
        bp = await Client.connect(d, tb, name="bob/phone")
        c = await Client.connect(d, tc, name="carol")
        for x in (ap, bp, c):
            await drain(x, 0.3)

        # Transfer to bob: two role events; then bob leaves: left, role.
        r = await req(ap, {"op": "group_add", "users": ["carol"],
            "ref": 3})
        r = await req(ap, {"op": "group_role", "user": "bob",
            "role": "owner", "ref": 4})
        ev = await drain(c)
        t.ok(r == {"op": "ok", "ref": 4} and
            [(f.get("event"), f.get("user"), f.get("role"), f.get("by"))
             for f in ev] == [("added", None, None, "alice"),
            ("role", "alice", "admin", "alice"),
            ("role", "bob", "owner", "alice")],
            "a transfer is two role events: old owner -> admin, then new "
            "owner -> owner", repr(ev))
        r = await req(bp, {"op": "group_leave", "group": "#o", "ref": 5})
        ev = await drain(c)
        evb = await drain(bp)
        t.ok(r == {"op": "ok", "ref": 5} and
            [(f.get("event"), f.get("users"), f.get("user"), f.get("role"),
             f.get("by")) for f in ev] ==
            [("left", ["bob"], None, None, "bob"),
             ("role", None, "alice", "owner", "bob")] and
            [f.get("event") for f in evb if f.get("op") == "group_event"
             and f.get("version", 0) >= 7] == ["left"],
            "the owner's leave: left to all and the leaver, then role "
            "(the admin first made admin becomes owner, by the leaver)",
            f"carol {ev!r}\nbob {evb!r}")
        info = await req(ap, {"op": "group_info", "group": "#o"})
        t.ok((info or {}).get("owner") == "alice" and
            (info or {}).get("members") == [{"user": "alice",
            "role": "owner"}, {"user": "carol", "role": "member"}],
            "alice owns #o again", repr(info))
        for x in (al, bl):
            await drain(x, 0.3)

        # Skipped: fill bob/laptop (offline) to max_queue; the online
        # devices ack as they go, so only bob/laptop can fill.
        await bl.close()
        for x in (ap, al, bp, c):
            await drain(x, 0.3)
        r = await req(ap, {"op": "group_add", "users": ["bob"]})
        for x in (ap, al, bp, c):
            await drain(x, 0.3)
        n = 0
        while True:
            s = await req(c, {"op": "send", "to": "#o", "id": f"f{n}",
                "body": n}) or {}
            n += 1
            for x in (ap, al, bp):
                f = await x.recv_op("msg", 3)
                await x.send({"op": "ack", "mid": (f or {}).get("mid")})
            await drain(c, 0.2)
            if s.get("skipped") != 0 or n > 20:
                break
        t.ok(s.get("op") == "sent" and s.get("skipped") == 1 and
            s.get("expect") == 2, "a full member device is skipped and "
            "counted in skipped; the send is not refused", repr(s))
        full = await req(bp, {"op": "send", "to": "#o", "id": "own",
            "body": 0})
        t.ok((full or {}).get("skipped") == 1, "the sender's own full "
            "device counts in skipped too", repr(full))
        m = metrics(d)
        t.ok(m.get("tickd_group_skipped_total", 0) >= 2,
            "tickd_group_skipped_total counts skips", repr(m.get(
            "tickd_group_skipped_total")))
        for x in (ap, al, bp, c):
            await drain(x, 0.3)
        bl = await Client.connect(d, tbl, name="bob/laptop")
        got = await bl.collect(ITEMS, quiet=0.5)
        ids = [f.get("id") for f in got if f.get("op") == "msg"]
        t.ok(len(got) >= 12 and f"f{n - 2}" in ids and
            f"f{n - 1}" not in ids and "own" not in ids,
            "the full device missed exactly the skipped messages",
            [brief(f) for f in got])
        await bl.send({"op": "ack", "mids": [f["mid"] for f in got]})
        await drain(bl, 0.3)

        # Blocking: carol blocks bob.
        await req(c, {"op": "block", "user": "bob"})
        s = await req(bp, {"op": "send", "to": "#o", "id": "b1",
            "body": "x"})
        gc = await c.expect_nothing(0.5, op="msg")
        ga = await ap.recv_op("msg", 3)
        await req(bp, {"op": "typing", "to": "#o", "state": "composing"})
        tc_ = await c.expect_nothing(0.5, op="typing")
        t.ok((s or {}).get("expect") == 2 and gc == [] and
            (ga or {}).get("id") == "b1" and tc_ == [],
            "a member who blocked the sender gets none of his group "
            "messages or typing; his expect is as if not blocked",
            f"{s!r}\n{gc!r}\n{ga!r}\n{tc_!r}")
        s = await req(c, {"op": "send", "to": "#o", "id": "c9",
            "body": "y"})
        gb = await bp.recv_op("msg", 3)
        await bp.send({"op": "ack", "mid": (gb or {}).get("mid")})
        await bp.send({"op": "read", "mid": (gb or {}).get("mid")})
        await ap.send({"op": "ack", "mid": (gb or {}).get("mid")})
        rc = await c.collect("receipt", quiet=0.7)
        t.ok((gb or {}).get("id") == "c9" and
            [(f.get("by"), f.get("status")) for f in rc] ==
            [("alice", "delivered")],
            "carol's messages reach bob; bob's receipts never reach carol",
            f"{gb!r}\n{rc!r}")
        await c.send({"op": "ack", "mids": [f["mid"] for f in rc]})
        r = await req(bp, {"op": "group_remove", "users": ["alice"]})
        r = await req(ap, {"op": "group_role", "user": "bob",
            "role": "admin"})
        r = await req(bp, {"op": "group_set", "group": "#o",
            "title": "by bob", "ref": 6})
        ev = [f for f in await drain(c) if f.get("op") == "group_event"]
        t.ok(r == {"op": "ok", "ref": 6} and
            [(f.get("event"), f.get("by")) for f in ev][-1] ==
            ("set", "bob"), "events caused by a blocked user still reach "
            "the blocker", repr(ev))

        # refused alike: dave blocked alice, erin set group_add nobody.
        tok_d = token_for(d, "dave", new=True)
        tok_e = token_for(d, "erin", new=True)
        dv = await Client.connect(d, tok_d, name="dave")
        er = await Client.connect(d, tok_e, name="erin")
        await req(dv, {"op": "block", "user": "alice"})
        await req(er, {"op": "settings", "group_add": "nobody"})
        r1 = await req(ap, {"op": "group_add", "group": "#o",
            "users": ["dave", "erin"], "ref": 7})
        r2 = await req(ap, {"op": "group_add", "group": "#o",
            "users": ["bob"], "ref": 8})
        got = [await x.expect_nothing(0.4) for x in (dv, er)]
        t.ok(r1 == {"op": "ok", "ref": 7, "refused": ["dave", "erin"]} and
            r2 == {"op": "ok", "ref": 8, "refused": []} and
            got == [[], []], "a block and group_add nobody give the same "
            "refused; members already in are ignored; no event",
            f"{r1!r}\n{r2!r}\n{got!r}")

        # The last leave deletes the group; its name stays taken.
        for x in (ap, bp, c):
            await req(x, {"op": "group_leave", "group": "#o"})
        r = await req(ap, {"op": "group_info", "group": "#o"})
        r2 = await req(dv, {"op": "group_create", "group": "#o",
            "title": "again"})
        t.ok((r or {}).get("code") == "no_such_group" and
            (r2 or {}).get("code") == "name_taken",
            "the last leave deletes the group; its name is never given "
            "again", f"{r!r}\n{r2!r}")


run(main, 18, timeout=90)
