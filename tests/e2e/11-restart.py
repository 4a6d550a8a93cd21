#!/usr/bin/python3
# Restarts: state survives SIGTERM and SIGKILL (accounts, tokens, revoked
# tokens, queues, dedup records), mids keep increasing, SIGTERM closes
# clients with 1001; and `tickd -t` checking good and bad configs.

import asyncio
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def summary(frames):
    return [(f.get("mid"), f.get("id"), f.get("body")) for f in frames]


def write(d, name, lines):
    path = os.path.join(d.dir, name)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return path


async def main(t):
    with Daemon() as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        ttmp = token_for(d, "alice", "tmp")
        r = logout(d, ttmp)
        if r.status != 204:
            raise Failure(f"logout: {r!r}")
        a = await Client.connect(d, ta, name="alice")
        sent = []
        for i in range(3):
            s = await a.request({"op": "send", "to": "bob", "id": f"r-{i}",
                "body": {"i": i, "text": "persist \u2713"}}) or {}
            sent.append((s.get("mid"), f"r-{i}",
                {"i": i, "text": "persist \u2713"}))
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.7)
        ok = await b.request({"op": "ack", "mid": sent[0][0], "ref": 1})
        await b.close()
        if summary(got) != sent or ok != {"op": "ok", "ref": 1}:
            raise Failure(f"setup: bob got {got!r}, ack {ok!r}")

        d.signal(signal.SIGTERM)
        code = await a.wait_closed(5)
        rc = await asyncio.to_thread(d.wait, 10)
        t.eq(code, 1001, "SIGTERM closes open clients with 1001")
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")

        d.start()
        r1 = login(d, "alice")
        r2 = login(d, "alice", "wrong")
        r3 = register(d, "alice")
        t.ok(r1.status == 200 and r2.status == 401 and r3.status == 409,
            "accounts survive a restart",
            f"login {r1!r}\nwrong password {r2!r}\nregister {r3!r}")

        a = await Client.connect(d, ta, ready=False, name="alice")
        f = await a.recv(3)
        t.ok(f.get("op") == "ready" and f.get("user") == "alice",
            "tokens survive a restart", f"got {f!r}")

        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.7)
        t.ok(summary(got) == sent[1:],
            "queues survive a restart, acked items stay gone",
            f"expected {sent[1:]!r}\ngot      {summary(got)!r}")
        await b.close()

        c = await Client.connect(d, ttmp, ready=False, name="revoked")
        e = await c.recv_op(("error", "ready"), 3) or {}
        t.ok(e.get("code") == "bad_token",
            "a logged-out token stays dead after a restart", f"got {e!r}")
        await c.close()

        s = await a.request({"op": "send", "to": "bob", "id": "r-3",
            "body": {"i": 3}}) or {}
        sent.append((s.get("mid"), "r-3", {"i": 3}))
        t.ok(increasing([m for m, _, _ in sent]),
            "mids keep increasing across a restart", f"mids {sent!r}")

        s = await a.request({"op": "send", "to": "bob", "id": "r-4",
            "body": {"i": 4}}) or {}
        sent.append((s.get("mid"), "r-4", {"i": 4}))
        d.kill()
        await a.wait_closed(3)
        d.start()
        b = await Client.connect(d, tb, name="bob")
        got = await b.collect("msg", quiet=0.7)
        t.ok(summary(got) == sent[1:],
            "a SIGKILL loses nothing that was answered sent",
            f"expected {sent[1:]!r}\ngot      {summary(got)!r}")

        a = await Client.connect(d, ta, name="alice")
        dup = await a.request({"op": "send", "to": "bob", "id": "r-4",
            "body": {"i": 4}}) or {}
        t.ok(dup.get("dup") is True and dup.get("mid") == sent[-1][0],
            "dedup records survive a SIGKILL", f"got {dup!r}")

        s = await a.request({"op": "send", "to": "bob", "id": "r-5",
            "body": {"i": 5}}) or {}
        t.ok(increasing([sent[-1][0], s.get("mid")]),
            "mids keep increasing across a SIGKILL",
            f"before {sent[-1][0]!r}, after {s.get('mid')!r}")
        await a.close()
        await b.close()

        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM after a crash recovery")

        base = [f"{k} {v}" for k, v in d.conf.items()]
        good = write(d, "good.conf", ["# a comment", ""] + base + [
            "  # indented comment", "token_ttl 10m", "auth_timeout 500ms",
            "message_ttl 7d", "dedup_window 2h", "ping_interval 30s",
            "max_message_bytes 16k", "max_frame_bytes 64k",
            "max_output_bytes 1m", "max_queue 100", "window 16",
            "registration closed", ""])
        rc, err = d.check_config(good)
        t.ok(rc == 0, "tickd -t accepts a good config", f"exit {rc}\n{err}")

        for desc, bad in [
                ("an unknown key", "frobnicate 1"),
                ("a duration without a unit", "token_ttl 10"),
                ("a duplicate key", base[0]),
                ("a bad enum value", "registration maybe"),
                ("a size with a bad suffix", "max_message_bytes 10q")]:
            path = write(d, "bad.conf", ["# bad", ""] + base + [bad])
            line = len(base) + 3
            rc, err = d.check_config(path)
            where = f"{os.path.basename(path)}:{line}:"
            t.ok(rc == 1 and where in err,
                f"tickd -t refuses {desc} with FILE:LINE:",
                f"expected exit 1 and {where!r} in stderr\n"
                f"got exit {rc}, stderr {err!r}")

        path = write(d, "frame.conf", base + ["max_message_bytes 16k",
            "max_frame_bytes 16k"])
        rc, err = d.check_config(path)
        t.ok(rc == 1 and err.strip(),
            "tickd -t refuses max_frame_bytes < max_message_bytes + 1k",
            f"exit {rc}, stderr {err!r}")


run(main, 18)
