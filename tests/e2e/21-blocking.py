#!/usr/bin/python3
# Blocking, tickd-protocol(7) BLOCKING, PRESENCE AND TYPING and the last-seen
# route of TRANSPORT: alice blocks bob; bob's sends are answered `sent` as
# usual but never reach alice, no receipt ever follows them, bob sees alice
# offline with no last seen and gets no presence pushes about her, his typing
# is dropped.  The block is stored (it survives a restart) and unblock restores
# everything.
#
# Where the contract is silent this script assumes:
# - blocking an already blocked user is `ok` and lists it once, and
#   unblocking a user who is not blocked is `ok`;
# - bob's own other devices still get their copy of what he sent to alice
#   (MESSAGES rule 1), since he must not be able to tell he is blocked;
# - a presence subscription taken while blocked stays in force, so after
#   the unblock bob gets pushes about alice again.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


async def main(t):
    with Daemon() as d:
        (tap, _, tbp, _, tc), (ap, al, bp, bl, c) = \
            await alice_bob_carol(d)

        r = await ap.request({"op": "blocks", "ref": "b0"})
        t.eq(r, {"op": "blocks", "users": [], "ref": "b0"},
            "blocks lists nobody at first")

        r1 = await ap.request({"op": "block", "user": "bob", "ref": 1})
        r2 = await ap.request({"op": "block", "user": "bob", "ref": 2})
        r3 = await al.request({"op": "blocks"})
        t.ok(r1 == {"op": "ok", "ref": 1} and r2 == {"op": "ok", "ref": 2}
            and r3 == {"op": "blocks", "users": ["bob"]},
            "block answers ok; the block holds for all of alice's devices, "
            "listed once", f"block {r1!r}\nagain {r2!r}\nblocks {r3!r}")

        s1 = await bp.request({"op": "send", "to": "alice", "id": "b-1",
            "body": "hi"}) or {}
        copy = await bl.recv_op("msg", 3) or {}
        dup = await bp.request({"op": "send", "to": "alice", "id": "b-1",
            "body": "hi"}) or {}
        sc = await c.request({"op": "send", "to": "alice", "id": "c-1",
            "body": "from carol"}) or {}
        gp = await ap.collect("msg", quiet=1.0)
        gl = await al.collect("msg", quiet=0.2)
        t.ok(s1.get("op") == "sent" and s1.get("id") == "b-1" and
            s1.get("to") == "alice" and mid_key(s1.get("mid")) and
            isinstance(s1.get("ts"), int) and
            copy.get("mid") == s1.get("mid") and
            dup.get("dup") is True and dup.get("mid") == s1.get("mid") and
            [f.get("id") for f in gp] == ["c-1"] and
            [f.get("id") for f in gl] == ["c-1"],
            "the blocked sender gets sent as usual (his other device its "
            "copy, a resend dup) but alice gets only carol's message",
            f"sent {s1!r}\nbob/laptop copy {copy!r}\nresend {dup!r}\n"
            f"carol sent {sc!r}\nalice/phone got {gp!r}\n"
            f"alice/laptop got {gl!r}")

        mc = sc.get("mid")
        await ap.send({"op": "ack", "mids": [mc, s1.get("mid")]})
        await ap.send({"op": "read", "mids": [mc, s1.get("mid")]})
        await al.send({"op": "ack", "mid": s1.get("mid")})
        rc = await c.collect("receipt", quiet=0.7, limit=5)
        rb = [await x.expect_nothing(0.7, op="receipt") for x in (bp, bl)]
        t.ok([(f.get("for"), f.get("status")) for f in rc] ==
            [(mc, "delivered"), (mc, "read")] and rb == [[], []],
            "no receipt follows a dropped message, even when its mid is "
            "acked and read; carol's receipts come",
            f"carol got {rc!r}\nbob got {rb!r}")
        await c.request({"op": "ack", "mids": [f.get("mid") for f in rc],
            "ref": 0})

        pb = await bp.request({"op": "subscribe", "users": ["alice"]})
        fb = await bp.recv_op("presence", 3)
        pc = await c.request({"op": "subscribe", "users": ["alice"]})
        fc = await c.recv_op("presence", 3)
        t.ok(fb == {"op": "presence", "user": "alice", "online": False,
            "last_seen": None} and (fc or {}).get("online") is True and
            fc.get("user") == "alice" and fc.get("last_seen") is None,
            "bob sees the online alice as offline with no last seen; "
            "carol sees her online",
            f"bob {fb!r} (subscribe reply {pb!r})\n"
            f"carol {fc!r} (subscribe reply {pc!r})")

        hb = seen(d, tbp, "alice")
        hc = seen(d, tc, "alice")
        t.ok(hb == (200, {"user": "alice", "online": False,
            "last_seen": None}) and
            hc == (200, {"user": "alice", "online": True,
            "last_seen": None}),
            "GET last-seen hides alice from bob, not from carol",
            f"bob {hb!r}\ncarol {hc!r}")

        before = now_ms()
        await ap.close()
        await al.close()
        fc = await c.recv_op("presence", 3) or {}
        fb = await bp.expect_nothing(1.0, op="presence")
        hb = seen(d, tbp, "alice")
        hc = seen(d, tc, "alice")
        ls = fc.get("last_seen")
        t.ok(fc.get("online") is False and isinstance(ls, int) and
            before <= ls <= now_ms() and not fb and
            hb == (200, {"user": "alice", "online": False,
            "last_seen": None}) and
            hc == (200, {"user": "alice", "online": False,
            "last_seen": ls}),
            "alice going offline: carol is told with her last seen, bob "
            "gets no push and no last seen",
            f"carol push {fc!r}\nbob pushes {fb!r}\nbob GET {hb!r}\n"
            f"carol GET {hc!r}")

        ap = await Client.connect(d, tap, name="alice/phone")
        fc = await c.recv_op("presence", 3) or {}
        fb = await bp.expect_nothing(1.0, op="presence")
        t.ok(fc.get("online") is True and not fb,
            "alice coming back: carol is told, bob is not",
            f"carol {fc!r}\nbob {fb!r}")

        ok = await bp.request({"op": "typing", "to": "alice",
            "state": "composing", "ref": "t"})
        await bl.send({"op": "typing", "to": "alice", "state": "paused"})
        await c.send({"op": "typing", "to": "alice", "state": "composing"})
        got = await ap.collect("typing", quiet=1.0, limit=5)
        t.ok(ok == {"op": "ok", "ref": "t"} and
            got == [{"op": "typing", "from": "carol",
            "state": "composing"}],
            "bob's typing to alice is dropped (answered ok all the same); "
            "carol's arrives",
            f"bob's typing answered {ok!r}\nalice got {got!r}")

        await ap.collect("msg", quiet=0.3)
        await ap.close()
        rc = d.restart()
        ap = await Client.connect(d, tap, name="alice/phone")
        bp = await Client.connect(d, tbp, name="bob/phone")
        c = await Client.connect(d, tc, name="carol")
        r = await ap.request({"op": "blocks", "ref": "b1"})
        s2 = await bp.request({"op": "send", "to": "alice", "id": "b-2",
            "body": "still there?"}) or {}
        got = await ap.collect("msg", quiet=1.0)
        await bp.send({"op": "subscribe", "users": ["alice"]})
        fb = await bp.recv_op("presence", 3)
        t.ok(rc == 0 and r == {"op": "blocks", "users": ["bob"],
            "ref": "b1"} and s2.get("op") == "sent" and
            not [f for f in got if f.get("from") == "bob"] and
            fb == {"op": "presence", "user": "alice", "online": False,
            "last_seen": None},
            "the block survives a restart: still listed, bob's sends still "
            "dropped, alice still hidden",
            f"restart {rc!r}\nblocks {r!r}\nsent {s2!r}\nalice got "
            f"{got!r}\nbob's presence {fb!r}")

        r1 = await ap.request({"op": "unblock", "user": "bob", "ref": "u"})
        r2 = await ap.request({"op": "blocks"})
        t.ok(r1 == {"op": "ok", "ref": "u"} and
            r2 == {"op": "blocks", "users": []},
            "unblock answers ok and empties the list",
            f"unblock {r1!r}\nblocks {r2!r}")

        got = [await ap.request({"op": op, "user": user, "ref": i}) or {}
            for i, (op, user) in enumerate((("block", "alice"),
            ("unblock", "alice"), ("block", "nobody"),
            ("unblock", "nobody"), ("unblock", "carol")))]
        r3 = await ap.request({"op": "blocks"})
        t.ok([(f.get("op"), f.get("code"), f.get("ref")) for f in got] ==
            [("error", "bad_request", 0), ("error", "bad_request", 1),
            ("error", "no_such_user", 2), ("error", "no_such_user", 3),
            ("ok", None, 4)] and r3 == {"op": "blocks", "users": []},
            "blocking or unblocking oneself is bad_request, a user who does "
            "not exist no_such_user; unblocking one not blocked is ok",
            f"answers {got!r}\nblocks {r3!r}")

        s3 = await bp.request({"op": "send", "to": "alice", "id": "b-3",
            "body": "hello again"}) or {}
        m = await ap.recv_op("msg", 3) or {}
        await ap.send({"op": "ack", "mid": s3.get("mid")})
        rb = await bp.collect("receipt", quiet=0.7, limit=5)
        t.ok(m.get("mid") == s3.get("mid") and m.get("from") == "bob" and
            [(f.get("for"), f.get("status")) for f in rb] ==
            [(s3.get("mid"), "delivered")],
            "after unblock bob's message arrives and its delivered receipt "
            "comes back", f"sent {s3!r}\nalice got {m!r}\nbob got {rb!r}")

        await ap.close()
        ap = await Client.connect(d, tap, name="alice/phone")
        got = await ap.collect("msg", quiet=0.7)
        late = await bp.expect_nothing(0.5, op="receipt")
        t.ok(not [f for f in got if f.get("id") in ("b-1", "b-2")] and
            not late,
            "messages dropped while blocked never arrive after the unblock "
            "and never get a receipt",
            f"alice replayed {got!r}\nbob got receipts {late!r}")

        ok = await bp.request({"op": "typing", "to": "alice",
            "state": "composing", "ref": "t2"})
        got = await ap.recv_op("typing", 3)
        t.ok(ok == {"op": "ok", "ref": "t2"} and
            got == {"op": "typing", "from": "bob", "state": "composing"},
            "after unblock bob's typing reaches alice",
            f"answered {ok!r}\nalice got {got!r}")

        await bp.collect("presence", quiet=0.3)
        await bp.send({"op": "subscribe", "users": ["alice"]})
        now = await bp.recv_op("presence", 3) or {}
        before = now_ms()
        await ap.close()
        off = await bp.recv_op("presence", 3) or {}
        hb = seen(d, tbp, "alice")
        ls = off.get("last_seen")
        t.ok(now.get("online") is True and off.get("online") is False and
            isinstance(ls, int) and before <= ls <= now_ms() and
            hb == (200, {"user": "alice", "online": False,
            "last_seen": ls}),
            "after unblock bob sees alice online, is told when she leaves "
            "and sees her last seen",
            f"at subscribe {now!r}\npush {off!r}\nGET {hb!r}")

        for x in (bp, bl, c):
            await x.close()
        t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")


# Under valgrind every login and restart takes seconds.
run(main, 17, timeout=120 if VALGRIND else 55)
