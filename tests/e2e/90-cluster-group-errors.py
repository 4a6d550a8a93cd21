#!/usr/bin/python3
# The order of a group op's checks in a cluster (tickd-protocol(7) GROUPS,
# tickd-cluster(7) GROUPS): what a node can decide alone (name_taken,
# no_such_group, forbidden) comes before what needs another node's answer
# (a lookup in the directory, the vetting by a user's home), as on one
# node.  #h is homed on n1 (alice owner, bob member, carol (n3) member);
# #r on n2 (dave owner, erin (n1) member, hank (n1) admin).  With n3
# stopped: bob's add of frank (n3) is forbidden, grace's (not a member)
# no_such_group, alice's of carol (a member already) ok, of frank
# unavailable; erin's add of frank to #r is forbidden by n2, hank's
# unavailable.  With n1 cut from Redis: adds and removes naming a user n1
# never looked up answer no_such_group, forbidden and name_taken.

import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1
RPC = 4 if VALGRIND else 1      # cluster_rpc_timeout, s
REPLIES = ("ok", "error", "group_info")


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout * W) or {}


def code(r):
    return r.get("code") or r.get("op")


async def main(t):
    with Cluster(cluster_rpc_timeout=f"{RPC}s") as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        homes = {"alice": n1, "bob": n1, "grace": n1, "erin": n1,
            "hank": n1, "dave": n2, "carol": n3, "frank": n3, "zed": n3}
        cs = {}
        for u, d in homes.items():
            register(d, u)
        for u in ("alice", "bob", "grace", "erin", "hank", "dave"):
            cs[u] = await Client.connect(homes[u], token_for(homes[u], u),
                name=u)
        r1 = await req(cs["alice"], {"op": "group_create", "group": "#h",
            "title": "H", "members": ["bob", "carol"], "ref": 1})
        r2 = await req(cs["dave"], {"op": "group_create", "group": "#r",
            "title": "R", "members": ["erin", "hank"], "ref": 2})
        r3 = await req(cs["dave"], {"op": "group_role", "group": "#r",
            "user": "hank", "role": "admin", "ref": 3})
        t.ok(r1.get("refused") == [] and r2.get("refused") == [] and
            r3.get("op") == "ok", "#h on n1 with bob and carol (n3), #r "
            "on n2 with erin and hank (n1), hank admin", [r1, r2, r3])
        await cs["erin"].collect("group_event", 1.0 * W)

        n3.proc.send_signal(signal.SIGSTOP)
        try:
            r = await req(cs["bob"], {"op": "group_add", "group": "#h",
                "users": ["frank"], "ref": 3})
            t.ok(code(r) == "forbidden" and r.get("ref") == 3, "n3 "
                "stopped: bob, a plain member, adds frank (n3): forbidden",
                r)
            r = await req(cs["grace"], {"op": "group_add", "group": "#h",
                "users": ["frank"], "ref": 4})
            t.ok(code(r) == "no_such_group", "grace, not a member: "
                "no_such_group", r)
            r = await req(cs["alice"], {"op": "group_add", "group": "#h",
                "users": ["carol"], "ref": 5})
            t.ok(r.get("op") == "ok" and r.get("refused") == [],
                "alice adds carol, a member already: ok, no verdict "
                "needed", r)
            r = await req(cs["alice"], {"op": "group_add", "group": "#h",
                "users": ["frank"], "ref": 6}, 3 * RPC + 10)
            t.ok(code(r) == "unavailable", "alice adds frank: his home "
                "does not answer, unavailable", r)
            r = await req(cs["erin"], {"op": "group_add", "group": "#r",
                "users": ["frank"], "ref": 14}, 3 * RPC + 10)
            t.ok(code(r) == "forbidden", "erin, a plain member of #r "
                "(n2), adds frank: forbidden by n2", r)
            r = await req(cs["hank"], {"op": "group_add", "group": "#r",
                "users": ["erin", "frank"], "ref": 15}, 3 * RPC + 10)
            t.ok(code(r) == "unavailable" and r.get("ref") == 15, "hank, "
                "an admin, adds erin and frank: unavailable from n2", r)
        finally:
            n3.proc.send_signal(signal.SIGCONT)

        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0, 15), "n1 cut from Redis")
        r = await req(cs["alice"], {"op": "group_add", "group": "#nope",
            "users": ["zed"], "ref": 7})
        t.ok(code(r) == "no_such_group", "add of zed, never looked up, "
            "to a group that does not exist: no_such_group", r)
        r = await req(cs["bob"], {"op": "group_remove", "group": "#h",
            "users": ["zed"], "ref": 8})
        t.ok(code(r) == "forbidden", "bob's remove of zed from #h: "
            "forbidden", r)
        r = await req(cs["alice"], {"op": "group_create", "group": "#h",
            "title": "again", "members": ["zed"], "ref": 9})
        t.ok(code(r) == "name_taken", "create of #h again with zed: "
            "name_taken", r)
        r = await req(cs["alice"], {"op": "group_add", "group": "#h",
            "users": ["zed"], "ref": 11})
        t.ok(code(r) == "unavailable", "alice's add of zed: the "
            "directory is unreachable, unavailable", r)
        cl.proxies[0].restore()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 1, 15), "n1 back on Redis")
        r = await req(cs["alice"], {"op": "group_add", "group": "#h",
            "users": ["zed", "frank"], "ref": 12})
        t.ok(r.get("op") == "ok" and r.get("refused") == [],
            "then alice adds zed and frank", r)
        info = await req(cs["alice"], {"op": "group_info", "group": "#h",
            "ref": 13})
        t.eq([m["user"] for m in info.get("members", [])], ["alice", "bob",
            "carol", "frank", "zed"], "the members of #h")
        for c in cs.values():
            await c.close()


run(main, 15, timeout=90)
