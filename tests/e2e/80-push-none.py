#!/usr/bin/python3
# A tickd configured --without-push (README, tickd(8)): with the push keys
# set it starts, every push_register is answered push_rejected, /v1/info
# says push false, messages to an offline device post nothing, and tickctl
# stats says push off.  Skipped in a tickd built with push.

import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay="100ms", push_timeout="1s") as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", "phone", new=True)
        info = json.loads(http_request(d, "GET", "/v1/info").raw)
        t.ok(info.get("protocol") == 2 and info.get("push") is False,
            "/v1/info: push false, push_allow_hosts notwithstanding", info)

        b = await Client.connect(d, tb, name="bob")
        reps = [await b.request({"op": "push_register",
            "endpoint": r.url("/bob"), "ref": 1}),
            await b.request({"op": "push_register", "kind": "webhook",
            "endpoint": r.url("/hook"), "ref": 2})]
        t.ok(all((x or {}).get("code") == "push_rejected" and
            "not built" in (x or {}).get("message", "") for x in reps),
            "push_register, unifiedpush or webhook: push_rejected, not "
            "built", reps)
        bad = await b.request({"op": "push_register", "endpoint": 5,
            "ref": 3})
        t.eq((bad or {}).get("code"), "bad_request",
            "bad input is still bad_request")
        await b.send({"op": "push_status"})
        st = await b.recv_op("push_status")
        t.eq(st.get("endpoint"), None, "nothing was stored")
        await b.close()

        a = await Client.connect(d, ta, name="alice")
        sent = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": "x"})
        await a.close()
        time.sleep(1)
        t.ok((sent or {}).get("op") == "sent" and r.gets == [] and
            r.posts == [], "a message to the offline device is sent and "
            "nothing is fetched or posted", f"{sent!r} {r.gets!r}")

        if TICKCTL and os.access(TICKCTL, os.X_OK):
            c = tickctl(d, "stats")
            t.ok(c.ok and c.get("push") is False and
                c.get("push_pending") == 0, "tickctl stats: push off, "
                "nothing pending", c)
        else:
            t.skip("tickctl stats: push off", "TICKCTL is not set")


if os.environ.get("TICKD_PUSH") != "no":
    print("1..0 # SKIP tickd was built with push")
    sys.exit(77)
run(main, 6)
