#!/usr/bin/python3
# Typing and settings, tickd-protocol(7) BLOCKING, PRESENCE AND TYPING and
# SETTINGS: typing reaches only the recipient's online devices and is never
# stored; settings (read_receipts, last_seen) answer ok, may leave a member
# out, hide last seen but not online, and persist across a restart; ping
# answers pong.
#
# Where the contract is silent this script assumes:
# - a typing `state` other than composing or paused, and a settings value
#   outside the listed ones, are bad_request (like wrong member types), and
#   a settings request with a bad member changes nothing;
# - typing to an offline recipient is answered like any other typing (ok
#   with ref), since it is simply dropped;
# - the last seen time is recorded while hidden, so after switching back to
#   "everyone" it shows the time the user last went offline.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def typing(frm, state):
    return {"op": "typing", "from": frm, "state": state}


async def main(t):
    with Daemon() as d:
        (tap, _, tbp, tbl, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)

        ok = await ap.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": "t1"})
        got = [await x.collect("typing", quiet=0.7, limit=3)
            for x in (bp, bl)]
        other = [await x.expect_nothing(0.3) for x in (al, c)]
        t.ok(ok == {"op": "ok", "ref": "t1"} and
            got == [[typing("alice", "composing")]] * 2 and
            other == [[], []],
            "typing with ref is answered ok and reaches every online device "
            "of the recipient once, and no one else",
            f"answered {ok!r}\nbob's devices got {got!r}\n"
            f"alice/laptop and carol got {other!r}")

        await ap.send({"op": "typing", "to": "bob", "state": "paused"})
        quiet = await ap.expect_nothing(0.5)
        got = [await x.collect("typing", quiet=0.5, limit=3)
            for x in (bp, bl)]
        t.ok(not quiet and got == [[typing("alice", "paused")]] * 2,
            "typing without ref gets no reply; paused is passed on",
            f"alice got {quiet!r}\nbob's devices got {got!r}")

        await bl.close()
        await ap.send({"op": "typing", "to": "bob", "state": "composing"})
        live = await bp.recv_op("typing", 3)
        bl = await Client.connect(d, tbl, name="bob/laptop")
        late = await bl.expect_nothing(1.0)
        t.ok(live == typing("alice", "composing") and not late,
            "typing reaches the online device only; the offline one gets "
            "nothing when it comes back",
            f"bob/phone got {live!r}\nbob/laptop on reconnect got {late!r}")

        await bp.close()
        await bl.close()
        ok = await ap.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": "t2"})
        bp = await Client.connect(d, tbp, name="bob/phone")
        late = await bp.expect_nothing(1.0)
        t.ok(ok == {"op": "ok", "ref": "t2"} and not late,
            "typing to an offline user is dropped, not stored",
            f"answered {ok!r}\nbob got {late!r}")

        e1 = await ap.request({"op": "typing", "to": "bob",
            "state": "thinking", "ref": "e1"})
        e2 = await ap.request({"op": "typing", "state": "paused",
            "ref": "e2"})
        e3 = await ap.request({"op": "typing", "to": "bob", "state": 1,
            "ref": "e3"})
        late = await bp.expect_nothing(0.7, op="typing")
        t.ok([(e or {}).get("code") for e in (e1, e2, e3)] ==
            ["bad_request"] * 3 and
            [(e or {}).get("ref") for e in (e1, e2, e3)] ==
            ["e1", "e2", "e3"] and not late,
            "typing with a bad state or no recipient is bad_request and "
            "passes nothing on",
            f"bad state {e1!r}\nno to {e2!r}\nstate not a string {e3!r}\n"
            f"bob got {late!r}")

        r1 = await bp.request({"op": "settings", "read_receipts": True,
            "last_seen": "everyone", "ref": "s1"})
        r2 = await bp.request({"op": "settings", "read_receipts": True,
            "ref": "s2"})
        r3 = await bp.request({"op": "settings", "last_seen": "everyone",
            "ref": "s3"})
        t.ok([r1, r2, r3] == [{"op": "ok", "ref": f"s{i}"}
            for i in (1, 2, 3)],
            "settings answers ok with both members or either one",
            f"both {r1!r}\nread_receipts {r2!r}\nlast_seen {r3!r}")

        e1 = await bp.request({"op": "settings", "read_receipts": "no",
            "ref": "b1"})
        e2 = await bp.request({"op": "settings", "last_seen": "friends",
            "ref": "b2"})
        e3 = await bp.request({"op": "settings", "read_receipts": False,
            "last_seen": 0, "ref": "b3"})
        s = await ap.request({"op": "send", "to": "bob", "id": "m-1",
            "body": "one"}) or {}
        m = await bp.recv_op("msg", 3) or {}
        await bp.send({"op": "ack", "mid": m.get("mid")})
        await bp.send({"op": "read", "mid": m.get("mid")})
        got = await ap.collect("receipt", quiet=0.7, limit=5)
        t.ok([(e or {}).get("code") for e in (e1, e2, e3)] ==
            ["bad_request"] * 3 and
            [(f.get("for"), f.get("status")) for f in got] ==
            [(s.get("mid"), "delivered"), (s.get("mid"), "read")],
            "bad settings values are bad_request and change nothing "
            "(read receipts stay on)",
            f"read_receipts \"no\" {e1!r}\nlast_seen \"friends\" {e2!r}\n"
            f"one bad member of two {e3!r}\nreceipts {got!r}")
        await ap.request({"op": "ack", "mids": [f.get("mid") for f in got],
            "ref": 0})

        await ap.send({"op": "subscribe", "users": ["bob"]})
        await ap.collect("presence", quiet=0.5, limit=3)
        ok = await bp.request({"op": "settings", "last_seen": "nobody",
            "read_receipts": False, "ref": "n"})
        await ap.collect("presence", quiet=0.5, limit=3)
        await bp.close()
        off = await ap.recv_op("presence", 3)
        h = seen(d, tap, "bob")
        hc = seen(d, tc, "bob")
        bp = await Client.connect(d, tbp, name="bob/phone")
        on = await ap.recv_op("presence", 3)
        t.ok(ok == {"op": "ok", "ref": "n"} and
            off == {"op": "presence", "user": "bob", "online": False,
            "last_seen": None} and
            h == hc == (200, {"user": "bob", "online": False,
            "last_seen": None}) and
            on == {"op": "presence", "user": "bob", "online": True,
            "last_seen": None},
            "last_seen nobody: others see last_seen null, online still "
            "shows", f"settings {ok!r}\noffline push {off!r}\nGET as "
            f"alice {h!r}\nGET as carol {hc!r}\nonline push {on!r}")

        await bp.close()
        await ap.close()
        rc = d.restart()
        ap = await Client.connect(d, tap, name="alice/phone")
        bp = await Client.connect(d, tbp, name="bob/phone")
        await bp.collect("msg", quiet=0.5)
        s = await ap.request({"op": "send", "to": "bob", "id": "m-2",
            "body": "two"}) or {}
        m = await bp.recv_op("msg", 3) or {}
        await bp.send({"op": "ack", "mid": m.get("mid")})
        await bp.send({"op": "read", "mid": m.get("mid")})
        got = await ap.collect("receipt", quiet=1.0, limit=5)
        await ap.send({"op": "subscribe", "users": ["bob"]})
        await ap.collect("presence", quiet=0.5, limit=3)
        await bp.close()
        off = await ap.recv_op("presence", 3)
        h = seen(d, tc, "bob")
        t.ok(rc == 0 and
            [(f.get("for"), f.get("status")) for f in got] ==
            [(s.get("mid"), "delivered")] and
            off == {"op": "presence", "user": "bob", "online": False,
            "last_seen": None} and
            h == (200, {"user": "bob", "online": False, "last_seen": None}),
            "settings persist across a restart: no read receipt, last seen "
            "hidden", f"restart {rc!r}\nreceipts {got!r}\noffline push "
            f"{off!r}\nGET {h!r}")
        await ap.request({"op": "ack", "mids": [f.get("mid") for f in got],
            "ref": 0})

        bp = await Client.connect(d, tbp, name="bob/phone")
        ok = await bp.request({"op": "settings", "read_receipts": True,
            "ref": "r"})
        s = await ap.request({"op": "send", "to": "bob", "id": "m-3",
            "body": "three"}) or {}
        m = await bp.recv_op("msg", 3) or {}
        await bp.send({"op": "ack", "mid": m.get("mid")})
        await bp.send({"op": "read", "mid": m.get("mid")})
        got = await ap.collect("receipt", quiet=0.7, limit=5)
        await ap.collect("presence", quiet=0.3, limit=3)
        await bp.close()
        off = await ap.recv_op("presence", 3)
        t.ok(ok == {"op": "ok", "ref": "r"} and
            [(f.get("for"), f.get("status")) for f in got] ==
            [(s.get("mid"), "delivered"), (s.get("mid"), "read")] and
            off == {"op": "presence", "user": "bob", "online": False,
            "last_seen": None},
            "setting only read_receipts turns them on and leaves last_seen "
            "hidden", f"settings {ok!r}\nreceipts {got!r}\n"
            f"offline push {off!r}")

        bp = await Client.connect(d, tbp, name="bob/phone")
        ok = await bp.request({"op": "settings", "last_seen": "everyone",
            "ref": "e"})
        await ap.collect("presence", quiet=0.5, limit=3)
        before = now_ms()
        await bp.close()
        off = await ap.recv_op("presence", 3) or {}
        ls = off.get("last_seen")
        h = seen(d, tc, "bob")
        t.ok(ok == {"op": "ok", "ref": "e"} and off.get("online") is False
            and isinstance(ls, int) and before <= ls <= now_ms() and
            h == (200, {"user": "bob", "online": False, "last_seen": ls}),
            "last_seen everyone shows the last seen time again",
            f"settings {ok!r}\noffline push {off!r}\nGET {h!r}")

        p1 = await ap.request({"op": "ping", "ref": "p"}) or {}
        t.ok(p1.get("op") == "pong" and p1.get("ref") == "p" and
            isinstance(p1.get("time"), int) and
            abs(p1["time"] - now_ms()) < 5000,
            "ping is answered pong with the server time", f"got {p1!r}")

        await ap.close()
        await al.close()
        await c.close()
        t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")


# Under valgrind every login and restart takes seconds.
run(main, 13, timeout=120 if VALGRIND else 55)
