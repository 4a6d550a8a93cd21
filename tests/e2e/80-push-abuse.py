#!/usr/bin/python3
# Hostile push endpoints, tickd-protocol(7) PUSH NOTIFICATIONS: one that never
# answers, one that trickles its answer a byte at a time, one that sends a
# gigabyte.  tickd ends each within push_timeout or after a few kilobytes, its
# memory and its connections stay bounded, the event loop keeps serving, and a
# good endpoint is still woken.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403

BAD = {"/never": ("hang", 60), "/trickle": ("trickle", 200),
    "/huge": ("huge", 200)}
EACH = 5
MAX_INFLIGHT = 64


def fds(d):
    try:
        return len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    except OSError:
        return None


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay="100ms", push_timeout="2s", push_backoff="1s",
            push_retries=1, login_rate=0,
            push_max_inflight=MAX_INFLIGHT) as d:
        ta = token_for(d, "alice", new=True)
        users = []
        for path, step in BAD.items():
            for i in range(EACH):
                p = f"{path}{i}"
                r.set(p, step)
                users.append((f"u{path[1:]}{i}", p))
        users.append(("good", "/good"))
        for u, p in users:
            tok = token_for(d, u, "phone", new=True)
            c = await Client.connect(d, tok, name=u)
            rep = await c.request({"op": "push_register",
                "endpoint": r.url(p), "ref": 1})
            await c.close()
            if rep != {"op": "ok", "ref": 1}:
                raise Failure(f"push_register {u}: {rep!r}")
        rss0 = d.rss_anon()
        fd0 = fds(d)
        a = await Client.connect(d, ta, name="alice")
        t0 = time.monotonic()
        for u, _ in users:
            await a.request({"op": "send", "to": u, "id": u, "body": "x"})
        good = r.wait("/good", 1, 10)
        t.ok(len(good) == 1, "a good endpoint is woken while the hostile "
            "ones hold their POSTs", f"after {time.monotonic() - t0:.1f} s")

        # While they run: the loop still answers, memory stays bounded.
        time.sleep(1)
        pong = await a.request({"op": "ping", "ref": 1})
        fd1 = fds(d)
        rss1 = d.rss_anon()
        t.ok(pong is not None and pong.get("op") == "pong",
            "the event loop keeps serving clients meanwhile", repr(pong))
        t.ok(fd1 is None or fd1 - fd0 <= MAX_INFLIGHT + 8,
            "connections to endpoints stay within push_max_inflight",
            f"fds {fd0} -> {fd1}")
        t.ok(rss0 is None or rss1 - rss0 < 64 << 20,
            "a gigabyte answer does not grow tickd's memory",
            f"RssAnon {rss0} -> {rss1}")

        # Each is ended: the trickle and the silent one by push_timeout,
        # retried once, then dropped; the gigabyte after a few kB.
        time.sleep(7)
        st = {}
        for u, p in users:
            c = await Client.connect(d, token_for(d, u, "phone"), name=u)
            await c.send({"op": "push_status"})
            st[p] = (await c.recv_op("push_status") or {}).get("failures")
            await c.close()
        want = {p: (0 if p.startswith(("/huge", "/good")) else 1)
            for _, p in users}
        counts = {p: len(r.to(p)) for _, p in users}
        # A gigabyte answer may itself be slow enough to be retried.
        t.ok(st == want and all(counts[p] == 2 for p in counts
            if p.startswith(("/never", "/trickle"))),
            "the silent and the trickling endpoints time out, are retried "
            "push_retries times and dropped; the gigabyte counts as "
            "answered", f"failures {st}\nPOSTs {counts}")
        m = metrics(d)
        t.ok(m.get("tickd_push_pending") == 0 and fds(d) - fd0 <= 8,
            "nothing is left pending or open",
            f"pending {m.get('tickd_push_pending')}, fds {fd0} -> "
            f"{fds(d)}")
        await a.close()


need_push()
run(main, 6, timeout=90)
