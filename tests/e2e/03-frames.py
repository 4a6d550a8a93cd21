#!/usr/bin/python3
# Bad input on the WebSocket, tickd-protocol(7) FRAMES, every row of its table;
# ref echo; ping; and abuse that must not crash the server.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def padded_ping(size, ref="pad"):
    """A valid ping frame of exactly size bytes, padded with JSON blanks."""
    head, tail = '{"op":"ping",', f'"ref":"{ref}"}}'
    return head + " " * (size - len(head) - len(tail)) + tail


async def replies(d, tok, frames, per_conn=8):
    """Send each frame and collect its direct reply, reconnecting before
    the protocol error count could close the connection."""
    out = []
    c = None
    for i, f in enumerate(frames):
        if i % per_conn == 0:
            if c:
                await c.close()
            c = await Client.connect(d, tok)
        out.append(await c.request(f, 3))
    await c.close()
    return out


def check_codes(frames, got, code, refs=True):
    probs = []
    for f, r in zip(frames, got):
        want_ref = f.get("ref") if isinstance(f, dict) else None
        r = r or {}
        bad = r.get("op") != "error" or r.get("code") != code
        if refs and want_ref is not None and r.get("ref") != want_ref:
            bad = True
        if (refs and isinstance(f, dict) and f.get("op") == "send" and
                isinstance(f.get("id"), str) and r.get("id") != f["id"]):
            bad = True
        if bad:
            probs.append(f"{f!r}\n  -> {r!r}")
    return probs


async def main(t):
    with Daemon(max_message_bytes="1k", max_frame_bytes="2k") as d:
        tok = token_for(d, "alice", new=True)
        token_for(d, "bob", new=True)

        c = await Client.connect(d, tok)
        pong = await c.request(padded_ping(1900))
        t.ok((pong or {}).get("op") == "pong",
            "a 1900-byte frame under max_frame_bytes (2k) is served",
            f"got {pong!r}")
        await c.send(padded_ping(3000))
        code = await c.wait_closed(3)
        t.eq(code, 1009, "a frame over max_frame_bytes: close 1009")

        c = await Client.connect(d, tok)
        await c.send(b'{"op":"ping"}')
        code = await c.wait_closed(3)
        t.eq(code, 1003, "a binary frame: close 1003")

        raw = RawWS(d, tok)
        first = raw.recv_json()
        raw.send_frame(1, b'{"op":"ping","ref":"raw"}')
        pong = raw.recv_json()
        raw.send_frame(1, b"\xff\xfe")
        code = raw.close_code(3)
        raw.close()
        t.ok(code == 1007 and first.get("op") == "ready" and
            pong.get("op") == "pong",
            "invalid UTF-8 in a text frame: close 1007",
            f"ready {first!r}, pong {pong!r}, close code {code!r}")

        frames = ["hello", "[1,2]", '"op"', "42", "null", "{}",
            '{"op":5}', '{"op":null}', '{"op":["ping"]}', '{"op":{}}',
            "{", '{"op":"ping"', ""]
        got = await replies(d, tok, frames)
        probs = check_codes(frames, got, "bad_json")
        t.ok(not probs, "not JSON, not an object, no string op: bad_json",
            probs)

        frames = [{"op": 5, "ref": "r5"}, {"ref": 6}]
        got = await replies(d, tok, frames)
        probs = check_codes(frames, got, "bad_json")
        t.ok(not probs, "bad_json echoes the ref of an object", probs)

        frames = [{"op": "frobnicate", "ref": "u1"},
            {"op": "SEND", "ref": 9}, {"op": "", "ref": 10}]
        got = await replies(d, tok, frames)
        probs = check_codes(frames, got, "unknown_op")
        t.ok(not probs, "an unknown op: unknown_op with its ref", probs)

        frames = [
            {"op": "send", "to": 5, "id": "a", "body": 1, "ref": 1},
            {"op": "send", "to": "Bob", "id": "a", "body": 1, "ref": 2},
            {"op": "send", "to": "", "id": "a", "body": 1, "ref": 3},
            {"op": "send", "to": "b" * 65, "id": "a", "body": 1, "ref": 4},
            {"op": "send", "to": "bo b", "id": "a", "body": 1, "ref": 5},
            {"op": "send", "to": "bob", "id": 5, "body": 1, "ref": 6},
            {"op": "send", "to": "bob", "id": "", "body": 1, "ref": 7},
            {"op": "send", "to": "bob", "id": "i" * 65, "body": 1,
                "ref": 8},
            {"op": "send", "id": "a", "body": 1, "ref": 9},
            {"op": "send", "to": "bob", "body": 1, "ref": 10},
            {"op": "send", "to": ["bob"], "id": "a", "body": 1, "ref": 11},
            {"op": "ack", "mid": 5, "ref": 12},
            {"op": "ack", "mids": "1-1", "ref": 13},
            {"op": "ack", "mids": [5], "ref": 14},
            {"op": "ack", "ref": 15},
            {"op": "read", "mid": 5, "ref": 16},
            {"op": "ping", "ref": "x" * 65},
            {"op": "ping", "ref": 1.5},
            {"op": "ping", "ref": {"a": 1}},
            {"op": "ping", "ref": True},
        ]
        got = await replies(d, tok, frames)
        # the last four have a bad ref, which cannot be echoed
        probs = check_codes(frames[:-4], got[:-4], "bad_request") + \
            check_codes(frames[-4:], got[-4:], "bad_request", refs=False)
        t.ok(not probs, "send, ack, ref: wrong types and bad names get "
            "bad_request with ref and id", probs)

        frames = [
            {"op": "block", "user": "Bad Name", "ref": 1},
            {"op": "block", "user": 5, "ref": 2},
            {"op": "unblock", "ref": 3},
            {"op": "subscribe", "users": "bob", "ref": 4},
            {"op": "subscribe", "users": ["Bob!"], "ref": 5},
            {"op": "unsubscribe", "users": [5], "ref": 6},
            {"op": "typing", "to": "bob", "state": "dancing", "ref": 7},
            {"op": "typing", "to": "B", "state": "paused", "ref": 8},
            {"op": "settings", "read_receipts": "yes", "ref": 9},
            {"op": "settings", "last_seen": "friends", "ref": 10},
        ]
        got = await replies(d, tok, frames)
        probs = check_codes(frames, got, "bad_request")
        t.ok(not probs, "block, subscribe, typing, settings: wrong types "
            "and bad names get bad_request with ref", probs)

        c = await Client.connect(d, tok)
        got = [await c.request({"op": "ping", "ref": r})
            for r in ["abc", 42, 0, -3, "r" * 64]]
        got.append(await c.request({"op": "ack", "mid": "1-1",
            "ref": "ack-ref"}))
        want = [("pong", "abc"), ("pong", 42), ("pong", 0), ("pong", -3),
            ("pong", "r" * 64), ("ok", "ack-ref")]
        have = [((g or {}).get("op"), (g or {}).get("ref")) for g in got]
        t.ok(have == want and all(type(h[1]) is type(w[1])
            for h, w in zip(have, want)),
            "ref is echoed as given, string or integer",
            f"expected {want!r}\ngot      {got!r}")
        await c.close()

        c = await Client.connect(d, tok)
        errs = [await c.request("nope") for _ in range(10)]
        pong = await c.request({"op": "ping"})
        await c.send("nope")
        code = await c.wait_closed(3)
        t.ok(all((e or {}).get("code") == "bad_json" for e in errs) and
            (pong or {}).get("op") == "pong" and code == 1008,
            "ten protocol errors are answered; the eleventh closes 1008",
            f"errors {errs!r}\nping after ten {pong!r}\nclose {code!r}")

        c = await Client.connect(d, tok)
        before = now_ms()
        pong = await c.request({"op": "ping"})
        tm = (pong or {}).get("time")
        t.ok((pong or {}).get("op") == "pong" and isinstance(tm, int) and
            before - 1000 <= tm <= now_ms() + 1000,
            "ping answers pong with the time in Unix ms",
            f"got {pong!r} at {before}")
        await c.close()

        raw = RawWS(d, tok)
        raw.recv_json()
        raw.send_frame(9, b"are-you-there")
        got = None
        try:
            for _ in range(5):
                op, payload = raw.recv_frame(3)
                if op == 10:
                    got = payload
                    break
        except (OSError, EOFError) as e:
            got = e
        raw.close()
        t.eq(got, b"are-you-there",
            "a WebSocket ping frame is answered with its pong")

        # Abuse: none of this may crash tickd, whatever it answers.
        c = await Client.connect(d, tok)
        for f in ['{"op":"send","to":"bob","id":"deep","body":' +
                "[" * 900 + "]" * 900 + "}",
                '{"op":"ping","ref":"\\u0000"}',
                '{"op":"send","to":"bob","id":"n\\u0000l","body":"\\u0000"}',
                '{"op":"ping","ref":1e999}',
                '{"op":"ping","ref":18446744073709551616}',
                '{"op":"ping","ref":-9223372036854775808}',
                '{"op":"ping","op":"ping"}',
                '{"op":"send","to":"bob","id":"\\ud800","body":"\\udc00"}',
                '{"op":"send","to":"bob","id":"s","body":"\\ud83d\\ude00"}',
                '{"op":"ack","mids":["99999999999999999999999-1","-1",'
                '"1-99999999999999999999999","1-","-","1--1"]}']:
            try:
                await c.send(f)
                await c.recv(0.5)
            except Exception:
                c = await Client.connect(d, tok)
        await c.close()
        for frames in [[(1, b'{"op":"pi', False), (0, b'ng"}', True)],
                [(1, b'{"op":"ping"}', True, False)],
                [(3, b"reserved", True)],
                [(9, b"p" * 126, True)],
                [(0, b"orphan continuation", True)],
                [(8, b"\x03\xe8", True)],
                [(8, b"\x03", True)]]:
            raw = RawWS(d, tok)
            raw.recv_json()
            try:
                for f in frames:
                    raw.send_frame(f[0], f[1], fin=f[2],
                        masked=f[3] if len(f) > 3 else True)
                raw.close_code(1)
            except OSError:
                pass
            raw.close()
        r = http_request(d, "GET", "/healthz")
        c = await Client.connect(d, tok)
        pong = await c.request({"op": "ping"})
        t.ok(d.running() and r.status == 200 and
            (pong or {}).get("op") == "pong",
            "tickd survives abusive frames",
            f"running {d.running()}, healthz {r!r}, ping {pong!r}")
        await c.close()

        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")


run(main, 15)
