#!/usr/bin/python3
# tickd(8) HEALTH AND METRICS: tickd_queue_oldest_age_seconds, the age of
# the oldest item of all queues, kept as commits happen: it grows while an
# offline device's items wait, newer items in another queue do not lower
# it, deleting the device or acking the items moves it on to the next
# oldest queue, a restart finds it again from the stored timestamps, and
# it is 0 once everything is acked.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl  # noqa: E402

AGE = "tickd_queue_oldest_age_seconds"
SLACK = 0.25


def age(d):
    return metrics(d)[AGE]


def age_of(d, batch):
    """The gauge, and whether it is the age of batch, a (start, end) of
    sends by the test's clock, give or take SLACK."""
    t0 = time.time()
    v = age(d)
    t1 = time.time()
    return v, t0 - batch[1] - SLACK <= v <= t1 - batch[0] + SLACK


async def send(a, to, n, tag):
    """n messages to an offline device; when they were sent."""
    start = time.time()
    for i in range(n):
        s = await a.request({"op": "send", "to": to, "id": f"{tag}{i}",
            "body": f"{tag} {i}"})
        if not s or s.get("op") != "sent":
            raise Failure(f"send to {to}: {s!r}")
    return start, time.time()


async def drain(d, token, name):
    """Connect as a device and ack what it holds; how many it acked."""
    c = await Client.connect(d, token, name=name)
    got = await c.collect(("msg", "receipt"), quiet=0.5)
    for f in got:
        await c.send({"op": "ack", "mid": f["mid"]})
    await c.expect_nothing(0.3)
    await c.close()
    return len(got)


async def main(t):
    with Daemon("queue-age") as d:
        t.eq(age(d), 0, "an empty store: the gauge is 0")
        ta = token_for(d, "alice", device="phone", new=True)
        token_for(d, "dave", device="phone", new=True)
        tb = token_for(d, "bob", device="phone", new=True)
        tc = token_for(d, "carol", device="phone", new=True)
        a = await Client.connect(d, ta, name="alice")

        dave = await send(a, "dave", 1, "d")
        time.sleep(1.0)
        bob = await send(a, "bob", 2, "b")
        time.sleep(2.2)
        first, ok = age_of(d, dave)
        t.ok(ok and first >= 3.2, "dave's item, sent 3.2 s ago to an "
            "offline device, is that old", first)

        carol = await send(a, "carol", 2, "c")
        second = age(d)
        t.ok(second >= first, "newer items in carol's queue do not lower "
            "it", (first, second))

        r = tickctl(d, "device", "del", "dave", "phone")
        t.ok(r.ok, "device del dave phone", r)
        v, ok = age_of(d, bob)
        t.ok(ok and v < second, "with dave's queue gone it is the age of "
            "bob's items", (second, v))

        acked = await drain(d, tb, "bob")
        v, ok = age_of(d, carol)
        t.ok(acked == 2 and ok, "bob acks his 2 items: it is the age of "
            "carol's", (acked, v))

        await a.close()
        time.sleep(1.5)
        before = age(d)
        d.restart()
        after, ok = age_of(d, carol)
        t.ok(ok and before >= 1.5 and after >= before,
            "a restart with items queued finds their stored age",
            (before, after))

        n = await drain(d, tc, "carol")
        t.eq(n, 2, "carol acks her 2 items")
        t.ok(age(d) > 0, "alice's receipts are still queued", age(d))
        await drain(d, ta, "alice")
        m = metrics(d)
        t.eq((m["tickd_queue_items"], m[AGE]), (0, 0),
            "every queue acked: no items, and the gauge is 0")


need_tickctl()
run(main, 10)
