#!/usr/bin/python3
# tickd(8) SYSTEMD: the sd_notify(3) protocol without libsystemd.  A Python
# AF_UNIX datagram socket stands for systemd's, at a path and in the
# abstract namespace ("@name"): READY=1 with MAINPID once tickd serves,
# RELOADING=1 then READY=1 around a SIGHUP, WATCHDOG=1 about every half of
# $WATCHDOG_USEC, none when $WATCHDOG_PID names another process, and
# STOPPING=1 on SIGTERM.

import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def collect(sock, seconds):
    """The datagrams received within seconds, as strings."""
    out = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            out.append(sock.recv(4096).decode())
        except socket.timeout:
            return out


def wait_for(sock, pred, seconds=10):
    """Datagrams until one satisfies pred; all of them, or None."""
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(deadline - time.monotonic())
        try:
            m = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(m)
        if pred(m):
            return got
    return None


def start_with(d, env):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        d.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def fields(msg):
    return dict(line.split("=", 1) for line in msg.split("\n") if line)


async def main(t):
    with Daemon("notify") as d:
        d.stop()
        path = os.path.join(d.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        start_with(d, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        got = wait_for(sock, lambda m: "READY=1" in m)
        t.ok(got is not None, "READY=1 to a path socket", got)
        ready = fields(got[-1]) if got else {}
        t.eq(ready.get("MAINPID"), str(d.proc.pid), "with MAINPID")
        msgs = collect(sock, 1.5)
        dogs = msgs.count("WATCHDOG=1")
        t.ok(3 <= dogs <= 12, "WATCHDOG=1 about every 200 ms "
            "(WATCHDOG_USEC 400000)", f"{dogs} in 1.5 s: {msgs}")
        d.signal(signal.SIGHUP)
        got = wait_for(sock, lambda m: m.startswith("READY=1"))
        states = [m.split("\n")[0] for m in (got or [])
            if m != "WATCHDOG=1"]
        t.eq(states, ["RELOADING=1", "READY=1"],
            "SIGHUP: RELOADING=1 then READY=1")
        rel = [fields(m) for m in (got or []) if m.startswith("RELOADING")]
        t.ok(rel and rel[0].get("MONOTONIC_USEC", "").isdigit(),
            "RELOADING=1 carries MONOTONIC_USEC", rel)
        d.signal(signal.SIGTERM)
        got = wait_for(sock, lambda m: m == "STOPPING=1")
        t.ok(got is not None, "SIGTERM: STOPPING=1", got)
        t.eq(d.wait(), 0, "exits 0")
        after = [m for m in collect(sock, 0.3)]
        t.ok(all(m == "WATCHDOG=1" for m in after) and len(after) <= 1,
            "nothing but a last ping after STOPPING=1", after)
        sock.close()

        name = f"tickd-test-{os.getpid()}-{time.monotonic_ns()}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind("\0" + name)
        start_with(d, {"NOTIFY_SOCKET": "@" + name,
            "WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"})
        got = wait_for(sock, lambda m: "READY=1" in m)
        t.ok(got is not None, "READY=1 to an abstract socket (@name)", got)
        msgs = collect(sock, 1.0)
        t.eq(msgs.count("WATCHDOG=1"), 0,
            "no WATCHDOG=1 when WATCHDOG_PID is another process")
        t.eq(d.stop(), 0, "stops")
        sock.close()

        start_with(d, {"NOTIFY_SOCKET": os.path.join(d.dir, "none.sock")})
        t.eq(http_request(d, "GET", "/healthz").status, 200,
            "a NOTIFY_SOCKET nobody listens on does not stop tickd")
        t.eq(d.stop(), 0, "and it stops cleanly")


run(main, 13)
