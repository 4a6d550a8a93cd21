#!/usr/bin/python3
# The control socket's wire format (tickd-control.h), spoken raw: one JSON
# line per request and per reply, every reply carrying the version; another
# version or a line that is not a request is answered, then closed; bad
# commands are answered and the connection stays; at most 8 connections
# per uid; a write is answered only once committed, so a tickd killed right
# after the answer still has it.

import asyncio
import json
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403


def req(cmd, args=None, v=1):
    o = {"v": v, "cmd": cmd}
    if args is not None:
        o["args"] = args
    return json.dumps(o) + "\n"


async def main(t):
    with Daemon() as d:
        r, closed = raw_request(d, req("user list"))
        t.ok(r == {"v": 1, "ok": True, "users": []} and not closed,
            "a request gets one JSON line with v and ok; the connection "
            "stays open", f"{r!r} closed={closed}")
        r, closed = raw_request(d, req("user list", v=2))
        t.ok(r and r.get("v") == 1 and r.get("ok") is False and
            "version 2" in r.get("error", "") and closed,
            "another protocol version is refused and the connection "
            "closed", f"{r!r} closed={closed}")
        r, closed = raw_request(d, "this is not json\n")
        t.ok(r and r.get("ok") is False and closed,
            "a line that is not a request is answered, then closed",
            f"{r!r} closed={closed}")
        r, closed = raw_request(d, req("user frobnicate"))
        t.ok(r and r.get("ok") is False and "unknown command" in
            r.get("error", "") and not closed,
            "an unknown command is an error; the connection stays",
            f"{r!r} closed={closed}")
        r, closed = raw_request(d, req("user show", ["a", "b"]))
        t.ok(r and r.get("ok") is False and "takes 1 argument" in
            r.get("error", ""), "a wrong number of arguments is an "
            "error", f"{r!r}")
        r, closed = raw_request(d, req("user show", [7]))
        t.ok(r and r.get("ok") is False and "strings" in
            r.get("error", ""), "arguments must be strings", f"{r!r}")
        r, closed = raw_request(d, "x" * 70000 + "\n")
        t.ok(r and r.get("ok") is False and "longer than" in
            r.get("error", "") and closed, "a request line over 64 KiB "
            "is refused and closed", f"{r!r} closed={closed}")

        # Two requests in one write get two replies, in order.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(d.conf["control_socket"])
        s.sendall((req("user add", ["zoe", "pw"]) +
            req("user show", ["zoe"])).encode())
        buf = b""
        while buf.count(b"\n") < 2:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.close()
        lines = [json.loads(x) for x in buf.split(b"\n") if x]
        t.ok(len(lines) == 2 and lines[0].get("user") == "zoe" and
            lines[1].get("user") == "zoe" and
            isinstance(lines[1].get("devices"), list),
            "pipelined requests are answered in order, the second "
            "seeing the first's write", lines)

        # The per-uid cap.
        held = []
        for i in range(8):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(d.conf["control_socket"])
            held.append(c)
        r = tickctl(d, "stats")
        t.ok(r.one_error_line("too many control connections for uid"),
            "a ninth connection of one uid is refused", r)
        for c in held:
            c.close()
        await asyncio.sleep(0.3)
        r = tickctl(d, "stats")
        t.ok(r.ok, "once they close, tickctl gets in again", r)

        # Answered means committed: kill -9 right after the answer.
        r = tickctl(d, "user", "add", "durable", "--stdin", stdin="pw\n")
        d.kill()
        d.start()
        t.ok(r.ok and login(d, "durable", "pw").status == 200,
            "a user added just before a kill -9 is there after restart",
            r)
        r = tickctl(d, "user", "del", "durable")
        d.kill()
        d.start()
        t.ok(r.ok and login(d, "durable", "pw").status == 401,
            "a user deleted just before a kill -9 stays deleted", r)
        r = tickctl(d, "verify")
        t.ok(r.ok and r.get("consistent") is True, "the store is "
            "consistent after the kills", r)
        t.eq(d.stop(), 0, "the daemon stops")
        t.ok(not os.path.exists(d.conf["control_socket"]),
            "the control socket is removed at exit")


need_tickctl()
run(main, 15)
