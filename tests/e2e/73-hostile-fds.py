#!/usr/bin/python3
# Out of descriptors: with RLIMIT_NOFILE at 64 and a hundred connections
# waiting, tickd neither spins nor floods its log with "Too many open
# files"; it keeps serving the clients it has, says at startup that
# max_connections does not fit the limit, and accepts again once
# descriptors are free.  RESP connections count in max_connections and
# max_connections_per_ip like every other kind.

import os
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import RespDaemon  # noqa: E402

NOFILE = 64


class LimitedDaemon(RespDaemon):
    """A tickd started under prlimit --nofile."""

    def command(self, *args):
        return ["prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"] + \
            super().command(*args)


def log_lines(d, needle):
    with open(d.log_path, errors="replace") as f:
        return sum(needle in line for line in f)


async def main(t):
    if not shutil.which("prlimit"):
        for i in range(7):
            t.skip("descriptor exhaustion", "no prlimit")
        return
    d = LimitedDaemon("hostile-fds", max_connections="1000",
        max_connections_per_ip="1000")
    d.start()
    t.ok(log_lines(d, "RLIMIT_NOFILE") >= 1, "startup warns that "
        "max_connections exceeds what RLIMIT_NOFILE leaves", d.tail())
    ta = token_for(d, "alice", new=True)
    a = await Client.connect(d, ta, name="alice")

    socks = []
    for i in range(100):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", d.port if i % 2 else d.resp_port))
        socks.append(s)
    await asyncio.sleep(3)
    lines = log_lines(d, "Too many open files")
    t.diag(f"{lines} log lines about descriptors in 3 s of exhaustion")
    t.ok(0 < lines <= 3, "exhaustion is logged, at most once per "
        "interval", d.tail())
    r = await a.request({"op": "ping", "ref": "p"})
    t.ok(r is not None and r.get("op") == "pong", "a connected client is "
        "still served", f"{r!r}")
    for s in socks:
        s.close()
    await asyncio.sleep(1)
    t.eq(http_request(d, "GET", "/healthz").status, 200, "tickd accepts "
        "again once descriptors are free")
    await a.close()
    d.stop()

    # 9: RESP connections count.
    d = RespDaemon("hostile-count", max_connections="6",
        max_connections_per_ip="4")
    d.start()
    # The readiness probe's connection must be gone before counting.
    await asyncio.sleep(1)
    rs = [d.conn() for _ in range(4)]
    pongs = [c.cmd("PING") for c in rs]
    refused = None
    try:
        refused = http_request(d, "GET", "/healthz", timeout=3).status
    except OSError as e:
        refused = type(e).__name__
    t.ok(pongs == ["PONG"] * 4 and refused != 200, "four RESP clients "
        "fill max_connections_per_ip 4: an HTTP client is refused",
        f"{pongs!r} {refused!r}")
    extra = d.conn()
    try:
        got = extra.cmd("PING")
    except Failure as e:
        got = str(e)
    t.ok(got != "PONG", "a fifth RESP client from the address is refused",
        f"{got!r}")
    for c in rs + [extra]:
        c.close()
    await asyncio.sleep(0.5)
    c = d.conn()
    t.eq(c.cmd("PING"), "PONG", "once they left, RESP clients are "
        "accepted again")
    c.close()
    d.stop()


run(main, 7, timeout=90)
