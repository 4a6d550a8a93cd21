#!/usr/bin/python3
# Hostile WebSocket clients: a flood of pings never read stays within
# max_output_bytes of tickd's memory, authenticated or not; a frame header
# announcing more than max_frame_bytes is closed 1009 at once; a stall of
# tickd itself does not close clients that answered every ping;
# subscribing again to watched users is not refused at max_subscriptions;
# a frame with a duplicate member name is bad_json.

import os
import select
import signal
import socket
import struct
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


def ping_flood(ws, total, budget):
    """125-byte pings on ws, never reading, until total bytes are out or
    the socket stayed full for budget seconds; the bytes sent."""
    one = RawWS.frame(9, b"p" * 125)
    chunk = one * (65536 // len(one))
    s = ws.sock
    s.setblocking(False)
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
    s.setblocking(True)
    return sent


async def main(t):
    d = Daemon("hostile-ws", max_output_bytes="1m", auth_timeout="60s",
        max_subscriptions="2", max_frame_bytes="64k")
    d.start()
    ta = token_for(d, "alice", new=True)
    token_for(d, "bob", new=True)
    token_for(d, "carol", new=True)

    # 2: ping floods, before and after authentication.
    # Freed memory is reused, not returned: both floods are measured
    # against the start.
    before = vm_rss(d)
    floods = []
    for who, tok in (("an unauthenticated", None), ("an authenticated",
            ta)):
        ws = RawWS(d, tok, rcvbuf=4096)
        floods.append(ws)
        sent = ping_flood(ws, 100 * 1024 * 1024, 2.0)
        time.sleep(1)
        after = vm_rss(d)
        t.diag(f"{who} connection sent {sent} bytes of pings unread; "
            f"VmRSS {before >> 20} MB at the start, {after >> 20} MB "
            "after")
        if ASAN or VALGRIND:
            t.skip("memory bound", "AddressSanitizer or valgrind keeps "
                "freed memory")
        else:
            t.ok(after - before < 48 * 1024 * 1024, f"pongs unread by "
                f"{who} connection stay bounded in memory (VmRSS grew "
                "less than 48 MB)", f"{before} -> {after} after {sent} "
                "bytes")
    for ws in floods:
        ws.close()
    t.eq(http_request(d, "GET", "/healthz").status, 200,
        "tickd still serves others")

    # 11: a header announcing 10 MB, and no payload.
    ws = RawWS(d, ta)
    ws.recv_json()
    ws.sock.sendall(bytes([0x81, 0x80 | 127]) +
        struct.pack("!Q", 10 * 1024 * 1024) + os.urandom(4))
    code = ws.close_code(timeout=3)
    t.eq(code, 1009, "a frame header announcing more than max_frame_bytes "
        "is closed 1009 at once")
    ws.close()

    # 10: subscribing again to watched users.
    a = await Client.connect(d, ta, name="alice")
    r = await a.request({"op": "subscribe", "users": ["bob", "carol"],
        "ref": "s0"})
    codes = []
    for i in range(12):
        users = ["carol", "bob"] if i % 2 else ["bob", "bob"]
        try:
            r = await a.request({"op": "subscribe", "users": users,
                "ref": f"s{i + 1}"})
        except (Closed, websockets.ConnectionClosed):
            codes.append("closed")
            break
        codes.append(r.get("op") if r else None)
    t.eq(codes, ["ok"] * 12, "subscribing again to watched users at "
        "max_subscriptions is ok, every time")
    if codes[-1] == "closed":
        a = await Client.connect(d, ta, name="alice")
        await a.request({"op": "subscribe", "users": ["bob", "carol"]})
    r = await a.request({"op": "subscribe", "users": ["bob", "alice"],
        "ref": "new"})
    t.ok(r is not None and r.get("code") == "bad_request",
        "a user not yet watched still counts against max_subscriptions",
        f"{r!r}")

    # 12: a duplicate member name in a frame.
    await a.send('{"op":"ping","ref":"d","ref":"e"}')
    r = await a.recv_op(("pong", "error"))
    t.ok(r is not None and r.get("code") == "bad_json",
        "a frame with a duplicate member name is bad_json", f"{r!r}")
    await a.close()
    d.stop()

    # 8: a stall of tickd itself closes nobody who answers pings.
    d = Daemon("hostile-stall", ping_interval="1s")
    d.start()
    tokens = [token_for(d, f"u{i}", new=True) for i in range(10)]
    clients = [await Client.connect(d, tok, name=f"u{i}")
        for i, tok in enumerate(tokens)]
    await asyncio.sleep(1.5)
    d.signal(signal.SIGSTOP)
    await asyncio.sleep(5)
    d.signal(signal.SIGCONT)
    await asyncio.sleep(3)
    alive = 0
    for c in clients:
        try:
            r = await c.request({"op": "ping", "ref": "p"}, timeout=3)
            alive += r is not None and r.get("op") == "pong"
        except (Closed, websockets.ConnectionClosed):
            pass
    t.eq(alive, 10, "after a 5 s stall of tickd, all 10 clients that "
        "answer pings are still connected")
    for c in clients:
        await c.close()
    # A client that answers nothing is still closed.
    ws = RawWS(d, tokens[0])
    ws.recv_json()
    code = None
    deadline = time.monotonic() + 8
    while code is None and time.monotonic() < deadline:
        try:
            op, payload = ws.recv_frame(timeout=1)
        except socket.timeout:
            continue
        except (EOFError, ConnectionResetError):
            code = 1006
            break
        if op == 8:
            code = struct.unpack("!H", payload[:2])[0]
    t.eq(code, 1008, "a client that answers no ping is closed 1008")
    ws.close()
    d.stop()


run(main, 9)
