#!/usr/bin/python3
# tickd(8) HEALTH AND METRICS: the queue totals of /metrics and tickctl
# stats (devices, items, bytes) are kept as commits happen, not walked at
# each scrape; after sends, acks, a queue purge, a device and a user
# deleted, they still equal what tickctl verify counts in the store, and
# what a restart (which counts them once) finds.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl  # noqa: E402


def totals(d):
    m = metrics(d)
    return (int(m["tickd_devices"]), int(m["tickd_queue_items"]),
        int(m["tickd_queue_bytes"]))


def counted(d):
    r = tickctl(d, "verify")
    if not r.ok:
        raise Failure(f"verify: {r!r}")
    return (r.get("devices"), r.get("items"))


async def main(t):
    with Daemon("totals") as d:
        t.eq(totals(d), (0, 0, 0), "an empty store: no devices, no items")
        ta = token_for(d, "alice", device="phone", new=True)
        token_for(d, "bob", device="phone", new=True)
        token_for(d, "bob", device="laptop")
        token_for(d, "carol", device="phone", new=True)
        a = await Client.connect(d, ta, name="alice")
        for i in range(6):
            s = await a.request({"op": "send", "to": "bob", "id": f"b{i}",
                "body": "x" * (10 + i)})
            if not s or s.get("op") != "sent":
                raise Failure(f"send: {s!r}")
        for i in range(3):
            await a.request({"op": "send", "to": "carol", "id": f"c{i}",
                "body": "hello"})
        dev, items, nbytes = totals(d)
        t.eq((dev, items), counted(d), "after sends: devices and items as "
            "tickctl verify counts them")
        t.ok(items >= 15 and nbytes > 0, "bob's two devices and carol's "
            "phone hold the items", (dev, items, nbytes))

        tb = token_for(d, "bob", device="phone")
        b = await Client.connect(d, tb, name="bob")
        msgs = await b.collect("msg", quiet=0.5)
        for m in msgs:
            await b.send({"op": "ack", "mid": m["mid"]})
        await b.expect_nothing(0.3)
        await b.close()
        after = totals(d)
        t.ok(len(msgs) == 6 and after[:2] == counted(d),
            "after bob's phone acks its 6 items (and receipts are queued "
            "for alice): as verify counts", (len(msgs), items, after))

        r = tickctl(d, "queue", "purge", "bob:laptop")
        t.ok(r.ok, "queue purge bob:laptop", r)
        t.eq(totals(d)[:2], counted(d), "after a purge")
        r = tickctl(d, "device", "del", "carol", "phone")
        t.ok(r.ok, "device del carol phone", r)
        t.eq(totals(d)[:2], counted(d), "after a device is deleted")
        r = tickctl(d, "user", "del", "bob")
        t.ok(r.ok, "user del bob", r)
        before = totals(d)
        t.eq(before[:2], counted(d), "after a user is deleted")
        await a.close()

        d.restart()
        t.eq(totals(d), before, "a restart, which counts them afresh, finds "
            "the same devices, items and bytes")
        r = tickctl(d, "stats")
        t.eq((r.get("devices"), r.get("queue_items"), r.get("queue_bytes")),
            before, "tickctl stats says the same")


need_tickctl()
run(main, 12)
