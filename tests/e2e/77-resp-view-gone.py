#!/usr/bin/python3
# A redis-py client parked in XREADGROUP ... BLOCK 0 on a device's queue:
# view is woken with UNBLOCKED when that device goes away other than with
# tickctl (71-resp-unblock.py): by POST /v1/logout, by the device_ttl
# sweep, and by a login that renames the account's lone unclaimed
# "default" (tickd-resp(7) BLOCKING).  A parked XREAD stays parked until
# its timeout, as on a deleted Redis stream.

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

try:
    import redis
except ImportError:
    redis = None

UNBLOCKED = "UNBLOCKED the stream key no longer exists"


class Parked(threading.Thread):
    """One redis-py call on a connection of its own, in a thread: the
    reply (or error) it got, once done."""

    def __init__(self, d, *cmd):
        super().__init__(daemon=True)
        self.r = redis.Redis(host="127.0.0.1", port=d.resp_port,
            decode_responses=True, socket_timeout=30)
        self.cmd = cmd
        self.result = None
        self.done = threading.Event()
        self.start()

    def run(self):
        try:
            self.result = self.r.execute_command(*self.cmd)
        except redis.exceptions.ResponseError as e:
            self.result = f"error: {e}"
        except redis.exceptions.RedisError as e:
            self.result = f"failed: {e!r}"
        self.done.set()
        self.r.close()


def group_read(d, key):
    return Parked(d, "XREADGROUP", "GROUP", "tickd", "c", "BLOCK", "0",
        "STREAMS", key, ">")


def parked_count(d):
    r = redis.Redis(host="127.0.0.1", port=d.resp_port,
        decode_responses=True, socket_timeout=10)
    try:
        return r.info("clients").get("blocked_clients")
    finally:
        r.close()


def wait_parked(d, n, timeout=10):
    """Waits until n clients are parked; whether they were."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if parked_count(d) == n:
            return True
        time.sleep(0.05)
    return False


async def main(t):
    if redis is None:
        t.skip("all", "python3-redis is not installed")
        return
    with RespDaemon("view-gone") as d:
        # POST /v1/logout of the device whose queue is read.
        token_for(d, "bob", new=True)
        tok = token_for(d, "bob", device="phone")
        p = group_read(d, "queue:bob:phone")
        q = Parked(d, "XREAD", "BLOCK", "1500", "STREAMS", "queue:bob:phone",
            "$")
        t.ok(wait_parked(d, 2), "two readers parked on queue:bob:phone")
        r = logout(d, tok)
        t.eq(r.status, 204, "POST /v1/logout of bob's phone")
        t.ok(p.done.wait(10) and p.result == f"error: {UNBLOCKED}",
            "the parked XREADGROUP is woken with UNBLOCKED by the logout",
            f"{p.result!r}")
        # redis-py gives the nil reply of XREAD as [].
        t.ok(q.done.wait(10) and q.result == [], "the parked XREAD "
            "answers nil at its timeout, as on a deleted stream",
            f"{q.result!r}")
        t.ok(wait_parked(d, 0), "nobody is left parked")

        # A login naming a new device renames the lone unclaimed
        # "default": its queue: view is gone under that name.
        r = register(d, "carol")
        t.eq(r.status, 201, "carol registered, her default unclaimed")
        p = group_read(d, "queue:carol:default")
        t.ok(wait_parked(d, 1), "a reader parked on queue:carol:default")
        r = login(d, "carol", device="laptop")
        t.eq(r.status, 200, "carol logs in as laptop")
        t.ok(p.done.wait(10) and p.result == f"error: {UNBLOCKED}",
            "the parked XREADGROUP is woken with UNBLOCKED by the rename",
            f"{p.result!r}")

        # A reader of a device that stays is not disturbed by logouts.
        token_for(d, "dave", new=True)
        token_for(d, "dave", device="tab")
        p = group_read(d, "queue:dave:default")
        t.ok(wait_parked(d, 1), "a reader parked on queue:dave:default")
        t.eq(logout(d, token_for(d, "dave", device="tab")).status, 204,
            "dave's tab logs out")
        time.sleep(0.5)
        t.ok(not p.done.is_set(), "the reader of dave's default stays "
            "parked", f"{p.result!r}")
        c = d.conn()
        c.cmd("XADD", "inbox:dave", "*", "from", "bob", "body", "hi")
        c.close()
        t.ok(p.done.wait(10) and isinstance(p.result, list) and
            p.result[0][0] == "queue:dave:default",
            "and is served the next message", f"{p.result!r}")
        t.eq(d.stop(), 0, "tickd stops cleanly on SIGTERM")

    # The device_ttl sweep removes an idle device as by a logout.
    with RespDaemon("view-gone-ttl", device_ttl="2s", message_ttl="1h") as d:
        token_for(d, "erin", new=True)
        token_for(d, "erin", device="old")
        p = group_read(d, "queue:erin:old")
        t.ok(wait_parked(d, 1), "a reader parked on queue:erin:old")
        t.ok(p.done.wait(20) and p.result == f"error: {UNBLOCKED}",
            "the parked XREADGROUP is woken with UNBLOCKED when the sweep "
            "removes the idle device", f"{p.result!r}")
        t.ok("device erin:old removed after device_ttl" in d.tail(50),
            "the sweep removed it", d.tail(5))
        t.eq(d.stop(), 0, "tickd stops cleanly on SIGTERM")


run(main, 18, timeout=90)
