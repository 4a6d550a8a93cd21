#!/usr/bin/python3
# tickd(8) HEALTH AND METRICS: tickd -V, tickctl version, the version in
# tickctl stats and /metrics, the process_* gauges, HEAD /healthz and
# /healthz?verbose.

import json
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl, TICKCTL  # noqa: E402


def raw_http(d, request):
    """Send raw request bytes, read until the peer closes."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    try:
        s.sendall(request)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk
    finally:
        s.close()


async def main(t):
    p = subprocess.run([TICKD, "-V"], capture_output=True, timeout=10)
    version = p.stdout.decode().strip()
    t.ok(p.returncode == 0 and version.startswith("tickd ") and
        len(version.split()) == 2, "tickd -V prints tickd VERSION",
        repr(p))
    version = version.split()[-1]
    p = subprocess.run([TICKCTL, "version"], capture_output=True,
        timeout=10)
    t.eq(p.stdout.decode(), f"tickctl {version}\n",
        "tickctl version prints tickctl VERSION without a daemon")
    t.eq(p.returncode, 0, "tickctl version exits 0")

    with Daemon() as d:
        c = tickctl(d, "stats")
        t.eq(c.get("version"), version, "tickctl stats has the version")
        c = tickctl(d, "stats", json_out=False)
        t.ok(f"tickd {version}" in c.out, "tickctl stats prints it", c)

        r = http_request(d, "GET", "/metrics")
        text = r.raw.decode()
        t.ok(f'tickd_build_info{{version="{version}"}} 1' in text.split("\n"),
            "tickd_build_info{version} 1 in /metrics")
        m = metrics(d)
        start = m.get("process_start_time_seconds", 0)
        t.ok(time.time() - 120 < start <= time.time(),
            "process_start_time_seconds is when it started", start)
        with open(f"/proc/{d.proc.pid}/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        got = m.get("process_resident_memory_bytes", 0)
        t.ok(rss / 2 < got < rss * 2,
            "process_resident_memory_bytes near /proc's", (got, rss))
        fds = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
        got = m.get("process_open_fds", 0)
        t.ok(abs(got - fds) <= 3, "process_open_fds near /proc's",
            (got, fds))
        held = [socket.create_connection(("127.0.0.1", d.port))
            for _ in range(10)]
        time.sleep(0.2)
        got2 = metrics(d).get("process_open_fds", 0)
        t.ok(got2 >= got + 10, "process_open_fds counts new connections",
            (got, got2))
        for s in held:
            s.close()

        get = raw_http(d, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n")
        head = raw_http(d, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n")
        ghead, _, gbody = get.partition(b"\r\n\r\n")
        hhead, _, hbody = head.partition(b"\r\n\r\n")
        t.ok(hhead.startswith(b"HTTP/1.1 200 "), "HEAD /healthz: 200",
            head)
        t.eq(hbody, b"", "HEAD /healthz has no body")
        t.eq(hhead, ghead, "HEAD /healthz has GET's head, Content-Length "
            "included")
        t.eq(gbody, b"ok\n", "GET /healthz still answers ok")
        two = raw_http(d, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.ok(two.count(b"HTTP/1.1 200 ") == 2 and two.endswith(b"\r\n\r\nok\n"),
            "HEAD then GET on one connection: two answers, one body", two)

        r = http_request(d, "GET", "/healthz?verbose")
        v = r.json if isinstance(r.json, dict) else {}
        t.eq(r.status, 200, "GET /healthz?verbose: 200")
        t.ok(r.headers.get("Content-Type", "").startswith(
            "application/json"), "?verbose is JSON")
        t.eq(v.get("status"), "ok", "status ok")
        t.eq(v.get("version"), version, "version")
        t.ok(isinstance(v.get("store_used_bytes"), int) and
            isinstance(v.get("store_map_bytes"), int) and
            0 < v["store_used_bytes"] <= v["store_map_bytes"],
            "store used and map bytes", v)
        t.ok(isinstance(v.get("store_fill"), float) and
            0 < v["store_fill"] < 1, "store_fill", v)
        t.eq(v.get("audit"), "off", "audit off without audit_pg")
        register(d, "alice")
        v = http_request(d, "GET", "/healthz?verbose").json
        t.ok(isinstance(v.get("last_commit_seconds"), float) and
            v["last_commit_seconds"] > 0,
            "last_commit_seconds after a commit", v)
        r = http_request(d, "POST", "/healthz", "x")
        t.eq(r.status, 405, "POST /healthz: 405")


need_tickctl()
run(main, 24)
