#!/usr/bin/python3
# Protocol rule 8 across the nodes of a cluster (tickd-cluster(7) GROUPS):
# a user homed elsewhere than the group's home is vetted by its own home
# before the group's home adds it.  #g is homed on n1.  bob (n2) set
# group_add nobody, carol (n3) blocked alice and dave, erin (n3) is in
# max_groups_per_user groups (one of them homed on n2): alice's
# group_create on n1 refuses the three and takes frank (n2); dave on n2,
# made admin, adds bob (vetted on n2), carol and grace (vetted on n3) with
# a remote call to n1.  With n3 stopped, an add of henry (n3) answers
# unavailable after cluster_rpc_timeout and adds nobody, even once n3
# serves the late call.  grace, deleted with tickctl on n3 while n1 is
# stopped, leaves #g once n1 is back (rule 12).  Typing to #g from n1 and
# n2 reaches the members on every node, through n1; grace's block on n3.

import asyncio
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()

W = 4 if VALGRIND else 1
RPC = 4 if VALGRIND else 1      # cluster_rpc_timeout, s
REPLIES = ("ok", "error", "group_info", "groups")


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout * W) or {}


def members(r):
    return [m["user"] for m in r.get("members", [])]


async def main(t):
    with Cluster(cluster_rpc_timeout=f"{RPC}s", max_groups_per_user=2) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        homes = {"alice": n1, "bob": n2, "dave": n2, "frank": n2,
            "carol": n3, "erin": n3, "grace": n3, "henry": n3}
        cs = {}
        for u, d in homes.items():
            register(d, u)
            cs[u] = await Client.connect(d, token_for(d, u), name=u)
        # n3 learns alice's and dave's homes, so that carol may block them.
        for u in ("alice", "dave"):
            await cs["carol"].send({"op": "send", "to": u, "id": u,
                "body": "hi"})
            await cs["carol"].recv_op(("sent", "error"), 10 * W)
        r1 = await req(cs["bob"], {"op": "settings", "group_add": "nobody",
            "ref": 1})
        r2 = await req(cs["carol"], {"op": "block", "user": "alice",
            "ref": 2})
        r3 = await req(cs["carol"], {"op": "block", "user": "dave",
            "ref": 3})
        r4 = await req(cs["erin"], {"op": "group_create", "group": "#e1",
            "title": "E1", "ref": 4})
        r5 = await req(cs["frank"], {"op": "group_create", "group": "#e2",
            "title": "E2", "members": ["erin"], "ref": 5})
        t.ok([r.get("op") for r in (r1, r2, r3, r4, r5)] == ["ok", "ok",
            "ok", "group_info", "group_info"] and members(r5) == ["erin",
            "frank"], "bob sets group_add nobody, carol blocks alice and "
            "dave, erin is in #e1 (n3) and #e2 (n2)", [r1, r2, r3, r4, r5])

        r = await req(cs["alice"], {"op": "group_create", "group": "#g",
            "title": "G", "members": ["bob", "carol", "erin", "frank"],
            "ref": 6})
        t.ok(r.get("op") == "group_info" and members(r) == ["alice",
            "frank"] and sorted(r.get("refused", [])) == ["bob", "carol",
            "erin"], "alice's group_create on n1: bob, carol and erin "
            "refused by their homes, frank taken", r)

        r = await req(cs["alice"], {"op": "group_role", "group": "#g",
            "user": "frank", "role": "admin", "ref": 7})
        r = await req(cs["frank"], {"op": "group_add", "group": "#g",
            "users": ["bob", "carol", "grace", "dave"], "ref": 8})
        t.ok(r.get("op") == "ok" and sorted(r.get("refused", [])) ==
            ["bob"], "frank on n2 adds through n1: bob refused (vetted "
            "on n2), grace (n3) and dave (n2) added, carol (blocked alice, "
            "not frank) added", r)
        r = await req(cs["alice"], {"op": "group_role", "group": "#g",
            "user": "dave", "role": "admin", "ref": 9})
        r = await req(cs["dave"], {"op": "group_remove", "group": "#g",
            "users": ["carol"], "ref": 10})
        r = await req(cs["dave"], {"op": "group_add", "group": "#g",
            "users": ["carol", "erin"], "ref": 11})
        t.ok(r.get("op") == "ok" and sorted(r.get("refused", [])) ==
            ["carol", "erin"], "dave on n2 adds carol, who blocked him, "
            "and erin, at max_groups_per_user: both refused by n3", r)
        info = await req(cs["alice"], {"op": "group_info", "group": "#g",
            "ref": 12})
        t.eq(members(info), ["alice", "dave", "frank", "grace"],
            "the members of #g on n1")
        ok = wait_for(lambda: cl.redis.cmd("HGET", "tickd:g:{#g}", "grace")
            == "member", 10)
        t.ok(ok and all(cl.redis.cmd("HGET", "tickd:g:{#g}", u) == ""
            for u in ("bob", "carol", "erin")), "nor does the mirror hold "
            "the refused users")

        # n3 stopped: its verdict on henry does not come.
        n3.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = await req(cs["alice"], {"op": "group_add", "group": "#g",
                "users": ["henry"], "ref": 13}, 3 * RPC + 10)
            dt = time.monotonic() - t0
            t.ok(r.get("code") == "unavailable" and r.get("ref") == 13 and
                RPC * 0.9 <= dt <= RPC + 5 * W, "n3 stopped: adding henry "
                "(n3) answers unavailable after cluster_rpc_timeout",
                [r, dt])
        finally:
            n3.proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(2 * W)
        info = await req(cs["alice"], {"op": "group_info", "group": "#g",
            "ref": 14})
        t.ok(info.get("op") == "group_info" and "henry" not in
            members(info), "henry is no member, even once n3 served the "
            "late call", info)

        # Typing to #g goes to n1, which relays it once to n2 and n3; the
        # block of grace (n3) is applied on n3.
        r = await req(cs["grace"], {"op": "block", "user": "dave",
            "ref": 20})
        for c in cs.values():
            await c.collect("typing", 0.3 * W)
        got = {}
        for who in ("frank", "dave", "alice"):
            await cs[who].send({"op": "typing", "to": "#g",
                "state": "composing"})
            for u in ("alice", "dave", "frank", "grace"):
                for f in await cs[u].collect("typing", 1.0 * W):
                    got.setdefault(who, []).append((u, f.get("from"),
                        f.get("to")))
        want = {w: sorted((u, w, "#g") for u in
            ("alice", "dave", "frank", "grace") if u != w and
            (w, u) != ("dave", "grace")) for w in ("frank", "dave",
            "alice")}
        t.ok(r.get("op") == "ok" and {w: sorted(v) for w, v in
            got.items()} == want, "typing to #g from n2 and n1 reaches "
            "each other member on n1, n2 and n3 once; not grace, who "
            "blocked dave", got)

        # grace (n3), deleted with tickctl while n1, #g's home, is
        # stopped, leaves #g once n1 is back (protocol rule 12).
        await cs["alice"].collect("group_event", 0.5 * W)
        n1.proc.send_signal(signal.SIGSTOP)
        try:
            r = tickctl(n3, "user", "del", "grace")
            time.sleep(4 * W)
        finally:
            n1.proc.send_signal(signal.SIGCONT)
        t.ok(r.ok and r.get("groups_left") == 1, "grace deleted on n3 "
            "while n1 is stopped: one group left", r)
        ev = []
        for _ in range(10):
            ev += await cs["alice"].collect("group_event", 1.0 * W)
            if any(e.get("event") == "left" for e in ev):
                break
        info = await req(cs["alice"], {"op": "group_info", "group": "#g",
            "ref": 15})
        t.ok([(e.get("event"), e.get("users"), e.get("by")) for e in ev] ==
            [("left", ["grace"], "grace")] and members(info) == ["alice",
            "dave", "frank"], "n1 back: grace left #g, as by group_leave",
            [ev, info])
        ok = wait_for(lambda: cl.redis.cmd("HGET", "tickd:g:{#g}", "grace")
            == "" and cluster_metric(n3, "tickd_cluster_outbox") == 0, 10)
        t.ok(ok, "the mirror no longer holds her; n3's outbox drained")
        for c in cs.values():
            await c.close()


run(main, 12, timeout=60)
