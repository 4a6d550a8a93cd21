#!/usr/bin/python3
# Idempotent sends, tickd-protocol(7) MESSAGES: the same sender and id within
# dedup_window get the first reply again with dup:true and nothing is queued
# twice.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def is_dup_of(r, first, ref):
    """r repeats first (id, mid, to, ts), says dup:true, echoes ref."""
    r = r or {}
    return (r.get("op") == "sent" and r.get("dup") is True and
        r.get("ref") == ref and
        all(r.get(k) == first.get(k) for k in ("id", "mid", "to", "ts")))


def is_fresh(r):
    r = r or {}
    return r.get("op") == "sent" and r.get("dup", False) is False and \
        mid_key(r.get("mid")) is not None


async def main(t):
    with Daemon() as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        tc = token_for(d, "carol", new=True)
        a = await Client.connect(d, ta, name="alice")
        b = await Client.connect(d, tb, name="bob")
        c = await Client.connect(d, tc, name="carol")

        req = {"op": "send", "to": "bob", "id": "x1", "body": "once"}
        first = await a.request(dict(req, ref="a")) or {}
        again = await a.request(dict(req, ref="b"))
        t.ok(is_fresh(first) and is_dup_of(again, first, "b"),
            "the same id again: same mid and ts, dup:true, its own ref",
            f"first {first!r}\nagain {again!r}")

        got = await b.collect("msg", quiet=0.7)
        t.ok([m.get("mid") for m in got] == [first.get("mid")],
            "the recipient gets one copy", f"got {got!r}")

        other = await a.request(dict(req, body="changed", ref="c"))
        got = await b.collect("msg", quiet=0.5)
        t.ok(is_dup_of(other, first, "c") and not got,
            "the same id with another body is still the first send",
            f"reply {other!r}\nbob got {got!r}")

        theirs = await c.request(dict(req, body="carol's")) or {}
        got = await b.collect("msg", quiet=0.5)
        t.ok(is_fresh(theirs) and theirs.get("mid") != first.get("mid") and
            [(m.get("from"), m.get("mid")) for m in got] ==
            [("carol", theirs.get("mid"))],
            "another sender with the same id is a new message",
            f"carol's reply {theirs!r}\nbob got {got!r}")

        await b.request({"op": "ack", "mids": [first.get("mid"),
            theirs.get("mid")], "ref": 1})
        await a.close()
        a = await Client.connect(d, ta, name="alice")
        retry = await a.request(dict(req, ref="d"))
        got = await b.collect("msg", quiet=0.5)
        t.ok(is_dup_of(retry, first, "d") and not got,
            "a retry on a new connection, after the ack, is still a dup",
            f"retry {retry!r}\nbob got {got!r}")

        for cl in (a, b, c):
            await cl.close()
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")

    with Daemon(name="short", dedup_window="1s") as d2:
        ta = token_for(d2, "alice", new=True)
        tb = token_for(d2, "bob", new=True)
        a = await Client.connect(d2, ta, name="alice")
        b = await Client.connect(d2, tb, name="bob")
        req = {"op": "send", "to": "bob", "id": "y1", "body": 1}
        first = await a.request(req) or {}
        again = await a.request(dict(req, ref="now"))
        t.ok(is_fresh(first) and is_dup_of(again, first, "now"),
            "within a 1s dedup_window the same id is a dup",
            f"first {first!r}\nagain {again!r}")

        await asyncio.sleep(2.5)
        later = await a.request(dict(req, ref="later")) or {}
        got = await b.collect("msg", quiet=0.7)
        t.ok(is_fresh(later) and later.get("ref") == "later" and
            increasing([first.get("mid"), later.get("mid")]) and
            [m.get("mid") for m in got] == [first.get("mid"),
                later.get("mid")],
            "after dedup_window the same id is a new message",
            f"first {first!r}\nlater {later!r}\nbob got "
            f"{[m.get('mid') for m in got]!r}")
        await a.close()
        await b.close()


run(main, 8)
