#!/usr/bin/python3
# Groups through the RESP shim (tickd-resp(7)), with python3-redis as the
# client: XADD inbox:#g * from alice body ... is alice's send to the
# group, with the same rules as the WebSocket send: every other member's
# devices and alice's get the msg with the reply's mid, receipts carry the
# group; a non-member gets "no such group", a member of an admin-only
# group "forbidden"; a repeated id answers the first mid.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

import redis  # noqa: E402


async def req(c, obj):
    await c.send(obj)
    return await c.recv_op(("ok", "error", "group_info", "sent"), 5)


async def main(t):
    with RespDaemon() as d:
        (ta, tal, tb, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)
        r = redis.Redis(host="127.0.0.1", port=d.resp_port,
            socket_timeout=10)
        await req(ap, {"op": "group_create", "group": "#r", "title": "R",
            "members": ["bob"]})
        for x in (ap, al, bp, bl):
            await x.recv_op("group_event", 3)

        mid = r.xadd("inbox:#r", {"from": "alice", "body": "via resp",
            "id": "r-1"}).decode()
        got = [await x.recv_op("msg", 3) for x in (ap, al, bp, bl)]
        t.ok(mid_key(mid) and all(g is not None and g.get("mid") == mid and
            g.get("from") == "alice" and g.get("from_device") == "resp" and
            g.get("to") == "#r" and g.get("body") == "via resp" for g in
            got), "XADD inbox:#g is a group send: every member device "
            "(alice's too) gets the msg with the mid", f"{mid}\n{got!r}")
        again = r.xadd("inbox:#r", {"from": "alice", "body": "via resp",
            "id": "r-1"}).decode()
        t.eq(again, mid, "a repeated id answers the first mid")
        await bp.send({"op": "ack", "mid": mid})
        rc = await ap.recv_op("receipt", 3) or {}
        t.ok(rc.get("by") == "bob" and rc.get("group") == "#r" and
            rc.get("for") == mid, "bob's ack gives alice a receipt with "
            "group", repr(rc))

        try:
            r.xadd("inbox:#r", {"from": "carol", "body": "x"})
            e1 = None
        except redis.ResponseError as e:
            e1 = str(e)
        try:
            r.xadd("inbox:#none", {"from": "alice", "body": "x"})
            e2 = None
        except redis.ResponseError as e:
            e2 = str(e)
        t.ok(e1 == "no such group" and e2 == "no such group",
            "a non-member, or an unknown group: no such group", [e1, e2])
        await req(ap, {"op": "group_set", "group": "#r",
            "admin_only_send": True})
        try:
            r.xadd("inbox:#r", {"from": "bob", "body": "x"})
            e3 = None
        except redis.ResponseError as e:
            e3 = str(e)
        t.ok(e3 is not None and e3.startswith("forbidden"),
            "a member of an admin-only group: forbidden", e3)
        r.close()


run(main, 5)
