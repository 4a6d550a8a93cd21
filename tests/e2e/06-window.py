#!/usr/bin/python3
# The delivery window, tickd-protocol(7) MESSAGES rule 2: at most `window`
# unacked items at a time, more as acks arrive, always in mid order.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

WINDOW = 4


async def main(t):
    with Daemon(window=WINDOW) as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")

        async def send(n):
            mids = []
            for i in range(n):
                s = await a.request({"op": "send", "to": "bob",
                    "id": f"w-{len(sent) + i}", "body": len(sent) + i})
                mids.append((s or {}).get("mid"))
            sent.extend(mids)

        def got_mids(frames):
            return [f.get("mid") for f in frames]

        sent = []
        await send(10)
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=1)
        t.ok(increasing(sent) and got_mids(got) == sent[:4],
            "with 10 queued and window 4, exactly the first 4 arrive",
            f"expected {sent[:4]!r}\ngot      {got_mids(got)!r}")

        await b.close()
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=1)
        t.ok(got_mids(got) == sent[:4],
            "on reconnect the same 4 unacked items come again",
            f"expected {sent[:4]!r}\ngot      {got_mids(got)!r}")

        await b.send({"op": "ack", "mid": sent[0]})
        got = await b.collect("msg", quiet=0.7)
        t.ok(got_mids(got) == sent[4:5], "one ack releases exactly one more",
            f"expected {sent[4:5]!r}\ngot      {got_mids(got)!r}")

        await b.send({"op": "ack", "mids": sent[1:3]})
        got = await b.collect("msg", quiet=0.7)
        t.ok(got_mids(got) == sent[5:7], "acking two releases the next two",
            f"expected {sent[5:7]!r}\ngot      {got_mids(got)!r}")

        await b.send({"op": "ack", "mids": sent[3:7]})
        got = await b.collect("msg", quiet=0.7)
        t.ok(got_mids(got) == sent[7:10],
            "acking all in flight releases the last three, then nothing",
            f"expected {sent[7:10]!r}\ngot      {got_mids(got)!r}")

        # 3 in flight: of 3 live sends only one fits the window
        await send(3)
        got = await b.collect("msg", quiet=0.7)
        t.ok(got_mids(got) == sent[10:11],
            "live pushes respect the window too",
            f"expected {sent[10:11]!r}\ngot      {got_mids(got)!r}")

        await b.send({"op": "ack", "mids": sent[7:10]})
        got = await b.collect("msg", quiet=0.7)
        t.ok(got_mids(got) == sent[11:13],
            "acks release the waiting live items in order",
            f"expected {sent[11:13]!r}\ngot      {got_mids(got)!r}")

        await a.close()
        await b.close()
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")


run(main, 8)
