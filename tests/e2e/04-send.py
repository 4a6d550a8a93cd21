#!/usr/bin/python3
# send, sent and msg between online clients, tickd-protocol(7) MESSAGE IDS and
# MESSAGES: the members of each, bodies of every JSON type, mid order, the send
# errors, and copies to the sender's other devices (MESSAGES rule 1).

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def same(a, b):
    """Equal JSON values of the same types (1, 1.5, true kept apart)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def sent_problems(s, req, before):
    s = s or {}
    probs = []
    if s.get("op") != "sent":
        return [f"no sent reply: {s!r}"]
    if s.get("id") != req["id"] or s.get("to") != req["to"]:
        probs.append("id or to differ from the request")
    if "ref" in req and s.get("ref") != req["ref"]:
        probs.append("ref not echoed")
    if mid_key(s.get("mid")) is None:
        probs.append("mid is not <ms>-<seq>")
    ts = s.get("ts")
    if not isinstance(ts, int) or not before - 60000 <= ts <= now_ms() + 60000:
        probs.append(f"ts {ts!r} is not now in Unix ms")
    if s.get("dup", False) is not False:
        probs.append("a first send is marked dup")
    return probs + ([f"got {s!r}"] if probs else [])


def msg_problems(m, s, req, sender, device):
    m = m or {}
    want = {"op": "msg", "mid": s.get("mid"), "from": sender,
        "from_device": device, "to": req["to"], "id": req["id"],
        "ts": s.get("ts")}
    probs = [f"{k}: expected {v!r}, got {m.get(k)!r}"
        for k, v in want.items() if m.get(k) != v]
    if not same(m.get("body"), req["body"]):
        probs.append(f"body: expected {req['body']!r}, got {m.get('body')!r}")
    return probs


async def main(t):
    with Daemon(max_message_bytes="1k", max_frame_bytes="4k") as d:
        ta = token_for(d, "alice", new=True)
        tap = token_for(d, "alice", "phone")
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")
        ap = await Client.connect(d, tap, name="alice/phone")
        b = await Client.connect(d, tb, name="bob")

        req = {"op": "send", "to": "bob", "id": "c-1",
            "body": {"text": "hi"}, "ref": "s1"}
        before = now_ms()
        s = await a.request(req)
        probs = sent_problems(s, req, before)
        t.ok(not probs, "send answers sent with id, mid, to, ts and ref",
            probs)
        s = s or {}

        m = await b.recv_op("msg", 3)
        probs = msg_problems(m, s, req, "alice", "default")
        t.ok(not probs, "the recipient gets msg with mid, from, "
            "from_device, to, id, ts, body", probs + [f"got {m!r}"])

        m = await ap.recv_op("msg", 3)
        own = await a.expect_nothing(0.5, op="msg")
        probs = msg_problems(m, s, req, "alice", "default")
        t.ok(not probs and not own,
            "the sender's other device gets the msg too, "
            "the sending device does not",
            probs + [f"phone got {m!r}", f"sending device got {own!r}"])

        bodies = [{"a": [1, {"b": None}], "c": "d"}, [1, "two", 3.5, None],
            "plain string", "h\u00e9llo \u2713 \U0001f600 \"q\" \\ \n",
            0, 42, -7, 1.5, 1e-3, 2**53, None, True, False, {}, [], ""]
        sents, probs = [], []
        for i, body in enumerate(bodies):
            r = {"op": "send", "to": "bob", "id": f"t-{i}", "body": body}
            s = await a.request(r)
            if (s or {}).get("op") != "sent":
                probs.append(f"{body!r}: {s!r}")
            sents.append(s or {})
        for i, body in enumerate(bodies):
            m = await b.recv_op("msg", 3) or {}
            if m.get("mid") != sents[i].get("mid") or \
                    not same(m.get("body"), body):
                probs.append(f"{body!r} arrived as {m!r}")
        t.ok(not probs, "bodies of every JSON type arrive unchanged", probs)

        mids, probs = [], []
        for i in range(30):
            s = await a.request({"op": "send", "to": "bob", "id": f"n-{i}",
                "body": i}) or {}
            mids.append(s.get("mid"))
        got = [(await b.recv_op("msg", 3) or {}).get("mid")
            for _ in range(30)]
        t.ok(increasing(mids) and got == mids,
            "mids are <ms>-<seq>, strictly increasing, delivered in order",
            f"sent {mids!r}\ngot  {got!r}")
        await ap.collect("msg", quiet=0.3)

        # Since version 2 (section 10.4 rule 2) an unknown group is
        # no_such_group; it was no_such_user only until groups existed.
        probs = []
        for to, code in [("nobody", "no_such_user"),
                ("#group", "no_such_group")]:
            r = await a.request({"op": "send", "to": to, "id": f"u-{to}",
                "body": 1, "ref": f"ref-{to}"})
            r = r or {}
            if r.get("op") != "error" or r.get("code") != code \
                    or r.get("ref") != f"ref-{to}" or r.get("id") != f"u-{to}":
                probs.append(f"{to}: {r!r}")
        t.ok(not probs, "an unknown user: no_such_user, an unknown group: "
            "no_such_group, with ref and id", probs)

        big = await a.request({"op": "send", "to": "bob", "id": "big",
            "body": "x" * 2000, "ref": 77})
        small = await a.request({"op": "send", "to": "bob", "id": "small",
            "body": "x" * 900})
        got = await b.collect("msg", quiet=0.5)
        big = big or {}
        t.ok(big.get("op") == "error" and big.get("code") == "too_large" and
            big.get("ref") == 77 and big.get("id") == "big" and
            (small or {}).get("op") == "sent" and
            [m.get("id") for m in got] == ["small"],
            "a body over max_message_bytes: too_large with ref and id, "
            "nothing queued",
            f"big {big!r}\nsmall {small!r}\nbob got ids "
            f"{[m.get('id') for m in got]!r}")
        await ap.collect("msg", quiet=0.3)

        req = {"op": "send", "to": "alice", "id": "self-1", "body": "memo"}
        s = await a.request(req)
        phone = await ap.collect("msg", quiet=0.5)
        own = await a.collect("msg", quiet=0.2)
        t.ok((s or {}).get("op") == "sent" and len(phone) == 1 and
            not msg_problems(phone[0], s, req, "alice", "default") and
            len(own) <= 1,
            "send to self: sent; the other device gets one copy",
            f"sent {s!r}\nphone got {phone!r}\nsending device got {own!r}")

        await ap.close()
        req = {"op": "send", "to": "bob", "id": "while-phone-away",
            "body": 5}
        s = await a.request(req) or {}
        await b.recv_op("msg", 3)
        ap = await Client.connect(d, tap, name="alice/phone")
        got = await ap.collect("msg", quiet=0.5)
        m = [f for f in got if f.get("id") == req["id"]]
        probs = msg_problems(m[0] if m else None, s, req, "alice", "default")
        t.ok(not probs and len(m) == 1, "the copy for an offline device "
            "of the sender is queued for it",
            probs + [f"replayed ids {[f.get('id') for f in got]!r}"])

        for c in (a, ap, b):
            await c.close()
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")


run(main, 10)
