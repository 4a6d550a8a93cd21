#!/usr/bin/python3
# The sync thread's fdatasync fails (failsync.c with TICKD_FAILSYNC_THREAD:
# only threads other than the main one fail) after the commit's own sync on
# the event loop succeeded (tickd(8) COMMITS).  tickd must then stop using
# the thread and make the next commit at once with LMDB's full sync, and
# only then release what waited: the send is answered sent and delivered,
# the failure is logged and counted once, later commits (the trigger still
# there) no longer go through the thread, and a restart finds every item.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

WARNING = b"a commit's sync failed"


def warnings(d):
    with open(d.log_path, "rb") as f:
        return f.read().count(WARNING)


async def main(t):
    if not os.path.exists(FAILSYNC):
        raise Failure(f"{FAILSYNC} is missing: make check builds it")
    d = Daemon("syncfail", sync_thread="yes")
    trigger = os.path.join(d.dir, "fail-syncs")
    start_failing(d, trigger, thread=True)
    ta = token_for(d, "alice", new=True)
    tb = token_for(d, "bob", new=True)
    a = await Client.connect(d, ta, name="alice")
    b = await Client.connect(d, tb, name="bob")
    t.eq(warnings(d), 0, "no sync has failed before the trigger")

    open(trigger, "w").close()
    r = await a.request({"op": "send", "to": "bob", "id": "sf-1",
        "body": "first", "ref": 1})
    msg = await b.recv_op("msg")
    t.ok(r is not None and r.get("op") == "sent" and "dup" not in r and
        msg is not None and msg.get("mid") == r.get("mid"),
        "a send whose meta page sync fails on the thread is made durable by "
        "the next commit: sent, and delivered", f"{r!r}, bob got {msg!r}")

    mids = [r.get("mid") if r else None]
    for i in range(2, 6):
        r = await a.request({"op": "send", "to": "bob", "id": f"sf-{i}",
            "body": f"body {i}", "ref": i})
        m = await b.recv_op("msg")
        mids.append(r.get("mid") if r else None)
        if r is None or r.get("op") != "sent" or m is None or \
                m.get("mid") != r.get("mid"):
            break
    n = warnings(d)
    t.ok(len(mids) == 5 and None not in mids and n == 1,
        "the failure is logged once: later commits sync on the loop, "
        "and their sends are sent and delivered",
        f"mids {mids}, {n} warnings")

    met = metrics(d)
    t.eq(met.get("tickd_commit_failures_total"), 1,
        "the failed sync is counted once as a commit failure")

    os.unlink(trigger)
    await a.close()
    await b.close()
    t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")
    d.start()
    b = await Client.connect(d, tb, name="bob")
    got = []
    for _ in mids:
        m = await b.recv_op("msg")
        if m is None:
            break
        got.append(m.get("mid"))
    t.ok(got == mids, "after a restart, bob's queue holds all five, in "
        "order", f"expected {mids}, got {got}")
    await b.close()
    t.eq(d.stop(), 0, "tickd exits 0 again")


run(main, 7)
