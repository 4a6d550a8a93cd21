#!/usr/bin/python3
# Hostile RESP clients, bounded by what their buffers really hold in
# tickd's memory (tickd.conf(5) max_output_bytes, resp_max_query): a
# client pipelining PING without reading is paused, then closed, while
# tickd's VmRSS stays within a small multiple of max_output_bytes and
# comes back once it left; a multibulk of a great many empty arguments
# is counted with its argument vector and closed at resp_max_query
# without a reply.

import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

MB = 1024 * 1024
OUTPUT = 8 * MB		# max_output_bytes, its default
QUERY = 16 * MB		# resp_max_query

# AddressSanitizer's quarantine keeps freed memory, ThreadSanitizer's
# shadow grows with the heap: growth means nothing.
with open(TICKD or "/dev/null", "rb") as _f:
    _bin = _f.read()
    ASAN = b"__asan_init" in _bin or b"__tsan_init" in _bin


def status(d, key):
    """A line of tickd's /proc/PID/status in bytes (VmRSS, VmHWM)."""
    with open(f"/proc/{d.proc.pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def settled_rss(d):
    """VmRSS once it stopped moving for a moment (replies leaving)."""
    last = status(d, "VmRSS")
    for _ in range(20):
        time.sleep(0.25)
        now = status(d, "VmRSS")
        if abs(now - last) < MB:
            return now
        last = now
    return last


def flood(port, data, budget):
    """Sends data over and over on one connection that never reads,
    until the socket stayed full for budget seconds or tickd closed it;
    the socket, the bytes sent and whether it was closed."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    chunk = data * (65536 // len(data))
    sent = 0
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < budget:
        _, w, _ = select.select([], [s], [], 0.2)
        if not w:
            continue
        try:
            n = s.send(chunk)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return s, sent, True
        sent += n
        idle_since = time.monotonic()
    return s, sent, False


def closed_silently(s, timeout):
    """Reads until EOF or reset; what came and whether it closed."""
    s.setblocking(True)
    s.settimeout(0.5)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return got, True
        if not chunk:
            return got, True
        got += chunk
    return got, False


def ping_ok(d):
    c = d.conn(timeout=10)
    try:
        return c.cmd("PING") == "PONG"
    finally:
        c.close()


async def main(t):
    d = RespDaemon("hostile-resp", resp_max_query="16m",
        max_output_bytes="8m")
    d.start()
    skip = ASAN or VALGRIND
    ping_ok(d)
    base = settled_rss(d)

    # A pipeline of PINGs never read: each +PONG is 7 bytes, and each
    # held in a buffer of its own was once a kilobyte of tickd's memory.
    s, sent, closed = flood(d.resp_port, b"PING\r\n", 3.0)
    during = status(d, "VmRSS")
    hwm = status(d, "VmHWM")
    t.diag(f"PING flood: {sent} bytes sent unread; VmRSS {base >> 20} MB "
        f"before, {during >> 20} MB during, VmHWM {hwm >> 20} MB")
    t.ok(closed or sent < 64 * MB, "the client that reads nothing is "
        "paused (tickd stops reading it) or closed",
        f"{sent} bytes sent, closed={closed}")
    bound = base + 3 * OUTPUT + 16 * MB
    if skip:
        t.skip("memory bound", "a sanitizer or valgrind keeps memory")
    else:
        t.ok(hwm < bound, f"VmHWM stays below 3 x max_output_bytes + "
            f"16 MB over the {base >> 20} MB baseline",
            f"VmHWM {hwm} >= {bound}")
    t.ok(ping_ok(d), "tickd serves another client meanwhile")
    s.close()
    time.sleep(0.5)
    after = settled_rss(d)
    t.diag(f"after the client left: VmRSS {after >> 20} MB")
    if skip:
        t.skip("memory returned", "a sanitizer or valgrind keeps "
            "memory")
    else:
        t.ok(after < base + 16 * MB, "the memory is returned once it left "
            "(VmRSS within 16 MB of the baseline)",
            f"{base} -> {after}")

    # A million empty arguments are 6 bytes of input each, but an
    # allocation and a slot of the argument vector in tickd: counted so,
    # they pass resp_max_query (16 MB) long before the command is whole.
    base = settled_rss(d)
    c = d.conn(timeout=30)
    n = 1000000
    try:
        c.send_raw(b"*%d\r\n" % n + b"$0\r\n\r\n" * n)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got, closed = closed_silently(c.sock, 30)
    hwm = status(d, "VmHWM")
    during = status(d, "VmRSS")
    c.close()
    t.diag(f"*{n} of empty arguments: VmRSS {base >> 20} MB before, "
        f"{during >> 20} MB at the end, VmHWM {hwm >> 20} MB")
    t.ok(closed and got == b"", "a multibulk of a million empty "
        "arguments is closed at resp_max_query without a reply",
        f"closed={closed} {got[:80]!r}")
    t.ok(ping_ok(d), "tickd serves another client afterwards")
    after = settled_rss(d)
    t.diag(f"after it left: VmRSS {after >> 20} MB")
    if skip:
        t.skip("memory returned", "a sanitizer or valgrind keeps "
            "memory")
    else:
        t.ok(after < base + 2 * QUERY, "the arguments' memory is returned "
            "once it left (VmRSS within 2 x resp_max_query of the baseline)",
            f"{base} -> {after}")

    # Under the limit, a command of many small arguments still runs.
    c = d.conn(timeout=30)
    n = 20000
    c.send_raw(b"*%d\r\n$4\r\nECHO\r\n" % (n + 1) + b"$1\r\nx\r\n" * n)
    r = c.reply()
    c.close()
    t.ok(isinstance(r, Error) and "wrong number of arguments" in r,
        f"a command of {n} one-byte arguments is parsed and answered",
        f"{r!r}")
    t.ok(d.running(), "tickd survived")
    d.stop()

    # The smallest resp_max_query still takes an argument of resp_max_bulk
    # with more of the command behind it in the same read.
    d = RespDaemon("hostile-resp-min", resp_max_bulk="512k",
        resp_max_query="576k")
    d.start()
    c = d.conn(timeout=30)
    big = b"z" * (512 * 1024)
    whole = b"*3\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n$1\r\nx\r\n" % (
        len(big), big)
    c.send_raw(whole[:-1])
    time.sleep(0.3)
    c.send_raw(whole[-1:])
    r = c.reply()
    c.close()
    t.ok(isinstance(r, Error) and "wrong number of arguments" in r,
        "an argument of resp_max_bulk fits the smallest resp_max_query",
        f"{r!r}")
    d.stop()


run(main, 10, timeout=120)
