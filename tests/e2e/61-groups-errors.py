#!/usr/bin/python3
# Groups, tickd-protocol(7) GROUPS, Bad input and the order of checks: every
# row of the bad-input table with its error code and ref, then the order of the
# checks when a request has several faults (the first row that fails answers,
# and nothing changes).
# Limits: max_group_members 3, max_groups_per_user 2,
# max_group_description 10.
#
# Where the contract is silent this script assumes (tickd-protocol(7)):
# - a "members" list naming the same user twice adds it once;
# - group_role of a non-member by an admin asking for "admin" is judged
#   as for a member (allowed), then answered no_such_user.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

REPLIES = ("ok", "error", "group_info", "groups", "sent")


async def req(c, obj, timeout=5):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout)


async def errs(d, token, cases):
    """Send each request with a ref; list the ones whose answer is not
    error `code` with that ref (and `user`, when given).  A new
    connection every 8 requests keeps clear of the close after more
    than 10 protocol errors."""
    probs = []
    c = None
    for i, (obj, code, *user) in enumerate(cases):
        if i % 8 == 0:
            if c is not None:
                await c.close()
            c = await Client.connect(d, token, name=f"errs{i}")
        obj = dict(obj, ref=f"r{i}")
        r = await req(c, obj) or {}
        if r.get("op") != "error" or r.get("code") != code or \
                r.get("ref") != f"r{i}" or \
                (user and r.get("user") != user[0]):
            probs.append(f"{obj!r}: {r!r}")
    await c.close()
    return probs


async def main(t):
    with Daemon(max_group_members=3, max_groups_per_user=2,
            max_group_description=10) as d:
        (ta, tal, tb, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)
        token_for(d, "dave", new=True)
        token_for(d, "erin", new=True)
        tdv = token_for(d, "dave")
        dv = await Client.connect(d, tdv, name="dave")

        r = await req(ap, {"op": "group_create", "group": "#g",
            "title": "G", "members": ["bob"]})
        t.ok((r or {}).get("op") == "group_info", "#g made", repr(r))
        for x in (ap, al, bp, bl):
            await x.recv_op("group_event", 3)

        bad = [
            ({"op": "group_info", "group": "g"}, "bad_request"),
            ({"op": "group_info", "group": "#"}, "bad_request"),
            ({"op": "group_info", "group": "#G"}, "bad_request"),
            ({"op": "group_info", "group": "#" + "a" * 65}, "bad_request"),
            ({"op": "group_info", "group": 5}, "bad_request"),
            ({"op": "group_info"}, "bad_request"),
            ({"op": "group_create", "title": ""}, "bad_request"),
            ({"op": "group_create", "title": "x" * 129}, "bad_request"),
            ({"op": "group_create"}, "bad_request"),
            ({"op": "group_create", "title": 7}, "bad_request"),
            ({"op": "group_create", "title": "t", "members": "bob"},
                "bad_request"),
            ({"op": "group_create", "title": "t", "members": ["Bob"]},
                "bad_request"),
            ({"op": "group_create", "title": "t", "members": ["alice"]},
                "bad_request"),
            ({"op": "group_create", "title": "t", "admin_only_send": 1},
                "bad_request"),
            ({"op": "group_create", "title": "t", "description": 3},
                "bad_request"),
            ({"op": "group_add", "group": "#g", "users": []},
                "bad_request"),
            ({"op": "group_add", "group": "#g", "users": "carol"},
                "bad_request"),
            ({"op": "group_add", "group": "#g", "users": ["a b"]},
                "bad_request"),
            ({"op": "group_add", "group": "#g", "users": ["alice"]},
                "bad_request"),
            ({"op": "group_remove", "group": "#g", "users": ["alice"]},
                "bad_request"),
            ({"op": "group_remove", "group": "#g"}, "bad_request"),
            ({"op": "group_role", "group": "#g", "user": "bob",
                "role": "king"}, "bad_request"),
            ({"op": "group_role", "group": "#g", "user": "bob"},
                "bad_request"),
            ({"op": "group_role", "group": "#g", "user": "alice",
                "role": "admin"}, "bad_request"),
            ({"op": "group_set", "group": "#g"}, "bad_request"),
            ({"op": "group_set", "group": "#g", "title": ""},
                "bad_request"),
            ({"op": "group_leave", "group": "nope"}, "bad_request"),
            ({"op": "group_create", "title": "t",
                "description": "x" * 11}, "too_large"),
            ({"op": "group_set", "group": "#g",
                "description": "x" * 11}, "too_large"),
            ({"op": "group_add", "group": "#g",
                "users": ["carol", "dave", "erin", "bob"]}, "bad_request"),
            ({"op": "group_create", "title": "t",
                "members": ["carol", "dave", "erin", "bob"]},
                "bad_request"),
            ({"op": "group_create", "group": "#g", "title": "t"},
                "name_taken"),
            ({"op": "group_info", "group": "#nothere"}, "no_such_group"),
            ({"op": "group_add", "group": "#nothere", "users": ["bob"]},
                "no_such_group"),
            ({"op": "group_leave", "group": "#nothere"}, "no_such_group"),
            ({"op": "send", "to": "#nothere", "id": "x", "body": 1},
                "no_such_group"),
            ({"op": "group_add", "group": "#g", "users": ["ghost"]},
                "no_such_user", "ghost"),
            ({"op": "group_remove", "group": "#g", "users": ["ghost"]},
                "no_such_user", "ghost"),
            ({"op": "group_role", "group": "#g", "user": "carol",
                "role": "admin"}, "no_such_user", "carol"),
            ({"op": "group_role", "group": "#g", "user": "ghost",
                "role": "admin"}, "no_such_user", "ghost"),
            ({"op": "group_create", "title": "t", "members": ["ghost"]},
                "no_such_user", "ghost"),
            ({"op": "group_add", "group": "#g",
                "users": ["carol", "dave"]}, "group_full"),
            ({"op": "group_create", "title": "t",
                "members": ["bob", "carol", "dave"]}, "group_full"),
        ]
        probs = await errs(d, token_for(d, "alice", "errs"), bad)
        t.ok(not probs, "every bad-input row answers its code with ref "
            "(and user for no_such_user)", probs)

        probs = await errs(d, token_for(d, "carol", "errs"), [
            ({"op": "group_info", "group": "#g"}, "no_such_group"),
            ({"op": "group_leave", "group": "#g"}, "no_such_group"),
            ({"op": "group_set", "group": "#g", "title": "x"},
                "no_such_group"),
            ({"op": "group_role", "group": "#g", "user": "bob",
                "role": "admin"}, "no_such_group"),
            ({"op": "send", "to": "#g", "id": "c1", "body": 1},
                "no_such_group"),
        ])
        t.ok(not probs, "a non-member gets no_such_group for an existing "
            "group, as for none", probs)

        probs = await errs(d, token_for(d, "bob", "errs"), [
            ({"op": "group_add", "group": "#g", "users": ["carol"]},
                "forbidden"),
            ({"op": "group_set", "group": "#g", "admin_only_send": True},
                "forbidden"),
        ])
        t.ok(not probs, "forbidden for a member", probs)

        r = await req(dv, {"op": "group_create", "group": "#d1",
            "title": "1"})
        r2 = await req(dv, {"op": "group_create", "group": "#d2",
            "title": "2"})
        probs = await errs(d, token_for(d, "dave", "errs"), [({"op": "group_create", "group": "#d3",
            "title": "3"}, "too_many_groups")])
        t.ok((r or {}).get("op") == "group_info" and
            (r2 or {}).get("op") == "group_info" and not probs,
            "too_many_groups for a creator in max_groups_per_user groups",
            [r, r2] + probs)

        # Several faults: the first row of the table answers.
        order = [
            ({"op": "group_set", "group": "#g", "title": "",
                "description": "x" * 11}, "bad_request"),
            ({"op": "group_create", "group": "#g", "title": "t",
                "description": "x" * 11,
                "members": ["a", "b", "c", "d"]}, "too_large"),
            ({"op": "group_create", "group": "#g", "title": "t",
                "members": ["a", "b", "c", "d"]}, "bad_request"),
            ({"op": "group_create", "group": "#g", "title": "t",
                "members": ["ghost"]}, "name_taken"),
            ({"op": "group_set", "group": "#nothere",
                "description": "x" * 11}, "too_large"),
            ({"op": "group_add", "group": "#nothere", "users": ["ghost"]},
                "no_such_group"),
            ({"op": "group_create", "title": "t",
                "members": ["ghost", "bob", "carol"]}, "no_such_user"),
        ]
        probs = await errs(d, token_for(d, "alice", "errs"), order)
        probs += await errs(d, token_for(d, "bob", "errs"), [({"op": "group_add", "group": "#g",
            "users": ["ghost"]}, "forbidden")])
        probs += await errs(d, token_for(d, "dave", "errs"), [({"op": "group_create", "title": "t",
            "members": ["bob", "carol", "erin"]}, "group_full")])
        t.ok(not probs, "checks run in the order of the table", probs)

        r = await req(ap, {"op": "group_info", "group": "#g"})
        t.ok(r is not None and r.get("version") == 1 and
            [m["user"] for m in r.get("members", [])] == ["alice", "bob"]
            and r.get("title") == "G",
            "no refused request changed the group", repr(r))
        evs = [await x.expect_nothing(0.3, op="group_event")
            for x in (ap, al, bp, bl, c)]
        t.eq(evs, [[]] * 5, "and none queued an event")
        t.ok(all(x.close_code is None for x in (ap, al, bp, bl, c, dv)),
            "the members' own connections stayed open")


run(main, 9)
