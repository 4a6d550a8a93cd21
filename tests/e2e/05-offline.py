#!/usr/bin/python3
# The offline queue, tickd-protocol(7) SESSION and MESSAGES: replay after ready
# in mid order, ack by mid and by mids, unacked items coming back, harmless
# acks.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def summary(frames):
    return [(f.get("op"), f.get("mid"), f.get("body")) for f in frames]


async def main(t):
    with Daemon() as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")

        sent = []
        for i in range(5):
            s = await a.request({"op": "send", "to": "bob", "id": f"o-{i}",
                "body": {"n": i}})
            sent.append((s or {}).get("mid"))
        want = [("msg", m, {"n": i}) for i, m in enumerate(sent)]

        b = await Client.connect(d, tb, ready=False, name="bob")
        first = await b.recv(3)
        got = await b.collect("msg", quiet=0.7)
        t.ok(increasing(sent) and (first or {}).get("op") == "ready" and
            summary(got) == want,
            "queued messages are replayed after ready, oldest first",
            f"first frame {first!r}\nexpected {want!r}\ngot      "
            f"{summary(got)!r}")

        await b.send({"op": "ack", "mid": sent[0]})
        await b.send({"op": "ack", "mid": sent[1]})
        quiet = await b.expect_nothing(0.5)
        await b.close()
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.7)
        t.ok(not quiet and summary(got) == want[2:],
            "acked items are gone, unacked ones come back on reconnect",
            f"answers to ack without ref {quiet!r}\nexpected "
            f"{want[2:]!r}\ngot      {summary(got)!r}")

        ok = await b.request({"op": "ack", "mids": sent[2:4], "ref": "m"})
        await b.close()
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.7)
        t.ok(ok == {"op": "ok", "ref": "m"} and summary(got) == want[4:],
            "ack with a mids list deletes them all; ok echoes ref",
            f"ack answered {ok!r}\nexpected {want[4:]!r}\ngot      "
            f"{summary(got)!r}")

        r1 = await b.request({"op": "ack", "mid": "1-1", "ref": 1})
        r2 = await b.request({"op": "ack", "mid": sent[0], "ref": 2})
        r3 = await b.request({"op": "ack", "mids": [sent[1], "2-2"],
            "ref": 3})
        await b.send({"op": "ack", "mid": "3-3"})
        quiet = await b.expect_nothing(0.5)
        t.ok([r1, r2, r3] == [{"op": "ok", "ref": i} for i in (1, 2, 3)]
            and not quiet,
            "acking unknown or already acked mids is not an error",
            f"unknown {r1!r}\nacked before {r2!r}\nmixed {r3!r}\n"
            f"without ref {quiet!r}")

        await b.request({"op": "ack", "mid": sent[4], "ref": "last"})
        await b.close()
        b = await Client.connect(d, tb, name="bob")
        left = await b.expect_nothing(1, op="msg")
        t.ok(not left, "a drained, fully acked queue replays nothing",
            f"got {left!r}")

        s = await a.request({"op": "send", "to": "bob", "id": "live",
            "body": "live"}) or {}
        live = await b.recv_op("msg", 3) or {}
        await b.close()
        b = await Client.connect(d, tb, name="bob")
        again = await b.collect("msg", quiet=0.7)
        t.ok(live.get("mid") == s.get("mid") and
            summary(again) == [("msg", s.get("mid"), "live")],
            "a pushed but unacked message comes back on the next connection",
            f"sent {s!r}\npushed {live!r}\nnext connection {again!r}")

        await b.request({"op": "ack", "mid": s.get("mid"), "ref": 0})
        await a.close()
        await b.close()
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")


run(main, 7)
