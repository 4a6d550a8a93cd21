#!/usr/bin/python3
# Many notifications due at once, tickd-protocol(7) PUSH NOTIFICATIONS:
# forty offline devices are each sent one message, and tickd stops before
# push_delay; started again after it, it finds all forty due in its first
# run of the scheduler, which takes up to push_max_inflight (64) of them.
# Each device gets one wake POST, and tickd keeps serving.  The list that
# run collects once grew past any memory from about two dozen and ended
# tickd.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403

N = 40
DELAY = 10 if VALGRIND else 5   # seconds: the sends and the stop fit in it


async def main(t):
    need_push()
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay=f"{DELAY}s", push_timeout="5s", login_rate=0) as d:
        ta = token_for(d, "alice", new=True)
        for i in range(N):
            await push_setup(d, r, f"u{i}", "phone", f"/u{i}", new=True)
        a = await Client.connect(d, ta, name="alice")
        t0 = time.monotonic()
        sent = [await a.request({"op": "send", "to": f"u{i}",
            "id": f"b{i}", "body": "x"}) for i in range(N)]
        await a.close()
        d.stop()
        early = sum(len(r.to(f"/u{i}")) for i in range(N))
        t.ok(all((s or {}).get("op") == "sent" for s in sent) and
            early == 0 and time.monotonic() - t0 < DELAY,
            f"{N} messages to {N} offline devices: sent, and tickd stopped "
            "before push_delay", f"{early} POSTs early; {sent!r}")
        time.sleep(max(0, DELAY + 0.5 - (time.monotonic() - t0)))
        d.start()
        got = {i: r.wait(f"/u{i}", 1, 10) for i in range(N)}
        missing = [i for i in range(N) if len(got[i]) != 1]
        t.ok(not missing and all(got[i][0].json().get("user") == f"u{i}"
            for i in range(N)), f"each of the {N} devices gets one wake "
            "POST naming it", f"without one: {missing}")
        t.ok(d.running() and wait_idle(d), "tickd still serves, nothing "
            "left pending", d.tail())


run(main, 3, timeout=90)
