#!/usr/bin/python3
# Receipts, tickd-protocol(7) MESSAGES rules 3-4: the first ack of a message by
# any device of the recipient queues exactly one `delivered` receipt to every
# device of the sender, the first `read` one `read` receipt unless the reader
# turned read receipts off (SETTINGS); receipts are queue items that survive
# an offline sender and a restart, come back in mid order and are acked like
# messages.
#
# Where the contract is silent this script assumes:
# - a receipt's `ts` is the Unix ms time the receipt was made, so it lies
#   between the start of the script and the moment it arrives;
# - one `ack` with a `mids` list acts like one ack per mid, naming a mid
#   twice or an unknown one included, and items are queued in the order
#   of the requests on one connection;
# - the sender's own other devices, which also hold a copy of the message
#   (rule 1), are not "the recipient": their acks and reads make no receipt.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

RECEIPT_KEYS = {"op", "mid", "for", "id", "by", "status", "ts"}


def what(frames):
    """Receipts as (for, id, by, status), the parts a test can predict."""
    return [(f.get("for"), f.get("id"), f.get("by"), f.get("status"))
        for f in frames]


def bad_frames(frames, t0):
    """Receipts that are not well formed: members, mid, ts."""
    bad = []
    for f in frames:
        ts = f.get("ts")
        if not RECEIPT_KEYS <= set(f) or mid_key(f.get("mid")) is None or \
            f.get("mid") == f.get("for") or not isinstance(ts, int) or \
            isinstance(ts, bool) or not t0 <= ts <= now_ms() + 1000:
            bad.append(f)
    return bad


async def main(t):
    t0 = now_ms()
    with Daemon() as d:
        tap = token_for(d, "alice", "phone", new=True)
        tal = token_for(d, "alice", "laptop")
        tbp = token_for(d, "bob", "phone", new=True)
        tbl = token_for(d, "bob", "laptop")
        ap = await Client.connect(d, tap, name="alice/phone")
        al = await Client.connect(d, tal, name="alice/laptop")
        bp = await Client.connect(d, tbp, name="bob/phone")
        bl = await Client.connect(d, tbl, name="bob/laptop")
        alice = (ap, al)

        async def send(id, body=None):
            s = await ap.request({"op": "send", "to": "bob", "id": id,
                "body": body or id}) or {}
            got = [await c.recv_op("msg", 3) or {} for c in (bp, bl, al)]
            if s.get("op") != "sent" or any(g.get("mid") != s.get("mid")
                for g in got):
                raise Failure(f"send {id}: {s!r}, devices got {got!r}")
            return s["mid"]

        async def receipts(c, quiet=0.7):
            return await c.collect("receipt", quiet=quiet, limit=5)

        m1 = await send("r-1")
        ok = await al.request({"op": "ack", "mid": m1, "ref": "own"})
        await al.send({"op": "read", "mid": m1})
        quiet = [await c.expect_nothing(0.7, op="receipt") for c in alice]
        t.ok(ok == {"op": "ok", "ref": "own"} and quiet == [[], []],
            "the sender's own other device acking and reading its copy "
            "makes no receipt",
            f"ack answered {ok!r}\nreceipts {quiet!r}")

        await bp.send({"op": "ack", "mid": m1})
        got = [await receipts(c) for c in alice]
        want = [(m1, "r-1", "bob", "delivered")]
        t.ok([what(g) for g in got] == [want, want] and
            not bad_frames(got[0] + got[1], t0),
            "the first ack by a recipient device queues exactly one "
            "delivered receipt to every device of the sender",
            f"expected {want!r} on each\nphone  {got[0]!r}\n"
            f"laptop {got[1]!r}")
        dl = [g[0].get("mid") if g else None for g in got]

        await bl.send({"op": "ack", "mid": m1})
        await bp.send({"op": "ack", "mid": m1})
        more = [await c.expect_nothing(1.0, op="receipt") for c in alice]
        t.ok(more == [[], []],
            "the second recipient device's ack and a repeated ack queue no "
            "second delivered receipt", f"got {more!r}")

        ok = await bl.request({"op": "read", "mid": m1, "ref": 7})
        got = [await receipts(c) for c in alice]
        want = [(m1, "r-1", "bob", "read")]
        t.ok(ok == {"op": "ok", "ref": 7} and
            [what(g) for g in got] == [want, want] and
            not bad_frames(got[0] + got[1], t0),
            "the first read queues exactly one read receipt to every device "
            "of the sender; read with ref is answered ok",
            f"read answered {ok!r}\nexpected {want!r} on each\n"
            f"phone  {got[0]!r}\nlaptop {got[1]!r}")
        rd = [g[0].get("mid") if g else None for g in got]

        await bp.send({"op": "read", "mid": m1})
        await bl.send({"op": "read", "mids": [m1]})
        more = [await c.expect_nothing(1.0, op="receipt") for c in alice]
        t.ok(more == [[], []],
            "reads by the other recipient device and repeated reads queue no "
            "second read receipt", f"got {more!r}")

        await ap.request({"op": "ack", "mids": [dl[0], rd[0]], "ref": 1})
        await ap.close()
        await al.close()
        ap = await Client.connect(d, tap, name="alice/phone")
        al = await Client.connect(d, tal, name="alice/laptop")
        alice = (ap, al)
        gp = await receipts(ap)
        gl = await receipts(al, 0.3)
        want = [(m1, "r-1", "bob", "delivered"), (m1, "r-1", "bob", "read")]
        t.ok(not gp and what(gl) == want and
            [f.get("mid") for f in gl] == [dl[1], rd[1]] and
            increasing([f.get("mid") for f in gl]),
            "receipts are per-device queue items: acked ones are gone, "
            "unacked ones come back in mid order",
            f"phone (acked) replayed {gp!r}\nlaptop replayed {gl!r}\n"
            f"expected on laptop {want!r}")
        await al.request({"op": "ack", "mids": [f.get("mid") for f in gl],
            "ref": 2})
        await al.collect("msg", quiet=0.2)

        ok = await bp.request({"op": "settings", "read_receipts": False,
            "ref": "off"})
        m2 = await send("r-2")
        await bp.send({"op": "ack", "mid": m2})
        await bp.send({"op": "read", "mid": m2})
        await bl.send({"op": "read", "mid": m2})
        got = await receipts(ap, 1.2)
        want = [(m2, "r-2", "bob", "delivered")]
        t.ok(ok == {"op": "ok", "ref": "off"} and what(got) == want,
            "with read receipts off, the delivered receipt comes and no read "
            "receipt", f"settings answered {ok!r}\nexpected {want!r}\n"
            f"got      {got!r}")

        ok = await bp.request({"op": "settings", "read_receipts": True,
            "ref": "on"})
        m3 = await send("r-3")
        await asyncio.gather(bp.send({"op": "ack", "mid": m3}),
            bl.send({"op": "ack", "mid": m3}))
        await asyncio.gather(bp.send({"op": "read", "mid": m3}),
            bl.send({"op": "read", "mid": m3}))
        got = await receipts(ap, 1.2)
        want = [(m3, "r-3", "bob", "delivered"), (m3, "r-3", "bob", "read")]
        t.ok(ok == {"op": "ok", "ref": "on"} and what(got) == want and
            increasing([f.get("mid") for f in got]),
            "read receipts on again; both recipient devices acking and "
            "reading at once still give exactly one of each",
            f"settings answered {ok!r}\nexpected {want!r}\ngot      "
            f"{got!r}")
        done = [f.get("mid") for f in got]
        done += [f.get("mid") for f in await receipts(al, 0.3)]
        await ap.request({"op": "ack", "mids": done, "ref": 3})
        await al.request({"op": "ack", "mids": done, "ref": 3})

        m4 = await send("r-4")
        m5 = await send("r-5")
        m6 = await send("r-6")
        await ap.close()
        await al.close()
        ok = await bp.request({"op": "ack", "mids": [m4, m5], "ref": "l"})
        await bp.send({"op": "read", "mid": m5})
        await bp.send({"op": "ack", "mid": m6})
        ok2 = await bp.request({"op": "read", "mid": m4, "ref": "r"})
        rc = d.restart()

        ap = await Client.connect(d, tap, name="alice/phone")
        al = await Client.connect(d, tal, name="alice/laptop")
        alice = (ap, al)
        gp = await receipts(ap)
        gl = await receipts(al, 0.3)
        head = sorted(what(gp[:2]))
        want_head = [(m4, "r-4", "bob", "delivered"),
            (m5, "r-5", "bob", "delivered")]
        want_tail = [(m5, "r-5", "bob", "read"),
            (m6, "r-6", "bob", "delivered"), (m4, "r-4", "bob", "read")]
        t.ok(rc == 0 and ok == {"op": "ok", "ref": "l"} and
            ok2 == {"op": "ok", "ref": "r"} and head == want_head and
            what(gp[2:]) == want_tail and
            increasing([f.get("mid") for f in gp]) and
            not bad_frames(gp, t0),
            "receipts made while the sender was offline survive a restart "
            "and arrive on its next connection, in order",
            f"restart {rc!r}, ack {ok!r}, read {ok2!r}\nexpected "
            f"{want_head!r} (any order) then {want_tail!r}\ngot {gp!r}")
        t.ok(what(gl) == what(gp) and
            [f.get("mid") for f in gl] == [f.get("mid") for f in gp],
            "every device of the offline sender gets the same receipts",
            f"phone  {what(gp)!r}\nlaptop {what(gl)!r}")

        bp = await Client.connect(d, tbp, name="bob/phone")
        bl = await Client.connect(d, tbl, name="bob/laptop")
        await bl.collect("msg", quiet=0.5)
        await bl.send({"op": "ack", "mids": [m4, m5, m6]})
        await bl.send({"op": "read", "mids": [m4, m5, m6]})
        await bp.send({"op": "read", "mid": m6})
        got = [await receipts(c, 1.0) for c in alice]
        want = [(m6, "r-6", "bob", "read")]
        t.ok([what(g) for g in got] == [want, want],
            "after a restart the first read of m6 makes its read receipt, "
            "acks and reads already counted make no second one",
            f"expected {want!r} on each\nphone  {got[0]!r}\n"
            f"laptop {got[1]!r}")

        await ap.request({"op": "ack", "mids": [f.get("mid") for f in
            gp + got[0]], "ref": 4})
        await ap.close()
        ap = await Client.connect(d, tap, name="alice/phone")
        left = await ap.expect_nothing(1.0, op="receipt")
        t.ok(not left, "acked receipts are not replayed", f"got {left!r}")

        for c in (ap, al, bp, bl):
            await c.close()
        t.eq(d.stop(), 0, "tickd exits 0 on SIGTERM")

    await ack_frame(t)


async def ack_frame(t):
    """One ack naming mids of two senders, one of them the acker's own
    (its receipts land on the acking device), a mid twice and an unknown
    one: one receipt each, and once everything is acked the kept totals
    and every sender's stored bytes are back at 0."""
    with Daemon() as d:
        _, (ap, al, bp, bl, cr) = await alice_bob_carol(d)
        sends = [(ap, "f-1"), (cr, "f-2"), (bl, "f-3"), (ap, "f-4")]
        mids = []
        for c, id in sends:
            s = await c.request({"op": "send", "to": "bob", "id": id,
                "body": id}) or {}
            mids.append(s.get("mid"))
        got = [f.get("mid") for f in await bp.collect("msg", quiet=0.5)]
        ms, seq = mid_key(mids[3]) or (0, 0)
        unknown = f"{ms}-{seq + 1000}"
        ok = await bp.request({"op": "ack", "mids": [mids[0], mids[1],
            mids[2], mids[0], unknown, mids[3]], "ref": "frame"})
        rcpt = {n: await c.collect("receipt", quiet=0.7, limit=5)
            for n, c in (("ap", ap), ("al", al), ("bp", bp), ("bl", bl),
            ("cr", cr))}
        want = {"ap": [(mids[0], "f-1"), (mids[3], "f-4")],
            "al": [(mids[0], "f-1"), (mids[3], "f-4")],
            "bp": [(mids[2], "f-3")], "bl": [(mids[2], "f-3")],
            "cr": [(mids[1], "f-2")]}
        have = {n: [(f.get("for"), f.get("id")) for f in r
            if f.get("status") == "delivered" and f.get("by") == "bob"]
            for n, r in rcpt.items()}
        # Everything left is acked: every queue empties.
        left = {"al": [mids[0], mids[3]], "bl": mids}
        for n, c in (("ap", ap), ("al", al), ("bp", bp), ("bl", bl),
            ("cr", cr)):
            held = left.get(n, []) + [f.get("mid") for f in rcpt[n]]
            await c.request({"op": "ack", "mids": held, "ref": n})
        m = metrics(d)
        stored = {k: v for k, v in m.items()
            if k.startswith("tickd_user_stored_bytes") and v != 0}
        t.ok(got == mids and ok == {"op": "ok", "ref": "frame"} and
            have == want and all(len(r) == len(want[n])
            for n, r in rcpt.items()) and
            m.get("tickd_queue_items") == 0 and
            m.get("tickd_queue_bytes") == 0 and not stored,
            "one ack of mids from two senders, the acker's own, a repeat "
            "and an unknown: one delivered receipt per message, and the "
            "kept totals and senders' bytes end at 0",
            f"sent {mids!r}, bob/phone got {got!r}, ack {ok!r}\n"
            f"receipts {have!r}\nwanted {want!r}\n"
            f"queue items {m.get('tickd_queue_items')!r} bytes "
            f"{m.get('tickd_queue_bytes')!r}, stored {stored!r}")
        for c in (ap, al, bp, bl, cr):
            await c.close()


# Under valgrind every login and restart takes seconds.
run(main, 14, timeout=120 if VALGRIND else 55)
