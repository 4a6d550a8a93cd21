#!/usr/bin/python3
# message_ttl, tickd-protocol(7) MESSAGES rule 6: an item older than
# message_ttl is dropped from its queue, delivered before or not.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


async def main(t):
    with Daemon(message_ttl="1s") as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")

        async def send(i):
            return await a.request({"op": "send", "to": "bob", "id": i,
                "body": i}) or {}

        s = await send("fresh")
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.3)
        t.ok([m.get("mid") for m in got] == [s.get("mid")],
            "a queued item younger than message_ttl (1s) is delivered",
            f"sent {s!r}\ngot {got!r}")
        await b.request({"op": "ack", "mid": s.get("mid"), "ref": 1})
        await b.close()

        s = await send("stale")
        await asyncio.sleep(3)
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=1)
        t.ok(not got and s.get("op") == "sent",
            "a queued item older than message_ttl is not delivered",
            f"sent {s!r}\ngot {got!r}")

        s = await send("pushed")
        m = await b.recv_op("msg", 3) or {}
        await b.close()
        await asyncio.sleep(3)
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=1)
        t.ok(m.get("mid") == s.get("mid") and not got,
            "a pushed but unacked item older than message_ttl is not "
            "sent again", f"pushed {m!r}\nnext connection got {got!r}")

        s = await send("after")
        m = await b.recv_op("msg", 3) or {}
        t.ok(s.get("op") == "sent" and m.get("mid") == s.get("mid"),
            "new messages still flow", f"sent {s!r}\ngot {m!r}")

        await a.close()
        await b.close()
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")


run(main, 5)
