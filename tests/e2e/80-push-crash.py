#!/usr/bin/python3
# Push under SIGKILL, tickd-protocol(7) PUSH NOTIFICATIONS rule 4: a
# notification that is pending (before push_delay), retrying (the endpoint
# answers 503) or under way (the endpoint has not answered) when tickd is
# killed is posted once after the restart, and never again once a 2xx came
# back.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403


async def send(d, ta, to, n):
    a = await Client.connect(d, ta, name="alice")
    sent = [await a.request({"op": "send", "to": to, "id": f"{to}-{i}",
        "body": "x"}) for i in range(n)]
    await a.close()
    if any((s or {}).get("op") != "sent" for s in sent):
        raise Failure(f"send to {to}: {sent!r}")
    return sent


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay="1s", push_backoff="300ms", push_backoff_max="600ms",
            push_retries=50, push_timeout="5s", login_rate=0) as d:
        ta = token_for(d, "alice", new=True)
        await push_setup(d, r, "early", "phone", "/early", new=True)
        await push_setup(d, r, "retry", "phone", "/retry", new=True)
        await push_setup(d, r, "hung", "phone", "/hung", new=True)
        r.set("/retry", 503)
        r.set("/hung", ("hang", 20))

        await send(d, ta, "retry", 2)
        await send(d, ta, "hung", 1)
        r.wait("/retry", 3, 10)
        r.wait("/hung", 1, 10)
        sent = await send(d, ta, "early", 3)
        before = {p: len(r.to(p)) for p in ("/early", "/retry", "/hung")}
        d.kill()
        time.sleep(0.5)
        r.set("/retry", 200)
        r.set("/hung", 200)
        r.set("/early", 200)
        mark = time.monotonic()
        d.start()
        for p in ("/early", "/retry", "/hung"):
            r.wait(p, before[p] + 1, 10)
        time.sleep(3)
        after = {p: [x for x in r.to(p) if x.at > mark]
            for p in ("/early", "/retry", "/hung")}

        t.ok(before["/early"] == 0 and len(after["/early"]) == 1 and
            (after["/early"][0].json() or {}).get("mid") == sent[2]["mid"],
            "a notification still inside push_delay at the kill is posted "
            "once after the restart",
            f"before {before}, after {[x.body for x in after['/early']]}")
        t.ok(before["/retry"] >= 3 and len(after["/retry"]) == 1,
            "a notification being retried at the kill is posted once more "
            "after the restart, then no more",
            f"{before['/retry']} POSTs before, "
            f"{len(after['/retry'])} after")
        t.ok(before["/hung"] == 1 and len(after["/hung"]) == 1,
            "a POST under way at the kill is sent once more after the "
            "restart", f"{before['/hung']} before, "
            f"{len(after['/hung'])} after")

        # Nothing is pending now: another restart posts nothing.
        n = len(r.posts)
        d.restart()
        time.sleep(2)
        m = metrics(d)
        t.ok(len(r.posts) == n and m.get("tickd_push_pending") == 0,
            "once answered 2xx, nothing is posted again after a restart",
            f"{len(r.posts) - n} more POSTs; pending "
            f"{m.get('tickd_push_pending')}")


need_push()
run(main, 4, timeout=90)
