#!/usr/bin/python3
# The losing node's own users after tickctl cluster claim
# (tickd-cluster(7), Name conflicts): amy and zed register on n1, and amy
# makes #g, homed on n1, with zed.  After Redis restarts empty zed
# registers again on n2, and a claim gives n2 the name: n1 holds its
# account of zed, which is then no longer homed there.  amy's message to
# zed reaches zed on n2, and its delivered receipt comes back to her; her
# message to #g reaches zed on n2 too, not the held account's queue; and
# her group_add of zed to #h, homed on n1, is vetted by n2.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()

W = 4 if VALGRIND else 1
REPLIES = ("ok", "error", "group_info", "sent")


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout * W) or {}


async def main(t):
    with Cluster(n=2, login_rate=1000) as cl:
        n1, n2 = cl.node(1), cl.node(2)
        for u in ("amy", "zed"):
            register(n1, u)
        a = await Client.connect(n1, token_for(n1, "amy", "phone"),
            name="amy")
        r = await req(a, {"op": "group_create", "group": "#g",
            "title": "G", "members": ["zed"], "ref": 1})
        t.ok(r.get("op") == "group_info" and [m["user"] for m in
            r.get("members", [])] == ["amy", "zed"],
            "amy on n1 makes #g with zed, both homed on n1", r)

        await name_conflict(t, cl, ["zed"])
        t.ok(tickctl(n2, "cluster", "claim", "zed", json_out=False).ok,
            "tickctl cluster claim zed on n2")
        t.ok(wait_for(lambda: name_held(n1, "zed"), 15),
            "n1 holds its account of zed")

        z = await Client.connect(n2, token_for(n2, "zed", "pc"),
            name="zed-n2")
        s = await req(a, {"op": "send", "to": "zed", "id": "d1",
            "body": "direct"})
        m = await z.recv_op("msg", 15 * W) or {}
        t.ok(s.get("op") == "sent" and m.get("from") == "amy" and
            m.get("to") == "zed" and m.get("body") == "direct",
            "amy's message to zed, sent on n1, reaches zed on n2, not "
            "n1's held account", [s, m])
        if m.get("mid"):
            await z.send({"op": "ack", "mid": m["mid"]})
        d = await a.recv_op("receipt", 15 * W) or {}
        t.ok(d.get("status") == "delivered" and d.get("for") ==
            s.get("mid") and d.get("by", "zed") == "zed",
            "its delivered receipt comes back to amy on n1", d)

        s = await req(a, {"op": "send", "to": "#g", "id": "g1",
            "body": "to the group"})
        m = await z.recv_op("msg", 15 * W) or {}
        t.ok(s.get("op") == "sent" and m.get("from") == "amy" and
            m.get("to") == "#g" and m.get("body") == "to the group",
            "amy's message to #g, homed on n1, reaches zed on n2",
            [s, m])

        r = await req(z, {"op": "settings", "group_add": "nobody",
            "ref": 2})
        r = await req(a, {"op": "group_create", "group": "#h",
            "title": "H", "members": [], "ref": 3})
        r = await req(a, {"op": "group_add", "group": "#h",
            "users": ["zed"], "ref": 4})
        t.ok(r.get("op") == "ok" and r.get("refused") == ["zed"],
            "amy's group_add of zed to #h, homed on n1: vetted by n2, not "
            "by n1's held account: refused by his group_add setting", r)
        r = await req(z, {"op": "settings", "group_add": "everyone",
            "ref": 5})
        r = await req(a, {"op": "group_add", "group": "#h",
            "users": ["zed"], "ref": 6})
        f = await z.recv_op("group_event", 15 * W) or {}
        t.ok(r.get("op") == "ok" and r.get("refused") == [] and
            f.get("group") == "#h" and f.get("event") == "added",
            "with group_add everyone he is added, and the event reaches "
            "him on n2", [r, f])
        for x in (a, z):
            await x.close()


run(main, 12, timeout=120)
