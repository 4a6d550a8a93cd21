#!/usr/bin/python3
# Groups and tickctl(8): group list, group show (members, roles, version),
# group del (as if every member left, the owner last, every member device
# getting the events), user del leaving all groups as by group_leave
# (tickd-protocol(7) GROUPS, rule 12, the successor taking over), and
# verify clean next to the running daemon after all of it.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403


async def req(c, obj):
    await c.send(obj)
    return await c.recv_op(("ok", "error", "group_info", "sent"), 5)


async def main(t):
    need_tickctl()
    with Daemon() as d:
        (ta, tal, tb, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)
        r1 = await req(ap, {"op": "group_create", "group": "#a",
            "title": "A", "members": ["bob", "carol"]})
        r2 = await req(bp, {"op": "group_create", "group": "#b",
            "title": "B", "members": ["alice", "carol"]})
        await req(bp, {"op": "group_role", "group": "#b", "user": "carol",
            "role": "admin"})
        for x in (ap, al, bp, bl, c):
            await x.collect("group_event", quiet=0.4)

        r = tickctl(d, "group", "list")
        t.ok(r.ok and [(g["group"], g["owner"], g["members"],
            g["version"]) for g in r.get("groups", [])] == [("#a", "alice", 3, 1),
            ("#b", "bob", 3, 2)], "group list", r)
        r = tickctl(d, "group", "show", "#b")
        t.ok(r.ok and r.get("owner") == "bob" and r.get("version") == 2
            and [(m["user"], m["role"]) for m in r.get("members", [])] ==
            [("alice", "member"), ("bob", "owner"), ("carol", "admin")],
            "group show: members, roles, version", r)
        r = tickctl(d, "group", "show", "#zz")
        r2 = tickctl(d, "group", "show", "nogroup")
        t.ok(r.one_error_line("no such group") and
            r2.one_error_line("bad group name"),
            "group show of an unknown group or a bad name fails", [r, r2])

        r = tickctl(d, "user", "del", "bob")
        evs = await c.collect("group_event", quiet=0.6)
        t.ok(r.ok and r.get("groups_left") == 2 and
            [(e["group"], e["event"], e.get("users"), e.get("user"),
              e.get("role"), e["by"]) for e in evs] ==
            [("#a", "left", ["bob"], None, None, "bob"),
             ("#b", "left", ["bob"], None, None, "bob"),
             ("#b", "role", None, "carol", "owner", "bob")],
            "user del leaves every group as by group_leave; the first "
            "admin succeeds the owner", f"{r!r}\n{evs!r}")
        for x in (ap, al):
            await x.collect("group_event", quiet=0.3)
        r = tickctl(d, "group", "show", "#b")
        t.ok(r.ok and r.get("owner") == "carol" and
            [m["user"] for m in r.get("members", [])] == ["alice",
            "carol"], "bob is gone from #b, carol owns it", r)

        r = tickctl(d, "group", "del", "#a")
        ea = [await x.collect("group_event", quiet=0.5) for x in
            (ap, al, c)]
        t.ok(r.ok and r.get("members") == 2 and
            [[(e["event"], e["users"], e["by"]) for e in l] for l in ea] ==
            [[("left", ["carol"], "carol"), ("left", ["alice"], "alice")]]
            * 2 + [[("left", ["carol"], "carol")]],
            "group del: every member leaves, the owner last; every member "
            "device gets the events", f"{r!r}\n{ea!r}")
        r = await req(c, {"op": "group_create", "group": "#a",
            "title": "again"})
        r2 = tickctl(d, "group", "list")
        t.ok((r or {}).get("code") == "name_taken" and r2.ok and
            [g["group"] for g in r2.get("groups", [])] == ["#b"],
            "the deleted group's name stays taken", [r, r2])

        r = tickctl(d, "verify")
        t.ok(r.ok and r.get("consistent") is True and
            r.get("chat_groups") == 1 and r.get("group_members") == 2,
            "verify checks the group records and finds them consistent", r)


run(main, 8)
