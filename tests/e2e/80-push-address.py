#!/usr/bin/python3
# Rule 2 of tickd-protocol(7) PUSH NOTIFICATIONS on the address actually
# connected: an endpoint named "localhost" (a host name resolving to loopback)
# is refused at registration without push_allow_private; one registered while
# private addresses were allowed is not posted to once they are not (each
# POST's connection is checked, not only the registration), the notification is
# kept for a retry, and posted when they are allowed again.

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403


def posts_total(d, result):
    return metrics(d).get(f'tickd_push_posts_total{{result="{result}"}}', 0)


def reload(d, **keys):
    d.conf.update(keys)
    d.write_conf()
    d.signal(signal.SIGHUP)
    time.sleep(0.5)


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="localhost",
            push_allow_http="yes", push_allow_private="no",
            push_delay="100ms", push_timeout="2s", push_backoff="500ms",
            push_backoff_max="1s", push_retries=100) as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", "phone", new=True)
        url = f"http://localhost:{r.port}/bob"

        b = await Client.connect(d, tb, name="bob")
        rep = await b.request({"op": "push_register", "endpoint": url,
            "ref": 1})
        t.ok((rep or {}).get("code") == "push_rejected" and
            "not public" in (rep or {}).get("message", "") and
            "/bob" not in r.gets, "a host name resolving to loopback is "
            "refused, before any request reaches it", f"{rep!r} {r.gets!r}")

        reload(d, push_allow_private="yes")
        rep = await b.request({"op": "push_register", "endpoint": url,
            "ref": 2})
        await b.close()
        t.eq(rep, {"op": "ok", "ref": 2}, "with push_allow_private yes it "
            "is registered")

        reload(d, push_allow_private="no")
        retry0 = posts_total(d, "retry")
        a = await Client.connect(d, ta, name="alice")
        sent = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": "x"})
        deadline = time.monotonic() + 10
        while (time.monotonic() < deadline and
                posts_total(d, "retry") < retry0 + 2):
            time.sleep(0.1)
        retries = posts_total(d, "retry") - retry0
        t.ok((sent or {}).get("op") == "sent" and retries >= 2 and
            r.to("/bob") == [] and
            metrics(d).get("tickd_push_pending") == 1,
            "once private addresses are refused, no POST reaches the "
            "endpoint: each connection is refused and the notification "
            "kept for a retry", f"{sent!r}, {retries} retries, "
            f"{len(r.to('/bob'))} POSTs")

        reload(d, push_allow_private="yes")
        posts = r.wait("/bob", 1, 10)
        w = posts[0].json() if posts else {}
        t.ok(len(posts) == 1 and w.get("mid") == (sent or {}).get("mid"),
            "allowed again, the kept notification is posted once",
            [p.body for p in posts])
        await a.close()


need_push()
run(main, 4, timeout=90)
