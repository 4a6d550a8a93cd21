#!/usr/bin/python3
# A full store (map_size reached): sends get error internal naming the full
# store, /healthz answers 503, and every message answered sent before it is
# still delivered intact, also after a restart.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


async def main(t):
    d = Daemon("full", map_size="1m", max_message_bytes="16k",
        max_queue="100000", send_rate="0")
    d.start()
    ta = token_for(d, "alice", new=True)
    # Logging in writes to the store; bob's token must exist before.
    tb = token_for(d, "bob", new=True)
    a = await Client.connect(d, ta, name="alice")

    sent, err = {}, None
    for i in range(400):
        body = {"n": i, "pad": f"{i:05d}" * 2500}
        r = await a.request({"op": "send", "to": "bob", "id": f"f{i}",
            "body": body, "ref": i})
        if r.get("op") == "sent":
            sent[r["mid"]] = body
        else:
            err = r
            break
    t.ok(err is not None and err.get("code") == "internal" and
        "full" in err.get("message", "") and err.get("id") == f"f{len(sent)}"
        and err.get("ref") == len(sent),
        "a send into a full store gets error internal saying so, with ref "
        "and id", f"{len(sent)} sent, then {err!r}")
    t.ok(len(sent) > 10, "the store took messages before it filled",
        f"{len(sent)}")

    r = http_request(d, "GET", "/healthz")
    t.ok(r.status == 503, "/healthz answers 503 while the store is full",
        f"{r!r}")
    m = http_request(d, "GET", "/metrics").raw.decode()
    t.ok("\ntickd_store_full 1\n" in m, "the tickd_store_full metric is 1")
    await a.close()

    d.stop()
    d.start()
    b = await Client.connect(d, tb, name="bob")
    got = await b.collect("msg", quiet=1.0, limit=20)
    bad = [f["mid"] for f in got if sent.get(f["mid"]) != f.get("body")]
    t.ok(sorted(f["mid"] for f in got) == sorted(sent) and not bad,
        "after a restart every message answered sent is delivered intact",
        f"{len(got)} of {len(sent)}, {len(bad)} differ")
    await b.close()
    d.stop()


run(main, 5)
