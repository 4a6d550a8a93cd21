#!/usr/bin/python3
# Groups, tickd-protocol(7) VERSION 2 and GROUPS: tick.v2 and GET /v1/info; a
# group created with members, its created event on every device, group_info and
# groups; a send to #g reaching every other member's devices and the sender's
# other devices with the sent mid, sent carrying expect and skipped; receipts
# per member with "group"; typing to the group; the group_add setting; the
# metrics.
#
# Where the contract is silent this script assumes (tickd-protocol(7)):
# - the created event has version 1, the group's version at creation;
# - a resent group send is a dup with the same expect and skipped;
# - a bad group name in a send's "to" is bad_request.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

REPLIES = ("ok", "error", "group_info", "groups", "sent")


async def req(c, obj, timeout=5):
    """Send obj; the direct reply (None on timeout)."""
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout)


async def main(t):
    with Daemon() as d:
        (ta, tal, tb, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)

        r = http_request(d, "GET", "/v1/info")
        t.eq((r.status, r.json), (200, {"protocol": 2,
            "max_message_bytes": 16384, "max_media_bytes": 67108864,
            "max_group_members": 1024, "push": False}),
            "GET /v1/info answers without authentication")
        v2 = await Client.connect(d, tc, subprotocols=["tick.v2"])
        both = await Client.connect(d, tc, subprotocols=["tick.v1",
            "tick.v2"])
        t.ok(v2.ws.subprotocol == "tick.v2" and
            both.ws.subprotocol in ("tick.v1", "tick.v2"),
            "the subprotocol tick.v2 is accepted",
            f"{v2.ws.subprotocol!r} {both.ws.subprotocol!r}")
        await v2.close()
        await both.close()
        c = await Client.connect(d, tc, name="carol")

        r = await req(ap, {"op": "group_create", "group": "#team",
            "title": "Team", "description": "us", "members": ["bob",
            "carol"], "ref": "c1"})
        members = [{"user": "alice", "role": "owner"},
            {"user": "bob", "role": "member"},
            {"user": "carol", "role": "member"}]
        t.ok(r is not None and r.get("op") == "group_info" and
            r.get("ref") == "c1" and r.get("group") == "#team" and
            r.get("title") == "Team" and r.get("description") == "us" and
            r.get("owner") == "alice" and r.get("version") == 1 and
            r.get("admin_only_send") is False and
            r.get("admin_only_info") is False and
            isinstance(r.get("created"), int) and
            r.get("members") == members and r.get("refused") == [],
            "group_create answers group_info with refused", repr(r))
        evs = [await x.recv_op("group_event", 3) for x in
            (ap, al, bp, bl, c)]
        e0 = evs[0] or {}
        t.ok(all(e is not None and e == e0 for e in evs) and
            e0.get("event") == "created" and e0.get("by") == "alice" and
            e0.get("group") == "#team" and e0.get("version") == 1 and
            e0.get("members") == members and e0.get("title") == "Team" and
            e0.get("description") == "us" and
            e0.get("admin_only_send") is False and
            mid_key(e0.get("mid")) and isinstance(e0.get("ts"), int),
            "every device of every initial member gets the same created "
            "event", repr(evs))
        for x, e in zip((ap, al, bp, bl, c), evs):
            await x.send({"op": "ack", "mid": (e or {}).get("mid")})

        r = await req(ap, {"op": "group_create", "title": "Auto"})
        name = (r or {}).get("group", "")
        t.ok(r is not None and r.get("op") == "group_info" and
            re.fullmatch(r"#[a-z2-7]{20}", name) and
            r.get("members") == [{"user": "alice", "role": "owner"}] and
            "ref" not in r, "group_create without group picks "
            "#[a-z2-7]{20}", repr(r))
        await ap.collect("group_event", quiet=0.3)
        await al.collect("group_event", quiet=0.3)
        r = await req(ap, {"op": "groups", "ref": 3})
        t.eq(r, {"op": "groups", "ref": 3, "groups": sorted([
            {"group": "#team", "title": "Team", "role": "owner",
                "version": 1},
            {"group": name, "title": "Auto", "role": "owner",
                "version": 1}], key=lambda g: g["group"])},
            "groups lists the caller's groups sorted by name")
        r = await req(bp, {"op": "group_info", "group": "#team"})
        t.ok(r is not None and r.get("op") == "group_info" and
            r.get("members") == members and r.get("version") == 1 and
            "refused" not in r, "group_info for a member", repr(r))

        s = await req(bp, {"op": "send", "to": "#team", "id": "g1",
            "body": {"text": "hi all"}, "ref": "s1"})
        t.ok(s is not None and s.get("op") == "sent" and
            s.get("to") == "#team" and s.get("expect") == 2 and
            s.get("skipped") == 0 and s.get("ref") == "s1" and
            s.get("id") == "g1" and mid_key(s.get("mid")),
            "sent carries expect (other members) and skipped", repr(s))
        got = [await x.recv_op("msg", 3) for x in (ap, al, bl, c)]
        want = {"op": "msg", "mid": (s or {}).get("mid"), "from": "bob",
            "from_device": "phone", "to": "#team", "id": "g1",
            "ts": (s or {}).get("ts"), "body": {"text": "hi all"}}
        extra = await bp.expect_nothing(0.3, op="msg")
        t.ok(got == [want] * 4 and extra == [],
            "the msg reaches every other member's devices and the "
            "sender's other device, with the sent mid", repr(got))
        dup = await req(bp, {"op": "send", "to": "#team", "id": "g1",
            "body": {"text": "hi all"}})
        t.ok(dup is not None and dup.get("dup") is True and
            dup.get("mid") == (s or {}).get("mid") and
            dup.get("expect") == 2 and dup.get("skipped") == 0,
            "a resent group send is a dup with the same promise",
            repr(dup))

        mid = (s or {}).get("mid")
        await ap.send({"op": "ack", "mid": mid})
        await al.send({"op": "ack", "mid": mid})
        await c.send({"op": "ack", "mid": mid})
        await bl.send({"op": "ack", "mid": mid})
        await c.send({"op": "read", "mid": mid})
        rb = await bp.collect("receipt", quiet=0.7, limit=5)
        t.eq(sorted((f.get("by"), f.get("status"), f.get("group"),
            f.get("for"), f.get("id")) for f in rb),
            [("alice", "delivered", "#team", mid, "g1"),
             ("carol", "delivered", "#team", mid, "g1"),
             ("carol", "read", "#team", mid, "g1")],
            "one delivered receipt per member (not per device), read "
            "receipts, each with group; none for the sender's own ack")
        for x in (bp, bl):
            fs = await x.collect("receipt", quiet=0.3)
            await x.send({"op": "ack", "mids": [f["mid"] for f in rb + fs]})

        ok = await req(c, {"op": "typing", "to": "#team",
            "state": "composing", "ref": "ty"})
        tp = [await x.recv_op("typing", 2) for x in (ap, al, bp, bl)]
        t.ok(ok == {"op": "ok", "ref": "ty"} and tp == [{"op": "typing",
            "from": "carol", "to": "#team", "state": "composing"}] * 4,
            "typing to #g reaches the other members' online devices "
            "with to", f"{ok!r}\n{tp!r}")
        ok = await req(c, {"op": "typing", "to": "#nope",
            "state": "paused", "ref": "ty2"})
        t.eq(ok, {"op": "ok", "ref": "ty2"},
            "typing to a group one is not in is dropped with ok")

        ok = await req(c, {"op": "settings", "group_add": "nobody",
            "ref": "st"})
        bad = await req(c, {"op": "settings", "group_add": "some",
            "ref": "st2"})
        r = await req(ap, {"op": "group_create", "group": "#two",
            "title": "Two", "members": ["carol", "bob"]})
        t.ok(ok == {"op": "ok", "ref": "st"} and
            (bad or {}).get("code") == "bad_request" and
            r is not None and r.get("refused") == ["carol"] and
            [m["user"] for m in r.get("members", [])] == ["alice", "bob"],
            "group_add nobody puts one in refused", f"{ok!r}\n{bad!r}\n"
            f"{r!r}")

        bad = await req(ap, {"op": "send", "to": "#Bad!", "id": "x",
            "body": 1, "ref": 9})
        t.ok(bad is not None and bad.get("code") == "bad_request" and
            bad.get("ref") == 9, "a send to a bad group name is "
            "bad_request", repr(bad))
        m = metrics(d)
        t.ok(m.get("tickd_groups") == 3 and
            m.get("tickd_group_fanout_items_total") == 4 and
            m.get("tickd_group_skipped_total") == 0,
            "tickd_groups and the fan-out counters", repr({k: v for k, v
            in m.items() if "group" in k}))


run(main, 16)
