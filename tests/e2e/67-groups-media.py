#!/usr/bin/python3
# Media in group messages, tickd-protocol(7) GROUPS and MEDIA rule 3: a
# send to a group carries its media IDs to every member, an ID that is
# not live is refused with no_such_media and nothing stored, and a member
# downloads what the message names.

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
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")
        b = await Client.connect(d, tb, name="bob")
        r = await req(a, {"op": "group_create", "group": "#pics",
            "title": "Pics", "members": ["bob"]})
        t.eq((r or {}).get("op"), "group_info", "group created")
        for x in (a, b):
            e = await x.recv_op("group_event", 3)
            await x.send({"op": "ack", "mid": (e or {}).get("mid")})

        data = os.urandom(3000)
        u = http_request(d, "POST", "/v1/media", body=data, token=ta,
            headers={"Content-Type": "image/png"})
        mid = (u.json or {}).get("media")
        t.ok(u.status == 201 and mid, "upload answered 201", u.status)

        r = await req(a, {"op": "send", "to": "#pics", "id": "g-bad",
            "body": "x", "media": ["AAAAAAAAAAAAAAAAAAAAAA"]})
        t.ok(r and r.get("op") == "error" and
            r.get("code") == "no_such_media",
            "a group send naming an ID that is not live: no_such_media", r)
        t.eq(await b.expect_nothing(0.3, op="msg"), [],
            "no_such_media stored nothing for the members")

        r = await req(a, {"op": "send", "to": "#pics", "id": "g-1",
            "body": {"k": "v"}, "media": [mid]})
        t.eq((r or {}).get("op"), "sent", "a group send with media: sent")
        m = await b.recv_op("msg")
        t.ok(m and m.get("to") == "#pics" and m.get("media") == [mid],
            "the member's msg carries the media IDs", m)
        g = http_request(d, "GET", f"/v1/media/{mid}", token=tb)
        t.ok(g.status == 200 and g.raw == data,
            "the member downloads the bytes the message names", g.status)
        await b.send({"op": "ack", "mid": (m or {}).get("mid")})
        await a.close()
        await b.close()


run(main, 7)
