#!/usr/bin/python3
# A commit that fails: the disk's fdatasync returns EIO (failsync.c, an
# LD_PRELOAD library, while a trigger file exists).  A send is then
# answered error internal, not sent, and nothing reaches the recipient; an
# ack with a ref is answered error internal, not ok, and its item comes
# back; once the disk works again the same id is a new send, not a dup.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


async def main(t):
    if not os.path.exists(FAILSYNC):
        raise Failure(f"{FAILSYNC} is missing: make check builds it")
    d = Daemon("commitfail")
    trigger = os.path.join(d.dir, "fail-syncs")
    start_failing(d, trigger)
    ta = token_for(d, "alice", new=True)
    tb = token_for(d, "bob", new=True)
    a = await Client.connect(d, ta, name="alice")
    b = await Client.connect(d, tb, name="bob")

    open(trigger, "w").close()
    r = await a.request({"op": "send", "to": "bob", "id": "cf-1",
        "body": "lost?", "ref": 1})
    got = await b.expect_nothing(0.5, op="msg")
    os.unlink(trigger)
    t.ok(r is not None and r.get("op") == "error" and
        r.get("code") == "internal" and r.get("ref") == 1 and
        r.get("id") == "cf-1" and not got,
        "a send whose commit fails is answered error internal with ref "
        "and id, and nothing is delivered", f"{r!r}, bob got {got!r}")

    m = metrics(d)
    t.ok(m.get("tickd_commit_failures_total", 0) >= 1,
        "the failed commit is counted",
        f"{m.get('tickd_commit_failures_total')}")

    r = await a.request({"op": "send", "to": "bob", "id": "cf-1",
        "body": "kept", "ref": 2})
    msg = await b.recv_op("msg")
    t.ok(r is not None and r.get("op") == "sent" and "dup" not in r and
        msg is not None and msg.get("body") == "kept" and
        msg.get("mid") == r.get("mid"),
        "once syncs work again, the same id is a new send, delivered",
        f"{r!r}, bob got {msg!r}")

    open(trigger, "w").close()
    ack = await b.request({"op": "ack", "mid": msg["mid"], "ref": 3})
    receipt = await a.expect_nothing(0.5, op="receipt")
    os.unlink(trigger)
    t.ok(ack is not None and ack.get("op") == "error" and
        ack.get("code") == "internal" and ack.get("ref") == 3 and
        not receipt,
        "an ack whose commit fails is answered error internal with its "
        "ref, and no receipt goes out", f"{ack!r}, alice got {receipt!r}")

    await b.close()
    b = await Client.connect(d, tb, name="bob")
    again = await b.recv_op("msg")
    t.ok(again is not None and again.get("mid") == msg["mid"],
        "the item whose ack was not stored comes back", f"{again!r}")

    ack = await b.request({"op": "ack", "mid": msg["mid"], "ref": 4})
    receipt = await a.recv_op("receipt")
    t.ok(ack == {"op": "ok", "ref": 4} and receipt is not None and
        receipt.get("for") == msg["mid"] and
        receipt.get("status") == "delivered",
        "the ack made again is stored: ok, and the delivered receipt",
        f"{ack!r}, {receipt!r}")

    await a.close()
    await b.close()
    t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")


run(main, 7)
