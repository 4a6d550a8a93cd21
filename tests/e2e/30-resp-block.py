#!/usr/bin/env python3
# BLOCKing XREAD and XREADGROUP on the RESP shim (tickd-resp(7)): a parked
# client does not stop the server, is woken by a write to its stream with what
# redis-server 7.0 would answer, times out with nil, keeps its pipelined
# commands for after, goes first-come first-served, gets NOGROUP when its group
# goes, answers at once inside MULTI, and is forgotten when it disconnects.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403


def scenario(srv, steps):
    """Runs steps on fresh connections to one server: ("send", n, cmd)
    sends without reading, ("cmd", n, cmd) sends and reads, ("reply", n)
    reads a reply, ("sleep", s).  Returns what was read, in order."""
    conns, out = {}, []

    def conn(n):
        if n not in conns:
            conns[n] = srv.conn(name=f"c{n}")
        return conns[n]
    for step in steps:
        if step[0] == "send":
            conn(step[1]).send(*step[2])
        elif step[0] == "cmd":
            out.append((step[1], conn(step[1]).cmd(*step[2])))
        elif step[0] == "reply":
            out.append((step[1], conn(step[1]).reply()))
        elif step[0] == "sleep":
            time.sleep(step[1])
    for c in conns.values():
        c.close()
    return out


SCENARIOS = [
    ("XREAD BLOCK 0 on $ is woken by XADD with just the new entry", [
        ("cmd", 0, ["XADD", "b1", "1-1", "a", "1"]),
        ("send", 1, ["XREAD", "BLOCK", "0", "STREAMS", "b1", "$"]),
        ("sleep", 0.1), ("cmd", 0, ["XADD", "b1", "2-1", "b", "2"]),
        ("reply", 1)]),
    ("XREAD BLOCK on two streams is served the one written", [
        ("send", 1, ["XREAD", "BLOCK", "0", "COUNT", "5", "STREAMS", "b2",
         "b3", "$", "$"]), ("sleep", 0.1),
        ("cmd", 0, ["XADD", "b3", "5-5", "c", "3"]), ("reply", 1)]),
    ("XREADGROUP BLOCK > is woken, and the entry is pending", [
        ("cmd", 0, ["XGROUP", "CREATE", "b4", "g", "$", "MKSTREAM"]),
        ("send", 1, ["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0",
         "STREAMS", "b4", ">"]), ("sleep", 0.1),
        ("cmd", 0, ["XADD", "b4", "1-1", "f", "v"]), ("reply", 1),
        ("cmd", 0, ["XPENDING", "b4", "g"])]),
    ("two consumers parked on one group: the first gets the first entry", [
        ("cmd", 0, ["XGROUP", "CREATE", "b5", "g", "$", "MKSTREAM"]),
        ("send", 1, ["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0",
         "STREAMS", "b5", ">"]), ("sleep", 0.05),
        ("send", 2, ["XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0",
         "STREAMS", "b5", ">"]), ("sleep", 0.1),
        ("cmd", 0, ["XADD", "b5", "1-1", "f", "v"]), ("reply", 1),
        ("cmd", 0, ["XADD", "b5", "2-1", "f", "w"]), ("reply", 2),
        ("cmd", 0, ["XPENDING", "b5", "g"])]),
    ("XGROUP DESTROY answers a parked XREADGROUP with NOGROUP", [
        ("cmd", 0, ["XGROUP", "CREATE", "b6", "g", "$", "MKSTREAM"]),
        ("send", 1, ["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0",
         "STREAMS", "b6", ">"]), ("sleep", 0.1),
        ("cmd", 0, ["XGROUP", "DESTROY", "b6", "g"]), ("reply", 1)]),
    ("a parked client's pipelined commands wait for its answer", [
        ("send", 1, ["XREAD", "BLOCK", "0", "STREAMS", "b7", "$"]),
        ("send", 1, ["PING"]), ("send", 1, ["ECHO", "after"]),
        ("sleep", 0.1), ("cmd", 0, ["XADD", "b7", "1-1", "f", "v"]),
        ("reply", 1), ("reply", 1), ("reply", 1)]),
    ("a timeout answers nil, then the pipeline goes on", [
        ("send", 1, ["XREAD", "BLOCK", "100", "STREAMS", "b8", "$"]),
        ("send", 1, ["PING"]), ("reply", 1), ("reply", 1)]),
    ("BLOCK inside MULTI answers at once", [
        ("cmd", 1, ["MULTI"]),
        ("cmd", 1, ["XREAD", "BLOCK", "0", "STREAMS", "b9", "$"]),
        ("cmd", 1, ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
         "STREAMS", "b9", ">"]), ("cmd", 1, ["EXEC"])]),
    ("a parked XREAD does not see an XADD to another key", [
        ("send", 1, ["XREAD", "BLOCK", "300", "STREAMS", "b10", "$"]),
        ("sleep", 0.05), ("cmd", 0, ["XADD", "b11", "1-1", "f", "v"]),
        ("reply", 1)]),
    ("DEL of the stream leaves the reader parked; XADD then wakes it", [
        ("cmd", 0, ["XADD", "b12", "1-1", "a", "1"]),
        ("send", 1, ["XREAD", "BLOCK", "0", "STREAMS", "b12", "$"]),
        ("sleep", 0.05), ("cmd", 0, ["DEL", "b12"]), ("sleep", 0.05),
        ("cmd", 0, ["XADD", "b12", "2-1", "b", "2"]), ("reply", 1)]),
    ("RESP3: a woken XREAD answers a map", [
        ("cmd", 1, ["HELLO", "3"]),
        ("send", 1, ["XREAD", "BLOCK", "0", "STREAMS", "b13", "$"]),
        ("sleep", 0.05), ("cmd", 0, ["XADD", "b13", "1-1", "f", "v"]),
        ("reply", 1)]),
]


def canon(v):
    if isinstance(v, Map):
        return Map((canon(k), canon(x)) for k, x in v
            if k != b"id")
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    return v


async def main(t):
    need_redis()
    redis = Redis()
    with RespDaemon() as tk:
        for desc, steps in SCENARIOS:
            a = scenario(tk, steps)
            b = scenario(redis, steps)
            t.ok(canon(a) == canon(b), desc, [f"tickd: {a!r}",
                f"redis: {b!r}"])

        # The timeout is honoured, not early and not much late.
        c = tk.conn()
        t0 = time.monotonic()
        r = c.cmd("XREAD", "BLOCK", "300", "STREAMS", "t1", "$")
        dt = time.monotonic() - t0
        t.ok(r == NilArray() and 0.28 <= dt < 2.0,
            "BLOCK 300 answers nil after 300 ms", f"{r!r} after {dt:.3f} s")

        # A parked client does not stop others from being served.
        p = tk.conn()
        p.send("XREAD", "BLOCK", "0", "STREAMS", "t2", "$")
        time.sleep(0.05)
        o = tk.conn()
        t0 = time.monotonic()
        ok = all(o.cmd("PING") == "PONG" for _ in range(50)) and \
            o.cmd("XADD", "t3", "1-1", "f", "v") == b"1-1"
        t.ok(ok and time.monotonic() - t0 < 5,
            "others are served while a client is parked")

        # Parked clients that disconnect are forgotten; the others woken.
        many = [tk.conn() for _ in range(100)]
        for m in many:
            m.send("XREAD", "BLOCK", "0", "STREAMS", "t4", "$")
        time.sleep(0.2)
        for m in many[::2]:
            m.close()
        time.sleep(0.2)
        info = o.cmd("INFO", "clients")
        t.ok(b"blocked_clients:51\r\n" in info,
            "disconnected parked clients are released (INFO counts 51 "
            "blocked)", repr(info))
        o.cmd("XADD", "t4", "1-1", "f", "v")
        woken = sum(1 for m in many[1::2] if m.reply() ==
            [[b"t4", [[b"1-1", [b"f", b"v"]]]]])
        t.eq(woken, 50, "one XADD wakes the 50 still parked")
        p.close()
        time.sleep(0.1)
        info = o.cmd("INFO", "clients")
        t.ok(b"blocked_clients:0\r\n" in info, "none is left parked",
            repr(info))
        t.eq(tk.stop(), 0, "tickd stops cleanly on SIGTERM")


run(main, len(SCENARIOS) + 6)
