#!/usr/bin/python3
# /healthz tells the truth about writes: after a commit that failed (here
# the disk's fsync fails, through failsync.so) it answers 503 until a
# commit succeeds again, and it answers 503 while the data file system has
# less than min_free_space left.

import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


async def main(t):
    if not os.path.exists(FAILSYNC):
        raise Failure(f"{FAILSYNC} is missing: make check builds it")
    d = Daemon("hostile-health")
    trigger = os.path.join(d.dir, "fail-syncs")
    start_failing(d, trigger)
    ta = token_for(d, "alice", new=True)
    token_for(d, "bob", new=True)
    a = await Client.connect(d, ta, name="alice")

    open(trigger, "w").close()
    r = await a.request({"op": "send", "to": "bob", "id": "h1",
        "body": "x", "ref": 1})
    h = http_request(d, "GET", "/healthz")
    t.ok(r is not None and r.get("code") == "internal" and
        h.status == 503 and h.error == "unavailable", "after a failed "
        "commit, /healthz answers 503 unavailable", f"{r!r} {h!r}")
    os.unlink(trigger)
    r = await a.request({"op": "send", "to": "bob", "id": "h2",
        "body": "x", "ref": 2})
    h = http_request(d, "GET", "/healthz")
    t.ok(r is not None and r.get("op") == "sent" and h.status == 200,
        "once a commit succeeds again, /healthz is ok", f"{r!r} {h!r}")
    await a.close()

    d.conf["min_free_space"] = "16384g"
    d.write_conf()
    d.signal(signal.SIGHUP)
    await asyncio.sleep(0.5)
    h = http_request(d, "GET", "/healthz")
    t.ok(h.status == 503 and h.error == "unavailable", "with less free "
        "space than min_free_space, /healthz answers 503", f"{h!r}")
    d.conf["min_free_space"] = "0"
    d.write_conf()
    d.signal(signal.SIGHUP)
    await asyncio.sleep(0.5)
    t.eq(http_request(d, "GET", "/healthz").status, 200,
        "min_free_space 0 checks nothing")
    d.stop()


run(main, 4)
