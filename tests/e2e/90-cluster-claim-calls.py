#!/usr/bin/python3
# Remote calls and group events after tickctl cluster claim
# (tickd-cluster(7) NAME CONFLICTS, REMOTE CALLS, GROUPS): alice, dave and
# erin register on n1, alice publishes keys there, and carol on n3 learns
# their homes (a message to alice and erin; #g, homed on n3, made with
# dave).  After Redis restarts empty they register again on n2, and a
# claim gives n2 the names: n1 holds its accounts.  n3 still has n1
# cached, and n1 answers for none of them: carol's keys_fetch of alice
# gets n2's keys, not the held account's; her group_add of erin is
# vetted by n2, whose group_add setting refuses it, then accepts it, and
# the added event reaches erin on n2; her messages to #g reach dave on n2.

import base64
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
REPLIES = ("ok", "error", "keys", "group_info", "sent")
NAMES = ("alice", "dave", "erin")


def b64(data):
    return base64.b64encode(data).decode()


def upload(identity):
    return {"op": "keys_upload", "ref": "u", "identity": b64(identity),
        "signed_prekey": {"id": 1, "key": b64(b"spk"), "sig": b64(b"sig")},
        "prekeys": [{"id": 1, "key": b64(identity + b"1")}]}


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout * W) or {}


async def main(t):
    with Cluster(login_rate=1000) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        for u in NAMES:
            register(n1, u)
        register(n3, "carol")
        c = await Client.connect(n3, token_for(n3, "carol"), name="carol")
        a1 = await Client.connect(n1, token_for(n1, "alice", "old"),
            name="alice-n1")
        r = await req(a1, upload(b"stale"))
        rs = []
        for u in ("alice", "erin"):
            rs.append(await req(c, {"op": "send", "to": u, "id": u,
                "body": "hi"}))
        rs.append(await req(c, {"op": "group_create", "group": "#g",
            "title": "G", "members": ["dave"], "ref": 1}))
        t.ok(r.get("op") == "ok" and [x.get("op") for x in rs] == ["sent",
            "sent", "group_info"] and [m["user"] for m in
            rs[2].get("members", [])] == ["carol", "dave"],
            "alice publishes keys on n1; carol on n3 writes to alice and "
            "erin and makes #g with dave: n3 caches their home n1",
            [r, rs])
        await a1.close()

        await name_conflict(t, cl, NAMES)
        t.ok(all(tickctl(n2, "cluster", "claim", u, json_out=False).ok
            for u in NAMES), "tickctl cluster claim of the three on n2")
        t.ok(wait_for(lambda: all(name_held(n1, u) for u in NAMES), 15),
            "n1 holds its accounts")

        a2 = await Client.connect(n2, token_for(n2, "alice", "new"),
            name="alice-n2")
        r = await req(a2, upload(b"fresh"))
        r = await req(c, {"op": "keys_fetch", "user": "alice", "ref": 2})
        t.ok(r.get("op") == "keys" and [(d.get("device"),
            d.get("identity")) for d in r.get("devices", [])] ==
            [("new", b64(b"fresh"))], "carol's keys_fetch of alice, sent "
            "to n1 from n3's stale cache, gets n2's keys, not the held "
            "account's", r)

        d2 = await Client.connect(n2, token_for(n2, "dave", "pc"),
            name="dave-n2")
        s = await req(c, {"op": "send", "to": "#g", "id": "g1",
            "body": "to the group"})
        m = await d2.recv_op("msg", 15 * W) or {}
        t.ok(s.get("op") == "sent" and m.get("from") == "carol" and
            m.get("to") == "#g" and m.get("body") == "to the group",
            "carol's message to #g, whose event n3 sends to n1, reaches "
            "dave on n2", [s, m])

        e2 = await Client.connect(n2, token_for(n2, "erin", "pc"),
            name="erin-n2")
        r = await req(e2, {"op": "settings", "group_add": "nobody",
            "ref": 3})
        r = await req(c, {"op": "group_add", "group": "#g",
            "users": ["erin"], "ref": 4})
        t.ok(r.get("op") == "ok" and r.get("refused") == ["erin"],
            "carol's group_add of erin: vetted by n2, not by n1's held "
            "account: refused by her group_add setting", r)
        r = await req(e2, {"op": "settings", "group_add": "everyone",
            "ref": 5})
        r = await req(c, {"op": "group_add", "group": "#g",
            "users": ["erin"], "ref": 6})
        f = await e2.recv_op("group_event", 15 * W) or {}
        t.ok(r.get("op") == "ok" and r.get("refused") == [] and
            f.get("group") == "#g" and f.get("event") == "added",
            "with group_add everyone she is added, and the event reaches "
            "her on n2", [r, f])
        for x in (c, a2, d2, e2):
            await x.close()


run(main, 11, timeout=120)
