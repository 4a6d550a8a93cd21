#!/usr/bin/python3
# Push and groups, tickd-protocol(7) PUSH NOTIFICATIONS rule 3: a group message
# wakes an offline member once, not the sender's own devices; muting the group
# (chat "#g") silences it, muting its sender does not; a group the caller is
# not in is no_such_group.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403

DELAY = 0.3


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay=f"{int(DELAY * 1000)}ms", login_rate=0) as d:
        ta = token_for(d, "alice", "phone", new=True)
        token_for(d, "bob", "phone", new=True)
        token_for(d, "carol", new=True)
        await push_setup(d, r, "bob", "phone", "/bob")
        await push_setup(d, r, "alice", "tablet", "/alice-tablet")
        a = await Client.connect(d, ta, name="alice")
        info = await a.request({"op": "group_create", "group": "#g",
            "title": "G", "members": ["bob"]})
        if info is None:
            info = await a.recv_op("group_info")
        sent = await a.request({"op": "send", "to": "#g", "id": "g1",
            "body": {"text": "SECRET"}})
        posts = r.wait("/bob", 1, 5)
        time.sleep(DELAY * 3)
        posts = r.to("/bob")
        w = posts[0].json() if posts else {}
        t.ok(len(posts) == 1 and w.get("mid") == (sent or {}).get("mid")
            and w.get("user") == "bob" and b"SECRET" not in posts[0].body
            and len(r.to("/alice-tablet")) == 0,
            "a group message wakes an offline member once, and not the "
            "sender's own offline device",
            f"sent {sent!r}\nPOSTs bob {[p.body for p in posts]}, "
            f"alice/tablet {len(r.to('/alice-tablet'))}")

        b = await Client.connect(d, token_for(d, "bob", "laptop"),
            name="bob/laptop")
        got = [await b.request({"op": "mute", "chat": "#g", "ref": 1}),
            await b.request({"op": "mute", "chat": "#nope", "ref": 2}),
            await b.request({"op": "mute", "chat": "#Bad Name", "ref": 3})]
        t.ok(got[0] == {"op": "ok", "ref": 1} and
            (got[1] or {}).get("code") == "no_such_group" and
            (got[2] or {}).get("code") == "bad_request",
            "mute of a group of one's own is ok; of another no_such_group; "
            "of a bad name bad_request", repr(got))
        await b.close()

        wait_idle(d)
        await a.request({"op": "send", "to": "#g", "id": "g2",
            "body": "x"})
        time.sleep(DELAY * 4)
        n_muted = len(r.to("/bob"))
        await a.request({"op": "send", "to": "bob", "id": "d1",
            "body": "x"})
        posts = r.wait("/bob", n_muted + 1, 5)
        t.ok(n_muted == 1 and len(posts) == 2,
            "a muted group wakes nobody; a direct message from its member "
            "still does", f"POSTs after the muted send {n_muted}, then "
            f"{len(posts)}")


need_push()
run(main, 3)
