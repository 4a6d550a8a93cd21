#!/usr/bin/env python3
# The chat state seen through the RESP shim (tickd-resp(7) THE CHAT VIEWS),
# checked against WebSocket clients (python3-websockets): XADD inbox:USER is a
# send, queue:USER:DEVICE reads and acks like the device, a WebSocket send
# wakes a BLOCKed XREADGROUP on it, blocked:USER is the block list,
# lastseen:USER the last-seen time, and writes that would break a view are
# refused.

import asyncio
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403


def fields(entry):
    """A stream entry's fields as a dict of str."""
    _, kv = entry
    return {kv[i].decode(): kv[i + 1].decode() for i in range(0, len(kv), 2)}


async def main(t):
    with RespDaemon(max_queue=5, max_message_bytes="1k",
        max_frame_bytes="4k") as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        token_for(d, "carol", new=True)
        a = await Client.connect(d, ta, name="alice")
        b = await Client.connect(d, tb, name="bob")
        r = d.conn(name="resp")

        # XADD inbox:bob is alice's send.
        mid = r.cmd("XADD", "inbox:bob", "*", "from", "alice", "body", "hi",
            "id", "c-1")
        t.ok(isinstance(mid, bytes) and mid_key(mid.decode()),
            "XADD inbox:bob * from alice body hi id c-1 answers a mid",
            repr(mid))
        mid = mid.decode() if isinstance(mid, bytes) else "?"
        m = await b.recv_op("msg", 3)
        t.ok(m is not None and m.get("mid") == mid and
            m.get("from") == "alice" and m.get("from_device") == "resp" and
            m.get("to") == "bob" and m.get("id") == "c-1" and
            m.get("body") == "hi",
            "bob's WebSocket gets it live, from alice's device \"resp\"",
            repr(m))
        m = await a.recv_op("msg", 3)
        t.ok(m is not None and m.get("mid") == mid,
            "alice's own device gets the copy (RESP is no device of hers)",
            repr(m))
        again = r.cmd("XADD", "inbox:bob", "*", "from", "alice", "body",
            "hi", "id", "c-1")
        dup = await b.recv_op("msg", 0.5)
        t.ok(again == mid.encode() and dup is None,
            "the same id again is a repeated send: the first mid, no msg",
            f"{again!r} {dup!r}")

        errs = [
            (["XADD", "inbox:nobody", "*", "from", "alice", "body", "x"],
             "ERR no such user"),
            (["XADD", "inbox:bob", "*", "from", "nobody", "body", "x"],
             "ERR no such user 'nobody'"),
            (["XADD", "inbox:bob", "*", "from", "alice", "body",
             "x" * 2000], "ERR too large"),
            (["XADD", "inbox:bob", "1-1", "from", "alice", "body", "x"],
             "ERR inbox:"),
            (["XADD", "inbox:bob", "*", "from", "alice"], "ERR inbox:"),
            (["XADD", "inbox:bob", "*", "from"], "ERR wrong number"),
            (["XADD", "inbox:bob", "*", "body", "x", "to", "y"], "ERR inbox"),
            (["XADD", "inbox:bob", "*", "from", "alice", "body", b"\xff"],
             "ERR inbox: body must be UTF-8"),
            (["XADD", "inbox:bob", "*", "from", "alice", "body", "x", "id",
              b"c-\xc3"], "ERR inbox: id is 1 to 64 bytes of UTF-8 text"),
            (["XLEN", "inbox:bob"], "ERR 'inbox:bob' is a view"),
            (["DEL", "inbox:bob"], "ERR 'inbox:bob' is a view"),
            (["XADD", "queue:bob:default", "*", "f", "v"],
             "ERR 'queue:bob:default' is a view"),
            (["XDEL", "queue:bob:default", "1-1"], "ERR 'queue:bob"),
            (["XTRIM", "queue:bob:default", "MAXLEN", "0"], "ERR 'queue:"),
            (["SET", "lastseen:bob", "1"], "ERR 'lastseen:bob' is a view"),
            (["GET", "queue:bob:default"], "WRONGTYPE"),
            (["SADD", "lastseen:bob", "x"], "ERR 'lastseen:bob' is a view"),
            (["SADD", "blocked:bob", "nobody"], "ERR no such user 'nobody'"),
            (["SADD", "blocked:bob", "bob"], "ERR 'bob' is not another"),
            (["SET", "queue:x", "v"], "ERR 'queue:x' is a view"),
            (["XGROUP", "CREATE", "queue:bob:default", "g", "0"],
             "ERR 'queue:bob:default' is a view"),
            (["XREADGROUP", "GROUP", "other", "c", "STREAMS",
             "queue:bob:default", ">"], "NOGROUP"),
            (["XREADGROUP", "GROUP", "tickd", "c", "STREAMS",
             "queue:bob:nodevice", ">"], "NOGROUP"),
        ]
        bad = []
        for cmd, want in errs:
            got = r.cmd(*cmd)
            if not (isinstance(got, Error) and got.startswith(want)):
                bad.append(f"{' '.join(map(str, cmd))[:60]}: {got!r}, "
                    f"want {want}")
        t.ok(not bad, "sends that fail and writes that break a view are "
            "refused with the reason", bad)

        # queue:bob:default reads like bob's device.
        await a.request({"op": "send", "to": "bob", "id": "w-1",
            "body": {"text": "two", "n": 2}})
        await b.collect("msg", quiet=0.3)
        n = r.cmd("XLEN", "queue:bob:default")
        t.eq(n, 2, "XLEN queue:bob:default counts bob's unacked items")
        rng_ = r.cmd("XRANGE", "queue:bob:default", "-", "+")
        f = [fields(e) for e in rng_] if isinstance(rng_, list) else []
        t.ok(len(f) == 2 and f[0]["op"] == "msg" and f[0]["mid"] == mid and
            f[0]["body"] == "hi" and json.loads(f[1]["body"]) ==
            {"text": "two", "n": 2} and rng_[0][0] == mid.encode(),
            "XRANGE shows the items: id = mid, the frame's members as "
            "fields", repr(rng_))
        rev = r.cmd("XREVRANGE", "queue:bob:default", "+", "-", "COUNT", "1")
        t.ok(isinstance(rev, list) and len(rev) == 1 and
            rev[0][0] == rng_[1][0], "XREVRANGE COUNT 1 is the newest",
            repr(rev))
        g1 = r.cmd("XREADGROUP", "GROUP", "tickd", "c1", "STREAMS",
            "queue:bob:default", ">")
        g2 = r.cmd("XREADGROUP", "GROUP", "tickd", "c1", "STREAMS",
            "queue:bob:default", ">")
        g3 = r.cmd("XREADGROUP", "GROUP", "tickd", "c1", "COUNT", "1",
            "STREAMS", "queue:bob:default", "0")
        t.ok(isinstance(g1, list) and len(g1[0][1]) == 2 and
            g2 == NilArray() and isinstance(g3, list) and
            len(g3[0][1]) == 1, "XREADGROUP GROUP tickd: > reads each "
            "item once, 0 reads what is still pending",
            f"{g1!r} {g2!r} {g3!r}")

        acked = r.cmd("XACK", "queue:bob:default", "tickd", mid, mid)
        rc = await a.recv_op("receipt", 3)
        t.ok(acked == 1 and rc is not None and rc.get("for") == mid and
            rc.get("status") == "delivered",
            "XACK acks like bob's device: alice gets the delivered receipt",
            f"{acked!r} {rc!r}")
        t.eq(r.cmd("XLEN", "queue:bob:default"), 1, "the acked item is gone")
        t.eq(r.cmd("XACK", "queue:bob:default", "other", "1-1"), 0,
            "XACK with another group acks nothing")

        # A WebSocket send wakes a parked XREADGROUP on the view.
        r2 = d.conn(name="resp2")
        r2.send("XREADGROUP", "GROUP", "tickd", "c1", "BLOCK", "5000",
            "STREAMS", "queue:bob:default", ">")
        await asyncio.sleep(0.2)
        s = await a.request({"op": "send", "to": "bob", "id": "w-2",
            "body": "wake"})
        t0 = time.monotonic()
        w = r2.reply()
        dt = time.monotonic() - t0
        t.ok(isinstance(w, list) and w[0][0] == b"queue:bob:default" and
            w[0][1][0][0].decode() == (s or {}).get("mid") and dt < 2,
            "a WebSocket send wakes XREADGROUP BLOCK on queue:bob:default",
            f"{w!r} after {dt:.2f} s")
        r2.send("XREAD", "BLOCK", "5000", "STREAMS", "queue:alice:default",
            "$")
        await asyncio.sleep(0.2)
        await b.send({"op": "ack", "mid": s.get("mid")})
        rc = await a.recv_op("receipt", 3)
        w = r2.reply()
        t.ok(isinstance(w, list) and fields(w[0][1][0]).get("op") ==
            "receipt", "a receipt landing in alice's queue wakes XREAD "
            "BLOCK on queue:alice:default", repr(w))

        await b.collect("msg", quiet=0.3)

        # blocked:bob is bob's block list.
        t.eq(r.cmd("SADD", "blocked:bob", "alice", "carol"), 2,
            "SADD blocked:bob alice carol blocks both")
        blocks = await b.request({"op": "blocks"})
        t.ok(blocks is not None and sorted(blocks.get("users", [])) ==
            ["alice", "carol"], "bob's WebSocket sees the same blocks",
            repr(blocks))
        await a.request({"op": "send", "to": "bob", "id": "w-3",
            "body": "blocked?"})
        t.eq(await b.recv_op("msg", 0.5), None,
            "a message from a blocked sender does not reach bob")
        got = [r.cmd("SISMEMBER", "blocked:bob", "alice"),
            r.cmd("SMISMEMBER", "blocked:bob", "alice", "bob", "x!"),
            r.cmd("SCARD", "blocked:bob"), r.cmd("SMEMBERS", "blocked:bob"),
            r.cmd("SREM", "blocked:bob", "carol", "nobody"),
            r.cmd("SCARD", "blocked:bob"), r.cmd("TYPE", "blocked:bob"),
            r.cmd("EXISTS", "blocked:bob", "blocked:carol")]
        t.eq(got, [1, [1, 0, 0], 2, [b"alice", b"carol"], 1, 1,
            Status("set"), 1], "SISMEMBER, SMISMEMBER, SCARD, SMEMBERS, "
            "SREM, TYPE and EXISTS on blocked:bob")
        r.cmd("SREM", "blocked:bob", "alice")

        # SADD blocks every member or, if one may not be blocked, none;
        # SREM counts the blocks it lifted, a name it cannot as no member.
        got = [r.cmd("SADD", "blocked:nobody", "alice"),
            r.cmd("SADD", "blocked:bob", "alice", "x!"),
            r.cmd("SADD", "blocked:bob", "alice", "nobody"),
            r.cmd("SADD", "blocked:bob", "alice", b"al\x00ice"),
            r.cmd("SCARD", "blocked:bob"),
            r.cmd("SADD", "blocked:bob", "alice", "alice"),
            r.cmd("SADD", "blocked:bob", "alice"),
            r.cmd("SREM", "blocked:nobody", "alice"),
            r.cmd("SREM", "blocked:bob", "x!", "bob", "nobody", "alice",
                "alice"),
            r.cmd("SCARD", "blocked:bob")]
        got = [str(g) if isinstance(g, Error) else g for g in got]
        t.eq(got, ["ERR no such user 'nobody'",
            "ERR 'x!' is not another user's name",
            "ERR no such user 'nobody'",
            "ERR 'al' is not another user's name", 0, 1, 0,
            "ERR no such user 'nobody'", 1, 0],
            "SADD on blocked:USER is all or nothing, SREM counts what it "
            "lifted, and both need USER to exist")

        # lastseen:bob: nil while online, then the time he left.
        online = r.cmd("GET", "lastseen:bob")
        await b.close()
        await asyncio.sleep(0.3)
        ls = r.cmd("GET", "lastseen:bob")
        http = http_request(d, "GET", "/v1/users/bob/last-seen",
            token=ta).json or {}
        t.ok(online is None and isinstance(ls, bytes) and
            str(http.get("last_seen")) == ls.decode() and
            abs(int(ls) - now_ms()) < 60000,
            "GET lastseen:bob: nil while online, then the ms he left, as "
            "HTTP says", f"{online!r} {ls!r} {http!r}")
        t.ok(r.cmd("GET", "lastseen:nobody") is None and
            r.cmd("TYPE", "lastseen:bob") == "string" and
            r.cmd("TYPE", "queue:bob:default") == "stream" and
            r.cmd("TYPE", "queue:bob:nodev") == "none" and
            r.cmd("EXISTS", "inbox:bob", "inbox:nobody") == 1,
            "GET, TYPE and EXISTS on views")

        # A full queue refuses the send, as the WebSocket does.
        outs = [r.cmd("XADD", "inbox:carol", "*", "from", "bob", "body",
            f"m{i}") for i in range(6)]
        t.ok(all(isinstance(o, bytes) for o in outs[:5]) and
            isinstance(outs[5], Error) and outs[5].startswith(
            "ERR queue full"), "the sixth send to carol (max_queue 5) is "
            "refused: queue full", repr(outs))
        t.eq(d.stop(), 0, "tickd stops cleanly on SIGTERM")


run(main, 23)
