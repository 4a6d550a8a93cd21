#!/usr/bin/python3
# Slow clients.  A client that stops reading while a lot is pushed to it must
# not make tickd buffer it all: tickd either closes it or holds the rest in
# its queue, its heap stays bounded, and it keeps serving everyone else.  A
# client that floods requests without reading the replies is closed once its
# unsent output passes max_output_bytes.

import asyncio
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

COUNT = 300             # messages pushed to the stalled client
BODY = 60000            # bytes of each body: 18 MB in all
EXCHANGES = 15          # at least this many round trips between the others
HEAP_LIMIT = 8 << 20    # growth allowed while 18 MB wait for the client
FLOOD = 120000          # pings sent without reading the pongs: ~11 MB out


async def push(a, mids):
    for n in range(0, COUNT, 8):
        for i in range(n, min(n + 8, COUNT)):
            await a.send({"op": "send", "to": "bob", "id": f"big-{i}",
                "body": f"{i:06d}" + "y" * (BODY - 6)})
        for i in range(n, min(n + 8, COUNT)):
            r = await a.recv_op(("sent", "error"), 10) or {}
            mids.append(r.get("mid") if r.get("op") == "sent" else r)


async def chat(c, dv, done, lat, probs):
    n = 0
    while n < EXCHANGES or not done.is_set():
        n += 1
        start = time.monotonic()
        s = await c.request({"op": "send", "to": "dave", "id": f"c-{n}",
            "body": n}, 5) or {}
        m = await dv.recv_op("msg", 5) or {}
        lat.append(time.monotonic() - start)
        if s.get("op") != "sent" or m.get("mid") != s.get("mid"):
            probs.append(f"exchange {n}: sent {s!r}, dave got {m!r}")
        else:
            await dv.send({"op": "ack", "mid": m["mid"]})
        await asyncio.sleep(0.05)


async def heap_peak(d, stop, peak):
    while not stop.is_set():
        v = d.rss_anon()
        if v is not None:
            peak[0] = max(peak[0] or 0, v)
        await asyncio.sleep(0.05)


def read_until_closed(raw, op="msg"):
    """Read again: (how the connection ended or None if it stayed open,
    mids of the msg frames, number of `op` frames)."""
    mids, n = [], 0
    try:
        while True:
            code, payload = raw.recv_frame(3)
            if code == 8:
                return "close frame", mids, n
            if code != 1:
                continue
            try:
                f = json.loads(payload)
            except ValueError:
                continue
            if f.get("op") == op:
                n += 1
            if f.get("op") == "msg":
                mids.append(f.get("mid"))
    except (EOFError, ConnectionResetError):
        return "EOF", mids, n
    except socket.timeout:
        return None, mids, n


def flood(raw):
    """Send FLOOD pings, never reading; how far it got and how it ended."""
    data = RawWS.frame(1, json.dumps({"op": "ping",
        "ref": "r" * 60}).encode()) * FLOOD
    view, off = memoryview(data), 0
    raw.sock.settimeout(0.5)
    deadline = time.monotonic() + 8
    try:
        while off < len(data) and time.monotonic() < deadline:
            try:
                off += raw.sock.send(view[off:off + 65536])
            except socket.timeout:
                pass
    except OSError as e:
        return off / len(data), f"closed while sending ({e.strerror})"
    return off / len(data), None


def asan_build():
    """Whether tickd is built with AddressSanitizer, whose quarantine keeps
    freed memory for a while and so makes heap growth meaningless, or with
    ThreadSanitizer, whose shadow memory does."""
    with open(TICKD, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def heap_check(t, desc, base, peak):
    if base is None or peak[0] is None:
        t.skip(desc, "no /proc RssAnon (valgrind?)")
        return
    if asan_build():
        t.skip(desc, "a sanitizer's quarantine or shadow holds memory")
        return
    grew = peak[0] - base
    t.ok(grew < HEAP_LIMIT, desc,
        f"anonymous memory grew by {grew >> 10} KiB "
        f"(limit {HEAP_LIMIT >> 10} KiB)")


async def main(t):
    with Daemon(max_output_bytes="64k", max_message_bytes="64k",
            max_frame_bytes="128k", window=1000, map_size="256m") as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        tc = token_for(d, "carol", new=True)
        td = token_for(d, "dave", new=True)
        te = token_for(d, "erin", new=True)

        slow = RawWS(d, tb, rcvbuf=4096)
        ready = slow.recv_json()
        if ready.get("op") != "ready":
            raise Failure(f"slow client: {ready!r}")
        a = await Client.connect(d, ta, name="alice")
        c = await Client.connect(d, tc, name="carol")
        dv = await Client.connect(d, td, name="dave")

        mids, lat, probs = [], [], []
        done = asyncio.Event()
        base, peak = d.rss_anon(), [None]
        sampler = asyncio.ensure_future(heap_peak(d, done, peak))

        async def pusher():
            try:
                await push(a, mids)
            finally:
                done.set()
        await asyncio.gather(pusher(), chat(c, dv, done, lat, probs))
        await sampler

        t.ok(len(mids) == COUNT and increasing(mids),
            f"all {COUNT} large sends to the stalled client are answered sent",
            f"answers: {[m for m in mids if not isinstance(m, str)][:5]!r}, "
            f"{len(mids)} in all")

        t.ok(not probs and lat and max(lat) < 2,
            "the others keep exchanging messages meanwhile",
            probs + [f"{len(lat)} exchanges, slowest "
                f"{max(lat) if lat else 0:.2f} s"])

        heap_check(t, f"tickd does not buffer the {COUNT * BODY >> 20} MB "
            "for the stalled client in memory", base, peak)

        how, got, _ = await asyncio.to_thread(read_until_closed, slow)
        slow.close()
        t.ok(got == mids[:len(got)] and (how is not None or
            len(got) == COUNT),
            "reading again, it gets its messages in order without a gap, "
            "up to where it was closed",
            f"it got {len(got)} of {COUNT} messages, then "
            f"{how or 'the connection stayed open'}; in order without a "
            f"gap: {got == mids[:len(got)]}")

        b = await Client.connect(d, tb, name="bob")
        m = await b.recv_op("msg", 5) or {}
        t.ok(mids and m.get("mid") == mids[0] and
            str(m.get("body", "")).startswith("000000"),
            "its queue is kept: the next connection starts at the first "
            "unacked message",
            f"expected mid {mids[0] if mids else None!r}, got "
            f"{ {k: v for k, v in m.items() if k != 'body'}!r}")
        await b.close()

        greedy = RawWS(d, te, rcvbuf=4096)
        greedy.recv_json()
        done = asyncio.Event()
        base, peak = d.rss_anon(), [None]
        sampler = asyncio.ensure_future(heap_peak(d, done, peak))
        part, ended = await asyncio.to_thread(flood, greedy)
        if ended is None:
            ended, _, pongs = await asyncio.to_thread(read_until_closed,
                greedy, "pong")
        else:
            pongs = "?"
        done.set()
        await sampler
        greedy.close()
        t.ok(ended is not None,
            "a client flooding pings without reading the pongs is closed",
            f"it sent {part:.0%} of {FLOOD} pings, read {pongs} pongs, "
            f"then {ended or 'the connection stayed open'}")
        heap_check(t, "tickd's memory stays bounded meanwhile", base, peak)

        r = http_request(d, "GET", "/healthz")
        for cl in (a, c, dv):
            await cl.close()
        rc = d.stop()
        t.ok(r.status == 200 and rc == 0,
            "tickd is healthy and exits 0 on SIGTERM",
            f"healthz {r.status}, exit {rc}")


run(main, 8)
