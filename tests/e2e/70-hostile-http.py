#!/usr/bin/python3
# Hostile HTTP clients: a connection that pipelines requests and never
# reads the answers stays within max_output_bytes of tickd's memory and
# is closed once nothing leaves for handshake_timeout; request heads that
# smuggle a second request behind a proxy (a blank before the colon,
# obsolete line folding, a NUL in a header) are refused with 400 and the
# connection closed.

import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


# AddressSanitizer's quarantine keeps freed memory: growth means nothing.
with open(TICKD or "/dev/null", "rb") as _f:
    ASAN = b"__asan_init" in _f.read()


def vm_rss(d):
    """tickd's VmRSS in bytes."""
    with open(f"/proc/{d.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def flood(d, request, total, budget):
    """Sends request over and over on one connection that never reads,
    until total bytes are out or the socket stayed full for budget
    seconds; the socket and the bytes sent."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", d.port))
    s.setblocking(False)
    chunk = request * (65536 // len(request))
    sent = 0
    idle_since = time.monotonic()
    while sent < total and time.monotonic() - idle_since < budget:
        _, w, _ = select.select([], [s], [], 0.2)
        if not w:
            continue
        try:
            n = s.send(chunk)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += n
        idle_since = time.monotonic()
    return s, sent


def closed_within(s, timeout):
    """Reads and discards until EOF or reset; whether one came in time."""
    s.setblocking(True)
    s.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def raw_exchange(d, data, timeout=5):
    """Sends data on a new connection; everything tickd answers until it
    closes, and whether it closed within timeout."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=timeout)
    s.sendall(data)
    out = b""
    closed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    return out, closed


def statuses(raw):
    return [int(line.split()[1]) for line in raw.split(b"\r\n")
        if line.startswith(b"HTTP/1.1 ")]


SMUGGLE = [
    ("a blank before the colon of Content-Length",
     b"POST /v1/logout HTTP/1.1\r\nHost: x\r\nContent-Length : 38\r\n\r\n"
     b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("a tab before the colon of a header",
     b"GET /healthz HTTP/1.1\r\nHost\t: x\r\n\r\n"),
    ("obsolete line folding",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
    ("a folded Content-Length",
     b"POST /v1/logout HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tContent-Length:"
     b" 38\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("a NUL inside a header value",
     b"GET /healthz HTTP/1.1\r\nHost: x\x00junk\r\n\r\n"),
    ("a NUL in a header name",
     b"GET /healthz HTTP/1.1\r\nHo\x00st: x\r\n\r\n"),
    ("a bare CR inside a header value",
     b"GET /healthz HTTP/1.1\r\nHost: x\rjunk\r\n\r\n"),
    ("an empty header name",
     b"GET /healthz HTTP/1.1\r\n: x\r\n\r\n"),
]


async def main(t):
    d = Daemon("hostile-http", handshake_timeout="1s",
        max_output_bytes="1m")
    d.start()

    # 1: pipelined /metrics, never read.  Each answer is kilobytes, so
    # 10 MB of requests would be gigabytes of answers if nothing bounded
    # them.
    before = vm_rss(d)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    s, sent = flood(d, req, 10 * 1024 * 1024, 2.0)
    during = vm_rss(d)
    t.diag(f"pipelined {sent} bytes unread; VmRSS {before >> 20} MB "
        f"before, {during >> 20} MB after")
    if ASAN or VALGRIND:
        t.skip("memory bound", "AddressSanitizer or valgrind keeps "
            "freed memory")
    else:
        t.ok(during - before < 64 * 1024 * 1024, "unread HTTP answers stay "
            "bounded in memory (VmRSS grew less than 64 MB)",
            f"{before} -> {during} after {sent} bytes")
    # Reading is progress (it drains tickd's output), so read only once
    # handshake_timeout (1s) has passed with nothing read; a slow build
    # still renders answers for a while after the flood.
    time.sleep(5)
    t.ok(closed_within(s, 10), "the connection that reads nothing is "
        "closed after handshake_timeout without progress")
    s.close()
    r = http_request(d, "GET", "/healthz")
    t.eq(r.status, 200, "tickd still serves others")

    # A slow reader that keeps reading is served to the end.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    n = 400
    s.sendall(req * n)
    got = b""
    deadline = time.monotonic() + 30
    while got.count(b"HTTP/1.1 200 ") < n and \
            time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    t.eq(got.count(b"HTTP/1.1 200 "), n, f"a pipelining client that "
        f"reads gets all {n} answers")

    # 12: request smuggling shapes.
    for desc, data in SMUGGLE:
        out, closed = raw_exchange(d, data)
        t.ok(statuses(out) == [400] and closed, f"{desc}: one 400, "
            "then the connection is closed", f"{out!r} closed={closed}")

    # Bearer TOKEN\0junk must not log in.
    tok = token_for(d, "alice", new=True)
    ok, _ = raw_exchange(d, b"GET /v1/users/alice/last-seen HTTP/1.1\r\n"
        b"Host: x\r\nAuthorization: Bearer " + tok.encode() +
        b"\r\nConnection: close\r\n\r\n")
    bad, closed = raw_exchange(d, b"GET /v1/users/alice/last-seen "
        b"HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() +
        b"\x00junk\r\nConnection: close\r\n\r\n")
    t.ok(statuses(ok) == [200] and statuses(bad) == [400] and closed,
        "Bearer TOKEN\\0junk is a 400, not a login", f"{ok!r} {bad!r}")

    # Duplicate keys: refused in a body.
    r = http_request(d, "POST", "/v1/login",
        b'{"user":"alice","password":"x","password":"pw-alice"}',
        headers={"Content-Type": "application/json"})
    t.ok(r.status == 400 and r.error == "bad_json", "an HTTP body with a "
        "duplicate key is 400 bad_json", f"{r!r}")
    t.ok(d.running(), "tickd survived")
    d.stop()


run(main, 7 + len(SMUGGLE))
