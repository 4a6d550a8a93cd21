#!/usr/bin/python3
# Abuse limits: send_rate/send_burst, login_rate per name and per address,
# max_connections and max_connections_per_ip, handshake_timeout against
# slow HTTP requests and slow WebSocket frames, max_json_depth, max_ack_mids,
# max_subscriptions, and a send frame that names its own sender.

import http.client
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def open_all(d, sources):
    """Connects from each source at once; which ones tickd kept open.

    All are opened before any is checked, well inside handshake_timeout,
    which closes idle connections too.
    """
    socks = []
    for src in sources:
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", d.port))
        socks.append(s)
    time.sleep(0.2)
    kept = []
    for s in socks:
        s.setblocking(False)
        try:
            kept.append(s.recv(1) != b"")
        except BlockingIOError:
            kept.append(True)
        except ConnectionResetError:
            kept.append(False)
    return socks, kept


def login_from(d, source, user, password="wrong"):
    """POST /v1/login from a given loopback source address."""
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10,
        source_address=(source, 0))
    try:
        c.request("POST", "/v1/login", json.dumps({"user": user,
            "password": password}), {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r
    finally:
        c.close()


async def main(t):
    d = Daemon("abuse", send_rate="2", send_burst="5", login_rate="4",
        max_connections="6", max_connections_per_ip="4",
        handshake_timeout="1s", max_json_depth="5", max_ack_mids="3",
        max_subscriptions="2")
    d.start()
    ta = token_for(d, "alice", new=True)
    tb = token_for(d, "bob", new=True)
    a = await Client.connect(d, ta, name="alice")

    replies = []
    for i in range(7):
        replies.append(await a.request({"op": "send", "to": "bob",
            "id": f"r{i}", "body": i, "ref": i}))
    codes = [r.get("op") if r.get("op") == "sent" else r.get("code")
        for r in replies]
    limited = replies[5]
    t.ok(codes[:5] == ["sent"] * 5 and codes[5:] == ["rate_limited"] * 2
        and limited.get("ref") == 5 and limited.get("id") == "r5",
        "send_burst 5: the 6th and 7th sends are rate_limited with ref "
        "and id", f"{codes} {limited!r}")
    await asyncio.sleep(0.6)
    r = await a.request({"op": "send", "to": "bob", "id": "later",
        "body": "x", "ref": "l"})
    t.ok(r.get("op") == "sent", "after a pause, send_rate lets one more "
        "through", f"{r!r}")
    b = await Client.connect(d, tb, name="bob")
    got = await b.collect("msg", quiet=0.5)
    t.eq(sorted(m["id"] for m in got), ["later", "r0", "r1", "r2", "r3",
        "r4"], "refused sends were not stored")
    await b.close()

    r = await a.request({"op": "send", "to": "bob", "id": "spoof",
        "from": "bob", "body": "x", "ref": "s"})
    t.ok(r.get("code") == "bad_request" and r.get("id") == "spoof",
        "a send that names a sender is bad_request", f"{r!r}")

    deep = {"op": "ping", "ref": "d", "x": [[[[1]]]]}
    r1 = await a.request(deep)
    deeper = {"op": "ping", "ref": "d2", "x": [[[[[1]]]]]}
    await a.send(deeper)
    r2 = await a.recv()
    t.ok(r1.get("op") == "pong" and r2.get("code") == "bad_request",
        "max_json_depth 5 takes depth 5 and refuses depth 6",
        f"{r1!r} {r2!r}")

    r = await a.request({"op": "ack", "mids": ["1-0", "2-0", "3-0", "4-0"],
        "ref": "k"})
    r3 = await a.request({"op": "ack", "mids": ["1-0", "2-0", "3-0"],
        "ref": "k3"})
    t.ok(r.get("code") == "bad_request" and r3.get("op") == "ok",
        "max_ack_mids 3 refuses 4 mids in one ack", f"{r!r} {r3!r}")

    r = await a.request({"op": "subscribe", "users": ["bob", "carol",
        "dave"], "ref": "u"})
    t.ok(r.get("code") == "bad_request", "max_subscriptions 2 refuses a "
        "subscribe to 3 users", f"{r!r}")
    await a.close()

    # handshake_timeout: a request head that never ends, a frame that
    # stops half way.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    try:
        eof = s.recv(100) == b""
    except ConnectionResetError:
        eof = True
    t.ok(eof and time.monotonic() - t0 < 4, "an unfinished HTTP request "
        "is closed after handshake_timeout",
        f"{time.monotonic() - t0:.1f} s")
    s.close()
    w = RawWS(d, ta)
    w.recv_json()
    frame = RawWS.frame(1, b'{"op":"ping"}')
    w.sock.sendall(frame[:8])
    t.eq(w.close_code(4), 1008, "a WebSocket frame left unfinished is "
        "closed with 1008")
    w.close()

    # login_rate 4 per minute, per name and per address; the set-up above
    # spent 127.0.0.1's attempts, so these come from other addresses.
    sts = [login_from(d, "127.0.0.5", "zed").status for _ in range(5)]
    t.ok(sts[:4] == [401] * 4 and sts[4] == 429, "login_rate: the 5th "
        "attempt from one address for one name gets 429", f"{sts}")
    st = login_from(d, "127.0.0.5", "yves").status
    t.ok(st == 429, "the address stays limited for any other name",
        f"{st}")
    st = login_from(d, "127.0.0.6", "zed").status
    st2 = login_from(d, "127.0.0.6", "alice", "pw-alice").status
    t.ok(st == 429 and st2 == 200, "the name stays limited from any other "
        "address, while other names log in there", f"{st} {st2}")
    # Wait until only the asking connection is open, and it has gone too.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5,
            source_address=("127.0.0.9", 0))
        c.request("GET", "/metrics")
        m = c.getresponse().read().decode()
        c.close()
        if "\ntickd_connections 1\n" in m:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)

    # 4 per address, 6 in all; tickd's own health checks are closed.
    held, kept = open_all(d, ["127.0.0.1"] * 5)
    t.ok(kept == [True] * 4 + [False], "max_connections_per_ip 4: the 5th "
        "connection from one address is closed", f"{kept}")
    more, kept = open_all(d, ["127.0.0.2", "127.0.0.2", "127.0.0.3"])
    held += more
    t.ok(kept == [True, True, False], "max_connections 6: the 7th "
        "connection in all is closed", f"{kept}")
    for s in held:
        s.close()
    d.stop()


run(main, 14)
