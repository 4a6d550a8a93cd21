#!/usr/bin/python3
# max_groups_per_user across nodes (protocol rule 8; tickd-cluster(7)
# GROUPS): erin's home n3 reserves her a place for each add it vets, so
# that adds vetted at once cannot exceed the limit (2).  erin is in #e
# (n3); alice's two adds of erin to #a and #b (n1), sent at once, are
# vetted by n3 in a row: one is taken, the other refused.  Applied, the
# reservation goes: once erin leaves #e, the other add is taken.  One
# vetted add that its group's home then refuses (#d on n2 is full) gives
# her place back; one whose answer is lost (n2 stopped, hank on n1 adding)
# holds it only until the reservation lapses.

import asyncio
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1
RPC = 4 if VALGRIND else 1      # cluster_rpc_timeout, s
RETRY = 2                       # cluster_retry of cluster_test.Cluster
REPLIES = ("ok", "error", "group_info", "groups")


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout * W) or {}


async def groups(c):
    r = await req(c, {"op": "groups", "ref": "g"})
    return sorted(g["group"] for g in r.get("groups", []))


async def main(t):
    with Cluster(cluster_rpc_timeout=f"{RPC}s", max_groups_per_user=2,
            max_group_members=3) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        homes = {"alice": n1, "hank": n1, "dave": n2, "frank": n2, "gina": n2,
            "erin": n3}
        cs = {}
        for u, d in homes.items():
            register(d, u)
            cs[u] = await Client.connect(d, token_for(d, u), name=u)
        a, e = cs["alice"], cs["erin"]
        r1 = await req(e, {"op": "group_create", "group": "#e",
            "title": "E", "ref": 1})
        r2 = await req(a, {"op": "group_create", "group": "#a",
            "title": "A", "ref": 2})
        r3 = await req(a, {"op": "group_create", "group": "#b",
            "title": "B", "ref": 3})
        r4 = await req(cs["dave"], {"op": "group_create", "group": "#d",
            "title": "D", "members": ["hank", "frank"], "ref": 4})
        r = await req(cs["dave"], {"op": "group_role", "group": "#d",
            "user": "hank", "role": "admin", "ref": 40})
        t.ok([r.get("op") for r in (r1, r2, r3, r4)] == ["group_info"] * 4
            and r4.get("refused") == [] and r.get("op") == "ok",
            "erin is in #e (n3); #a and #b on n1, #d on n2 is full, hank "
            "(n1) its admin", [r1, r2, r3, r4, r])

        # Both adds go before either answer: n3 vets them in a row.
        await a.send({"op": "group_add", "group": "#a", "users": ["erin"],
            "ref": 5})
        await a.send({"op": "group_add", "group": "#b", "users": ["erin"],
            "ref": 6})
        got = {}
        for _ in range(2):
            r = await a.recv_op(REPLIES, 10 * W) or {}
            got[r.get("ref")] = r
        refused = sorted(r.get("ref") for r in got.values() if
            r.get("refused") == ["erin"])
        taken = sorted(r.get("ref") for r in got.values() if
            r.get("refused") == [])
        t.ok(len(refused) == 1 and len(taken) == 1, "two adds of erin "
            "vetted at once: one taken, the other refused", got)
        first = "#a" if taken == [5] else "#b"
        other = "#b" if first == "#a" else "#a"
        deadline = time.monotonic() + 10 * W
        while time.monotonic() < deadline:
            gs = await groups(e)
            if first in gs:
                break
            await asyncio.sleep(0.1)
        t.eq(gs, sorted(["#e", first]), "erin is in two groups, not three")

        r = await req(e, {"op": "group_leave", "group": "#e", "ref": 7})
        r = await req(a, {"op": "group_add", "group": other,
            "users": ["erin"], "ref": 8})
        t.ok(r.get("op") == "ok" and r.get("refused") == [], "erin left "
            "#e: the add applied holds no place any more, the other add "
            "is taken", r)

        async def leave_other(ref):
            # Once n3 applied her add, which the leave goes through.
            deadline = time.monotonic() + 10 * W
            while time.monotonic() < deadline:
                if other in await groups(e):
                    break
                await asyncio.sleep(0.1)
            await req(e, {"op": "group_leave", "group": other, "ref": ref})
            deadline = time.monotonic() + 10 * W
            while time.monotonic() < deadline:
                if await groups(e) == [first]:
                    return True
                await asyncio.sleep(0.1)
            return False

        t.ok(await leave_other(9), "erin leaves it again")
        r = await req(cs["dave"], {"op": "group_add", "group": "#d",
            "users": ["erin"], "ref": 10})
        t.ok(r.get("code") == "group_full", "dave's add of erin, vetted "
            "by n3, is refused by #d's home: group_full", r)
        r = await req(a, {"op": "group_add", "group": other,
            "users": ["erin"], "ref": 11})
        t.ok(r.get("op") == "ok" and r.get("refused") == [], "the place "
            "it had reserved was released: erin is added elsewhere", r)

        # n2 stopped: alice's add of erin to #d is vetted, then its
        # answer is lost; the place lapses.
        t.ok(await leave_other(12), "erin leaves it once more")
        n2.proc.send_signal(signal.SIGSTOP)
        try:
            r = await req(cs["hank"], {"op": "group_add", "group": "#d",
                "users": ["erin"], "ref": 13}, 3 * RPC + 10)
        finally:
            n2.proc.send_signal(signal.SIGCONT)
        t.ok(r.get("code") == "unavailable", "n2 stopped: hank's add of "
            "erin to #d, vetted by n3, answers unavailable", r)
        r = await req(a, {"op": "group_add", "group": other,
            "users": ["erin"], "ref": 14})
        t.ok(r.get("op") == "ok" and r.get("refused") == ["erin"],
            "meanwhile erin's place is held for #d", r)
        await asyncio.sleep(2 * RPC + RETRY + 1)
        r = await req(a, {"op": "group_add", "group": other,
            "users": ["erin"], "ref": 15})
        t.ok(r.get("op") == "ok" and r.get("refused") == [], "once that "
            "reservation lapsed, erin may be added again", r)
        deadline = time.monotonic() + 10 * W
        while time.monotonic() < deadline:
            gs = await groups(e)
            if gs == ["#a", "#b"]:
                break
            await asyncio.sleep(0.1)
        t.eq(gs, ["#a", "#b"], "erin is in #a and #b")
        for c in cs.values():
            await c.close()


run(main, 12, timeout=120)
