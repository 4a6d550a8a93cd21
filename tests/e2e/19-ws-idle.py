#!/usr/bin/python3
# Idle WebSocket connections hold no wslay state (bench/README, "Idle
# connections"): it is made when bytes come and freed between frames.
# Nothing half read may be lost with it: frames split over many reads with
# pauses, a fragmented message with a ping between its fragments, several
# frames in one read, and tickd's own pings answered while idle.  An idle
# plain connection also parks: it gives up its bufferevent, and must still
# get pushed messages and presence, answer and get pings, time out an
# unanswered ping, see its peer close, and read a frame whose first bytes
# came while it was parked.  Then a hundred idle authenticated connections
# must cost tickd's heap less than the bufferevent of each would.

import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

IDLE = 100              # connections held for the memory check
PER_CONN = 1400         # bytes of heap each may add, at most
PARKED = 1.6            # seconds after which an idle connection is parked

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

        parked_checks(t)

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
            time.sleep(PARKED)
            after = d.rss_anon()
            per = (after - before) / IDLE
            t.ok(per < PER_CONN, f"{IDLE} idle authenticated connections "
                f"add {per:,.0f} bytes of heap each (< {PER_CONN:,})",
                f"RssAnon {before} -> {after}")
            for c in conns + warm:
                c.close()
        t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")


def parked_checks(t):
    """What a parked connection must still do (7 checks).  Pings come
    every 30 s on the first daemon, so that none makes a connection its
    bufferevent again by chance: what it reads, it reads because the
    parked socket woke it."""
    p = Daemon(name="parked", ping_interval="30s")
    p.start()
    ta = token_for(p, "alice", device="raw", new=True)
    tb = token_for(p, "bob", new=True)
    tc = token_for(p, "carol", new=True)
    alice, bob = RawWS(p, ta), RawWS(p, tb)
    alice.recv_json()
    bob.recv_json()
    alice.send_json({"op": "subscribe", "users": ["carol"]})
    first = json.loads(next_frame(alice)[1])

    time.sleep(PARKED)
    carol = RawWS(p, tc)
    carol.recv_json()
    op, payload = next_frame(alice)
    got = json.loads(payload) if op == 1 else {}
    t.ok(first.get("online") is False and got.get("op") == "presence" and
        got.get("user") == "carol" and got.get("online") is True,
        "a parked connection gets a presence event",
        repr((first, op, payload)))

    time.sleep(PARKED)
    bob.send_json({"op": "send", "to": "alice", "id": "p1",
        "body": "to a parked connection"})
    op, payload = next_frame(alice)
    got = json.loads(payload) if op == 1 else {}
    t.ok(got.get("op") == "msg" and
        got.get("body") == "to a parked connection",
        "a parked connection gets a message pushed to it",
        repr((op, payload)))
    if got.get("mid"):
        alice.send_json({"op": "ack", "mid": got["mid"]})

    time.sleep(PARKED)
    alice.send_frame(9, b"parked?")
    t.eq(next_frame(alice, 1), (10, b"parked?"),
        "a parked connection answers a ping frame at once")

    time.sleep(PARKED)
    frame = RawWS.frame(1, json.dumps({"op": "ping",
        "ref": "across"}).encode())
    alice.sock.sendall(frame[:5])
    time.sleep(PARKED)
    alice.sock.sendall(frame[5:])
    op, payload = next_frame(alice, 1)
    got = json.loads(payload) if op == 1 else {}
    t.eq(got.get("ref"), "across", "a frame whose first 5 bytes came "
        "while parked, the rest 1.6 s later, is served whole")

    time.sleep(PARKED)
    carol.close()
    t0, got = time.monotonic(), []
    while time.monotonic() < t0 + 2:
        try:
            op, payload = next_frame(alice, 0.2)
        except socket.timeout:
            continue
        if op == 1:
            got.append(json.loads(payload))
            if got[-1].get("online") is False:
                break
    t.ok(got != [] and got[-1].get("op") == "presence" and
        got[-1].get("online") is False and time.monotonic() - t0 < 1,
        "a parked connection whose peer closes goes offline at once",
        repr(got))
    for w in (alice, bob):
        w.close()
    p.cleanup()

    # Pings every 3 s: a connection parks between them.
    q = Daemon(name="parked-pings", ping_interval="3s")
    q.start()
    erin = RawWS(q, token_for(q, "erin", new=True))
    dave = RawWS(q, token_for(q, "dave", new=True))  # answers no ping
    start = time.monotonic()
    erin.recv_json()
    dave.recv_json()
    pings, deadline = 0, start + 7
    while time.monotonic() < deadline:
        try:
            op, payload = erin.recv_frame(0.2)
        except socket.timeout:
            continue
        if op == 9:
            pings += 1
            erin.send_frame(10, payload)
    erin.send_json({"op": "ping", "ref": "after-pings"})
    op, payload = next_frame(erin)
    t.ok(pings >= 2 and op == 1 and
        json.loads(payload).get("ref") == "after-pings",
        f"a parked connection gets tickd's pings ({pings} in 7 s) and, "
        "answering them, stays open", repr((op, payload)))
    code = dave.close_code(max(0.1, start + 11 - time.monotonic()))
    t.eq(code, 1008, "a parked connection that answers no ping is closed "
        "with 1008 within three ping intervals")
    for w in (erin, dave):
        w.close()
    q.cleanup()


run(main, 15, timeout=150)
