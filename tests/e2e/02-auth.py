#!/usr/bin/python3
# Session start, tickd-protocol(7) SESSION: the three ways to authenticate, the
# ready frame, bad tokens, auth_timeout, replaced connections, subprotocol.

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def ready_problems(c, user, device, before):
    f = c.ready or {}
    probs = []
    if f.get("user") != user or f.get("device") != device:
        probs.append(f"expected user {user!r} device {device!r}")
    tm = f.get("time")
    if not isinstance(tm, int) or not before - 1000 <= tm <= now_ms() + 1000:
        probs.append(f"time {tm!r} is not now in Unix ms (now {before})")
    return probs + ([f"got {f!r}"] if probs else [])


async def bad_token(t, d, how, token):
    c = await Client.connect(d, token, how=how, ready=False, name=how)
    f = await c.recv_op(("error", "ready"), 3)
    code = await c.wait_closed(3)
    t.ok(f is not None and f.get("op") == "error" and
        f.get("code") == "bad_token" and code == 1008,
        f"a bad token by {how}: upgrade, error bad_token, close 1008",
        f"frame {f!r}, close code {code!r}")


async def main(t):
    with Daemon(auth_timeout="1s") as d:
        tok = token_for(d, "alice", new=True)

        for how in ["header", "query", "frame"]:
            before = now_ms()
            c = await Client.connect(d, tok, how=how, name=how)
            probs = ready_problems(c, "alice", "default", before)
            t.ok(not probs, f"auth by {how}: ready with user, device, time",
                probs)
            await c.close()

        c = await Client.connect(d, tok, subprotocols=["tick.v1"])
        t.eq(c.ws.subprotocol, "tick.v1", "subprotocol tick.v1 is accepted")
        await c.close()

        c = await Client.connect(d, name="unauthenticated")
        e1 = await c.request({"op": "ping", "ref": "r1"})
        e2 = await c.request({"op": "send", "to": "alice", "id": "x",
            "body": 1, "ref": 7})
        await c.send({"op": "auth", "token": tok})
        rd = await c.recv_op("ready", 3)
        e1, e2 = e1 or {}, e2 or {}
        t.ok(e1.get("op") == "error" and e1.get("code") == "not_authenticated"
            and e1.get("ref") == "r1" and e2.get("op") == "error" and
            e2.get("code") == "not_authenticated" and e2.get("ref") == 7 and
            e2.get("id") == "x" and rd is not None,
            "ops before auth get not_authenticated with ref; auth then works",
            f"ping: {e1!r}\nsend: {e2!r}\nready: {rd!r}")
        await c.close()

        await bad_token(t, d, "header", "0" * 64)
        await bad_token(t, d, "query", "not a token")
        await bad_token(t, d, "frame", "0" * 64)

        start = time.monotonic()
        c = await Client.connect(d, name="silent")
        code = await c.wait_closed(5)
        took = time.monotonic() - start
        t.ok(code == 1008 and 0.5 <= took <= 4,
            "no auth within auth_timeout (1s): close 1008",
            f"close code {code!r} after {took:.2f} s")

        # the same device again replaces the first connection
        c1 = await Client.connect(d, tok, name="first")
        tok2 = token_for(d, "alice")
        c2 = await Client.connect(d, tok2, name="second")
        code = await c1.wait_closed(3)
        pong = await c2.request({"op": "ping"})
        t.ok(code == 4000 and (pong or {}).get("op") == "pong",
            "a second connection of the same device closes the first "
            "with 4000",
            f"first closed with {code!r}; second answered {pong!r}")

        tp = token_for(d, "alice", "phone")
        c3 = await Client.connect(d, tp, name="phone")
        left = await c2.expect_nothing(0.5)
        pong = await c2.request({"op": "ping"})
        t.ok(c2.close_code is None and (pong or {}).get("op") == "pong" and
            c3.ready.get("device") == "phone",
            "another device of the same user leaves the first connected",
            f"default got {left!r}, close {c2.close_code!r}, ping {pong!r}")
        await c2.close()
        await c3.close()

        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")

    with Daemon(name="ttl", token_ttl="2s") as d2:
        tok = token_for(d2, "bob", new=True)
        c = await Client.connect(d2, tok, name="fresh")
        await c.close()
        await asyncio.sleep(2.5)
        await bad_token(t, d2, "header", tok)


run(main, 13)
