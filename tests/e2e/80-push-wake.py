#!/usr/bin/python3
# The wake POST, tickd-protocol(7) PUSH NOTIFICATIONS rules 3 to 6: one POST
# after push_delay for an offline device, coalescing, none while connected,
# none for the user's own messages or a muted chat, its body and headers, no
# message content by default, and what each answer does: 2xx, 404/410, 413, 429
# with Retry-After, 5xx, a timeout, another 4xx.

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403

DELAY = 0.4


async def status(d, token):
    c = await Client.connect(d, token, name="status")
    await c.send({"op": "push_status"})
    st = await c.recv_op("push_status")
    await c.close()
    return st


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay=f"{int(DELAY * 1000)}ms", push_timeout="1s",
            push_backoff="300ms", push_backoff_max="3s",
            push_retries=3, login_rate=0, log_level="debug") as d:
        ta = token_for(d, "alice", new=True)
        token_for(d, "bob", "phone", new=True)
        token_for(d, "carol", new=True)
        tb = await push_setup(d, r, "bob", "phone", "/bob")
        a = await Client.connect(d, ta, name="alice")

        t0 = time.monotonic()
        sent = [await a.request({"op": "send", "to": "bob", "id": f"w{i}",
            "body": {"text": f"SECRET-{i}"}}) for i in range(3)]
        posts = r.wait("/bob", 1, 5)
        time.sleep(DELAY * 3)
        posts = r.to("/bob")
        w = posts[0].json() if posts else None
        t.ok(len(posts) == 1 and w == {"op": "wake", "user": "bob",
            "device": "phone", "pending": 3, "mid": sent[2]["mid"],
            "ts": sent[2]["ts"]},
            "three messages to an offline device: one wake POST with "
            "pending, the newest mid and ts",
            f"{len(posts)} POSTs: {[p.body for p in posts]!r}\n"
            f"sent {sent!r}")
        t.ok(posts and posts[0].at - t0 >= DELAY * 0.9,
            "the POST waits push_delay",
            f"after {posts[0].at - t0 if posts else None} s")
        h = posts[0].headers if posts else {}
        t.ok(h.get("content-type") == "application/json" and
            h.get("ttl") == "86400" and h.get("urgency") == "high" and
            "authorization" not in h and "content-encoding" not in h,
            "headers: Content-Type, TTL push_ttl in seconds, Urgency "
            "high", repr(h))
        t.ok(posts and b"SECRET" not in posts[0].body and
            b"alice" not in posts[0].body,
            "push_content none: neither body nor sender leaks",
            repr(posts[0].body if posts else None))

        # After the POST, the next message makes a new notification.
        wait_idle(d)
        s4 = await a.request({"op": "send", "to": "bob", "id": "w3",
            "body": "x"})
        posts = r.wait("/bob", 2, 5)
        t.ok(len(posts) == 2 and posts[1].json().get("mid") == s4["mid"]
            and posts[1].json().get("pending") == 4,
            "the next message after a POST makes a new one",
            [p.body for p in posts])

        # None while connected; the device's own user's messages; muted.
        b = await Client.connect(d, token_for(d, "bob", "phone"),
            name="bob")
        await a.request({"op": "send", "to": "bob", "id": "w4",
            "body": "x"})
        time.sleep(DELAY * 3)
        n_online = len(r.to("/bob"))
        await b.close()
        lap = await Client.connect(d, token_for(d, "bob", "laptop"),
            name="bob/laptop")
        own = await lap.request({"op": "send", "to": "bob", "id": "own",
            "body": "x"})
        muted = await lap.request({"op": "mute", "chat": "alice",
            "ref": 1})
        await a.request({"op": "send", "to": "bob", "id": "w5",
            "body": "x"})
        time.sleep(DELAY * 3)
        n_after = len(r.to("/bob"))
        t.ok(n_online == 2 and n_after == 2 and
            (own or {}).get("op") == "sent" and
            muted == {"op": "ok", "ref": 1},
            "no POST while the device is connected, for its own user's "
            "messages, or from a muted chat",
            f"POSTs {n_online} then {n_after}; own send {own!r}; "
            f"mute {muted!r}")
        await lap.request({"op": "unmute", "chat": "alice", "ref": 2})
        c = await Client.connect(d, token_for(d, "carol"), name="carol")
        await c.request({"op": "send", "to": "bob", "id": "c1",
            "body": "x"})
        posts = r.wait("/bob", 3, 5)
        t.ok(len(posts) == 3, "another chat, and after unmute, wakes "
            "again", [p.body for p in posts])
        await c.close()
        await lap.close()

        # A notification pending when the device connects is dropped.
        # The login comes first: under valgrind its scrypt alone can
        # outlast push_delay.
        tp = token_for(d, "bob", "phone")
        await a.request({"op": "send", "to": "bob", "id": "w6",
            "body": "x"})
        b = await Client.connect(d, tp, name="bob")
        await b.close()
        time.sleep(DELAY * 3)
        t.eq(len(r.to("/bob")), 3, "a device that connects within "
            "push_delay is not woken")

        # 410: the endpoint is gone; 404 likewise.
        token_for(d, "gone", "d", new=True)
        tg = await push_setup(d, r, "gone", "d", "/gone")
        r.set("/gone", 410)
        token_for(d, "nf", "d", new=True)
        tn = await push_setup(d, r, "nf", "d", "/nf")
        r.set("/nf", 404)
        await a.request({"op": "send", "to": "gone", "id": "g1",
            "body": "x"})
        await a.request({"op": "send", "to": "nf", "id": "n1",
            "body": "x"})
        r.wait("/gone", 1, 5)
        r.wait("/nf", 1, 5)
        time.sleep(0.3)
        sg, sn = await status(d, tg), await status(d, tn)
        await a.request({"op": "send", "to": "gone", "id": "g2",
            "body": "x"})
        time.sleep(DELAY * 3)
        t.ok(sg.get("endpoint") is None and sn.get("endpoint") is None and
            len(r.to("/gone")) == 1,
            "410 and 404 unregister the endpoint; nothing more is posted",
            f"{sg!r} {sn!r} POSTs {len(r.to('/gone'))}")

        # 503, then 429 with Retry-After 1, then 200.
        token_for(d, "retry", "d", new=True)
        tr = await push_setup(d, r, "retry", "d", "/retry")
        r.set("/retry", 503, (429, {"Retry-After": "1"}), 200)
        await a.request({"op": "send", "to": "retry", "id": "r1",
            "body": "x"})
        posts = r.wait("/retry", 3, 8)
        time.sleep(DELAY * 3)
        posts = r.to("/retry")
        gaps = [round(b.at - a.at, 2) for a, b in zip(posts, posts[1:])]
        st = await status(d, tr)
        t.ok(len(posts) == 3 and gaps[0] >= 0.25 and gaps[1] >= 0.9 and
            st.get("failures") == 0,
            "503 and 429 are retried, after push_backoff and then the "
            "longer Retry-After; 200 ends it",
            f"{len(posts)} POSTs, gaps {gaps}, status {st!r}")

        # A timeout is retried; push_retries retries, then dropped.
        token_for(d, "slow", "d", new=True)
        ts = await push_setup(d, r, "slow", "d", "/slow")
        r.set("/slow", ("hang", 2), 500)
        await a.request({"op": "send", "to": "slow", "id": "s1",
            "body": "x"})
        posts = r.wait("/slow", 4, 12)
        time.sleep(1.5)
        posts = r.to("/slow")
        st = await status(d, ts)
        t.ok(len(posts) == 4 and posts[1].at - posts[0].at >= 0.9 and
            st.get("failures") == 1 and st.get("endpoint") == r.url("/slow"),
            "a POST that times out after push_timeout is retried; after "
            "push_retries (3) it is dropped: failures 1, endpoint kept",
            f"{len(posts)} POSTs at {[round(p.at - posts[0].at, 2) for p in posts]}; {st!r}")

        # Another 4xx: dropped at once, endpoint kept.
        token_for(d, "bad", "d", new=True)
        tbd = await push_setup(d, r, "bad", "d", "/bad")
        r.set("/bad", 400)
        await a.request({"op": "send", "to": "bad", "id": "b1",
            "body": "x"})
        r.wait("/bad", 1, 5)
        time.sleep(DELAY * 3)
        st = await status(d, tbd)
        t.ok(len(r.to("/bad")) == 1 and st.get("failures") == 1 and
            st.get("endpoint") == r.url("/bad"),
            "a 400 drops the notification at once: failures 1, endpoint "
            "kept", f"{len(r.to('/bad'))} POSTs, {st!r}")
        # A 2xx resets failures.
        r.set("/bad", 204)
        wait_idle(d)
        await a.request({"op": "send", "to": "bad", "id": "b2",
            "body": "x"})
        r.wait("/bad", 2, 5)
        time.sleep(0.3)
        st = await status(d, tbd)
        t.eq(st.get("failures"), 0, "a 2xx sets failures back to 0")

        # push_content body, and 413: once more without content.
        d.conf["push_content"] = "body"
        d.write_conf()
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        token_for(d, "big", "d", new=True)
        tbig = await push_setup(d, r, "big", "d", "/big")
        r.set("/big", 413, 200)
        sb = await a.request({"op": "send", "to": "big", "id": "big1",
            "body": {"text": "SECRET-BODY"}})
        posts = r.wait("/big", 2, 5)
        first = posts[0].json() if posts else {}
        second = posts[1].json() if len(posts) > 1 else {}
        t.ok(len(posts) == 2 and first.get("body") == {"text":
            "SECRET-BODY"} and first.get("from") == "alice" and
            first.get("to") == "big" and first.get("id") == "big1" and
            "body" not in second and "from" not in second and
            second.get("mid") == sb["mid"],
            "push_content body carries from, to, id and body; after a 413 "
            "it is sent once more without content",
            [p.body for p in posts])
        r.set("/big", 413)
        wait_idle(d)
        await a.request({"op": "send", "to": "big", "id": "big2",
            "body": "y" * 5000})
        posts = r.wait("/big", 4, 5)
        time.sleep(DELAY * 3)
        posts = r.to("/big")
        st = await status(d, tbig)
        third = posts[2].json() if len(posts) > 2 else {}
        t.ok(len(posts) == 4 and "body" not in third and
            third.get("from") == "alice" and st.get("failures") == 1,
            "a body over 4096 bytes falls back to sender; a second 413 "
            "drops the notification", f"{[p.body[:80] for p in posts]} "
            f"{st!r}")

        m = metrics(d)
        got = {k: v for k, v in m.items() if "push" in k}
        t.ok(m.get('tickd_push_posts_total{result="ok"}', 0) >= 5 and
            m.get('tickd_push_posts_total{result="gone"}') == 2 and
            m.get('tickd_push_posts_total{result="dropped"}') == 3 and
            m.get('tickd_push_posts_total{result="retry"}', 0) >= 5 and
            m.get("tickd_push_pending") == 0,
            "metrics: tickd_push_pending and tickd_push_posts_total by "
            "result", repr(got))


need_push()
run(main, 16, timeout=90)
