#!/usr/bin/python3
# Idle WebSocket connections hold no wslay state (bench/README, "Idle
# connections"): it is made when bytes come and freed between frames.
# Nothing half read may be lost with it: frames split over many reads with
# pauses, a fragmented message with a ping between its fragments, several
# frames in one read, and tickd's own pings answered while idle.  Then a
# hundred idle authenticated connections must cost tickd's heap far less
# than the wslay state of each (two 4 KiB frame buffers) would.

import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

IDLE = 100              # connections held for the memory check
PER_CONN = 5000         # bytes of heap each may add, at most

# AddressSanitizer's redzones and quarantine, and ThreadSanitizer's
# shadow memory, make heap sizes meaningless.
with open(TICKD or "/dev/null", "rb") as _f:
    _bin = _f.read()
    ASAN = b"__asan_init" in _bin or b"__tsan_init" in _bin


def dribble(ws, data, pieces, pause=0.05):
    """data in pieces separate writes, pause seconds apart."""
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        ws.sock.sendall(data[i:i + step])
        time.sleep(pause)


def next_frame(ws, timeout=5):
    """(opcode, payload) of the next frame that is not tickd's ping."""
    while True:
        op, payload = ws.recv_frame(timeout)
        if op != 9:
            return op, payload
        ws.send_frame(10, payload)


async def main(t):
    with Daemon(ping_interval="2s", max_devices_per_user=IDLE + 10,
            login_rate=0) as d:
        tok = token_for(d, "alice", device="raw", new=True)
        token_for(d, "bob", new=True)
        ws = RawWS(d, tok)
        t.eq(ws.recv_json().get("op"), "ready", "ready")

        dribble(ws, RawWS.frame(9, b"are-you-there"), 20)
        t.eq(next_frame(ws), (10, b"are-you-there"),
            "a ping frame written a byte at a time, 50 ms apart, is "
            "answered with its payload")

        send = json.dumps({"op": "send", "to": "bob", "id": "split",
            "body": "x" * 3000}).encode()
        dribble(ws, RawWS.frame(1, send), 3, 0.3)
        op, payload = next_frame(ws)
        f = json.loads(payload) if op == 1 else {}
        t.ok(f.get("op") == "sent" and f.get("id") == "split",
            "a 3 KB send frame in three writes 300 ms apart is answered "
            "sent", repr((op, payload[:200])))

        msg = json.dumps({"op": "ping", "ref": "fragmented"}).encode()
        a, b = len(msg) // 3, 2 * len(msg) // 3
        ws.send_frame(1, msg[:a], fin=False)
        time.sleep(0.4)
        ws.send_frame(9, b"between")
        time.sleep(0.4)
        ws.send_frame(0, msg[a:b], fin=False)
        time.sleep(0.4)
        ws.send_frame(0, msg[b:], fin=True)
        got = [next_frame(ws), next_frame(ws)]
        pong = json.loads(got[1][1]) if got[1][0] == 1 else {}
        t.ok(got[0] == (10, b"between") and pong.get("op") == "pong" and
            pong.get("ref") == "fragmented",
            "a message in three fragments 400 ms apart, a ping between "
            "them: the ping is answered, then the whole message", repr(got))

        burst = b"".join(RawWS.frame(1, json.dumps({"op": "ping",
            "ref": f"b{i}"}).encode()) for i in range(3))
        ws.sock.sendall(burst)
        refs = []
        for _ in range(3):
            op, payload = next_frame(ws)
            refs.append(json.loads(payload).get("ref") if op == 1 else op)
        t.eq(refs, ["b0", "b1", "b2"], "three frames in one write: three "
            "pongs in order")

        ws.close()
        # tickd pings every 300 ms and closes after two unanswered.
        e = Daemon(name="pings", ping_interval="300ms")
        e.start()
        ws = RawWS(e, token_for(e, "carol", new=True))
        ws.recv_json()
        pings, deadline = 0, time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                op, payload = ws.recv_frame(0.1)
            except socket.timeout:
                continue
            if op == 9:
                pings += 1
                ws.send_frame(10, payload)
        ws.send_json({"op": "ping", "ref": "after"})
        op, payload = next_frame(ws)
        t.ok(pings >= 3 and op == 1 and
            json.loads(payload).get("ref") == "after",
            f"idle for 1.5 s: tickd's {pings} pings answered, the "
            "connection still serves", repr((op, payload)))
        ws.close()
        e.cleanup()

        # The heap an idle connection costs.
        if ASAN or VALGRIND:
            t.skip("idle connections' heap", "a sanitizer or valgrind build")
        else:
            toks = [token_for(d, "alice", device=f"idle{i}")
                for i in range(IDLE)]
            warm = [RawWS(d, tok) for _ in range(1)]
            warm[0].recv_json()
            time.sleep(0.3)
            before = d.rss_anon()
            conns = []
            for k in toks:
                c = RawWS(d, k)
                c.recv_json()
                conns.append(c)
            time.sleep(0.5)
            after = d.rss_anon()
            per = (after - before) / IDLE
            t.ok(per < PER_CONN, f"{IDLE} idle authenticated connections "
                f"add {per:,.0f} bytes of heap each (< {PER_CONN:,})",
                f"RssAnon {before} -> {after}")
            for c in conns + warm:
                c.close()
        t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")


run(main, 8, timeout=120)
