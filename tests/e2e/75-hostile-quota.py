#!/usr/bin/python3
# One account cannot fill everyone's store: max_user_bytes bounds the bytes
# a user's messages occupy over every queue they wait in (a send beyond
# it is queue_full and stores nothing; acks give the bytes back), the
# largest users show in tickd_user_stored_bytes, and max_devices_per_user
# bounds the devices a login may create.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

BODY = "q" * 15000


async def main(t):
    d = Daemon("hostile-quota", max_user_bytes="1m",
        max_devices_per_user="3", send_rate="0")
    d.start()
    ta = token_for(d, "alice", new=True)
    tb = token_for(d, "bob", new=True)
    a = await Client.connect(d, ta, name="alice")

    replies = []
    for i in range(100):
        r = await a.request({"op": "send", "to": "bob", "id": f"q{i}",
            "body": BODY, "ref": i})
        replies.append(r)
        if r is None or r.get("op") != "sent":
            break
    sent = sum(1 for r in replies if r and r.get("op") == "sent")
    last = replies[-1]
    t.diag(f"{sent} sends of {len(BODY)} bytes before {last!r}")
    t.ok(last is not None and last.get("code") == "queue_full" and
        last.get("id") == f"q{sent}" and 50 <= sent <= 70,
        "sends beyond max_user_bytes 1m are queue_full", f"{sent} {last!r}")
    m = metrics(d)
    held = m.get('tickd_user_stored_bytes{user="alice"}', 0)
    t.ok(sent * len(BODY) <= held <= 1024 * 1024, "tickd_user_stored_bytes "
        "shows alice's bytes", f"{held} for {sent} sends")

    b = await Client.connect(d, tb, name="bob")
    got = await b.collect("msg", quiet=0.5)
    t.eq(len(got), sent, "the refused send stored nothing")
    r = await b.request({"op": "ack", "mids": [g["mid"] for g in got],
        "ref": "k"})
    t.ok(r is not None and r.get("op") == "ok", "bob acks them all",
        f"{r!r}")
    m = metrics(d)
    t.eq(m.get('tickd_user_stored_bytes{user="alice"}', 0), 0,
        "the acks gave alice's bytes back")
    r = await a.request({"op": "send", "to": "bob", "id": "after",
        "body": BODY, "ref": "x"})
    t.ok(r is not None and r.get("op") == "sent", "alice may send again",
        f"{r!r}")
    await a.close()
    await b.close()

    # max_devices_per_user 3: alice has "default"; two more, not three.
    codes = [login(d, "alice", device=dev).status
        for dev in ("d2", "d3", "d4")]
    r = login(d, "alice", device="d4")
    t.ok(codes == [200, 200, 403] and r.error == "too_many_devices",
        "a login adding a fourth device is 403 too_many_devices",
        f"{codes} {r!r}")
    t.eq(login(d, "alice", device="d2").status, 200, "an existing device "
        "still logs in")
    d.stop()


run(main, 8)
