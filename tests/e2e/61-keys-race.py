#!/usr/bin/python3
# Races for the last one-time keys, tickd-protocol(7) KEY DIRECTORY rule 5:
# fetches pipelined in one write (one turn, one group commit), fetches from
# many connections at once, and fetches cut by a SIGKILL of tickd.  Never
# is one one-time key handed out twice; every key handed out was uploaded.

import asyncio
import base64
import json
import os
import random
import sys

import websockets

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def b64(data):
    return base64.b64encode(data).decode()


class Pool:
    """What the owner uploaded and what keys replies handed out."""

    def __init__(self):
        self.sent = {}          # (pool, id) -> key object
        self.handed = {}        # (pool, id) -> who got it
        self.problems = []
        self.nulls = 0

    def keys(self, pool, ids):
        out = []
        for i in ids:
            k = {"id": i, "key": b64(f"{pool}-{i}".encode())}
            if pool == "kem":
                k["sig"] = b64(f"sig-{i}".encode())
            self.sent[(pool, i)] = k
            out.append(k)
        return out

    def record(self, who, f):
        """The one-time keys of a keys reply."""
        if not isinstance(f, dict) or f.get("op") != "keys":
            self.problems.append(f"{who}: got {f!r}")
            return
        for b in f.get("devices") or []:
            for member, pool in (("prekey", "pre"), ("kem_prekey", "kem")):
                k = b.get(member)
                if k is None:
                    self.nulls += 1
                    continue
                kid = (pool, k.get("id"))
                if self.sent.get(kid) != k:
                    self.problems.append(f"{who}: {k!r} was not uploaded")
                elif kid in self.handed:
                    self.problems.append(f"{who}: {member} {kid[1]} "
                        f"handed out again, first to {self.handed[kid]}")
                else:
                    self.handed[kid] = who


async def upload(d, tok, pool, ids, first=False):
    c = await Client.connect(d, tok, name="owner")
    obj = {"op": "keys_upload", "ref": "u",
        "prekeys": pool.keys("pre", ids),
        "kem_prekeys": pool.keys("kem", ids)}
    if first:
        obj["identity"] = b64(b"race-identity")
        obj["signed_prekey"] = {"id": 1, "key": b64(b"spk"),
            "sig": b64(b"sig")}
    await c.send(obj)
    r = await c.recv_op(("ok", "error"))
    await c.close()
    if (r or {}).get("op") != "ok":
        raise Failure(f"keys_upload: {r!r}")


async def count(d, tok):
    c = await Client.connect(d, tok, name="owner")
    await c.send({"op": "keys_count"})
    r = await c.recv_op("keys_count") or {}
    await c.close()
    return (r.get("prekeys"), r.get("kem_prekeys"))


def one_write(d, tok, n, who, pool):
    """n keys_fetch frames in a single write on one connection: tickd
    reads them in one turn and takes their keys in one transaction."""
    ws = RawWS(d, tok)
    if ws.recv_json().get("op") != "ready":
        raise Failure("no ready")
    ws.sock.sendall(b"".join(RawWS.frame(1, json.dumps({"op": "keys_fetch",
        "user": "owner", "ref": i}).encode()) for i in range(n)))
    got = []
    while len(got) < n:
        f = ws.recv_json()
        if f.get("op") in ("keys", "error"):
            got.append(f)
    ws.close()
    for f in got:
        pool.record(who, f)
    return got


async def fetcher(d, tok, who, pool, rounds, burst):
    """rounds bursts of burst pipelined fetches on one connection."""
    c = await Client.connect(d, tok, name=who)
    n = 0
    try:
        for _ in range(rounds):
            for _ in range(burst):
                n += 1
                await c.send({"op": "keys_fetch", "user": "owner",
                    "ref": n})
            for _ in range(burst):
                f = await c.recv_op(("keys", "error"), 10)
                if f is None:
                    return
                pool.record(who, f)
    except (Closed, websockets.ConnectionClosed, OSError):
        pass
    finally:
        await c.close()


async def main(t):
    with Daemon(keys_fetch_rate=0) as d:
        towner = token_for(d, "owner", new=True)
        toks = [token_for(d, f"u{i}", new=True) for i in range(8)]
        pool = Pool()

        await upload(d, towner, pool, range(100, 105), first=True)
        c0 = metrics(d).get("tickd_commits_total", 0)
        got = await asyncio.get_event_loop().run_in_executor(None,
            one_write, d, toks[0], 8, "u0", pool)
        c1 = metrics(d).get("tickd_commits_total", 0)
        t.ok(not pool.problems and len(pool.handed) == 10 and
            all(f.get("op") == "keys" for f in got) and
            [f.get("ref") for f in got] == list(range(8)),
            "8 fetches in one write for 5+5 keys: each key once, the "
            "others null, replies in order", "\n".join(pool.problems[:10]))
        t.ok(c1 - c0 < 8, "those fetches shared group commits (one turn "
            "takes keys for several fetches)",
            f"{c1 - c0} commits for 8 fetches")

        # Several connections racing for the last keys.
        await upload(d, towner, pool, range(200, 220))
        await asyncio.gather(*(fetcher(d, tok, f"u{i}", pool, 4, 3)
            for i, tok in enumerate(toks)))
        t.ok(not pool.problems and len(pool.handed) == 10 + 40 and
            await count(d, towner) == (0, 0),
            "8 connections, 96 pipelined fetches for the last 20+20 keys: "
            "every key handed out exactly once",
            "\n".join(pool.problems[:10]) +
            f"\nhanded {len(pool.handed)}")

        # Across SIGKILLs: what a keys reply handed out before the kill
        # is never handed out again.
        rng = random.Random()
        kills = []
        base = 1000
        for cycle in range(3):
            await upload(d, towner, pool, range(base, base + 90))
            base += 1000
            before = len(pool.handed)
            work = [asyncio.ensure_future(fetcher(d, tok, f"u{i}", pool,
                1000, rng.randint(1, 3))) for i, tok in enumerate(toks)]
            # Kill in the middle of the race: once some of the 180
            # keys are handed out, while fetches are on the wire.
            target = before + rng.randint(10, 170)
            while len(pool.handed) < target and \
                    not all(w.done() for w in work):
                await asyncio.sleep(0.001)
            d.kill()
            await asyncio.gather(*work)
            kills.append(len(pool.handed) - before)
            d.start()
            # Drain what is left, from every connection at once.
            await asyncio.gather(*(fetcher(d, tok, f"u{i}", pool, 30, 2)
                for i, tok in enumerate(toks)))
        left = await count(d, towner)
        t.ok(not pool.problems and left == (0, 0),
            "3 SIGKILLs during fetch races: no one-time key handed out "
            "twice, before or after a kill",
            "\n".join(pool.problems[:10]) + f"\nleft {left}")
        t.diag(f"keys handed out before each kill: {kills}; in all "
            f"{len(pool.handed)} of {len(pool.sent)}")


run(main, 4, timeout=120)
