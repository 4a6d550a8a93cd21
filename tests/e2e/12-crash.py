#!/usr/bin/python3
# The crash test.  Five cycles of: concurrent senders pushing bursts, an
# online recipient acking some of what it gets, SIGKILL at a random moment,
# restart on the same data_dir, then drain every recipient.  "sent" means
# durably committed (protocol.md section 5), so every mid answered sent must
# be delivered unless it was acked before the kill; an ack answered ok never
# comes back; every body arrives intact (it carries its checksum).
# TICKD_SEED=N replays a run's kill times and bodies.

import asyncio
import hashlib
import json
import os
import random
import sys

import websockets

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

CYCLES = 5
SENDERS = ["s0", "s1", "s2", "s3"]
RECIPIENTS = ["r0", "r1"]
MAX_PER_SENDER = 5000     # a bound; the kill should come first
PAD = "abcdefghij0123456789\u00e9\u2713\U0001f600 \"\\/"
GONE = (Closed, websockets.ConnectionClosed, OSError)


def checksum(p):
    return hashlib.sha256(json.dumps(p, sort_keys=True,
        separators=(",", ":")).encode()).hexdigest()


def make_body(rng, cycle, sender, n, to):
    off, size = rng.randrange(len(PAD)), rng.randint(0, 2000)
    p = {"c": cycle, "s": sender, "n": n, "to": to,
        "pad": (PAD * (size // len(PAD) + 2))[off:off + size]}
    return {"p": p, "sum": checksum(p)}


def intact(body):
    return isinstance(body, dict) and isinstance(body.get("p"), dict) and \
        body.get("sum") == checksum(body["p"])


class State:
    def __init__(self):
        self.attempted = {}     # id -> (sender, to, body)
        self.confirmed = {}     # mid -> id, answered sent
        self.acked = set()      # mids whose ack was answered ok
        self.ack_sent = set()   # mids an ack went out for, answered or not
        self.seen = set()       # every mid seen so far
        self.probs = []


async def sender(d, st, name, tok, rng, cycle, stop):
    mids = []
    try:
        c = await Client.connect(d, tok, name=name)
        n = 0
        while not stop.is_set() and n < MAX_PER_SENDER:
            batch = []
            for _ in range(rng.randint(1, 8)):
                i = f"c{cycle}-{name}-{n}"
                to = rng.choice(RECIPIENTS)
                body = make_body(rng, cycle, name, n, to)
                st.attempted[i] = (name, to, body)
                batch.append(i)
                n += 1
                await c.send({"op": "send", "to": to, "id": i,
                    "body": body})
            for i in batch:
                r = await c.recv_op(("sent", "error"), 10)
                if r is None:
                    st.probs.append(f"{name}: no reply to {i}")
                    return mids
                if r.get("op") != "sent" or r.get("id") != i or \
                        r.get("to") != st.attempted[i][1]:
                    st.probs.append(f"{name}: {i} answered {r!r}")
                    continue
                if r.get("mid") in st.confirmed:
                    st.probs.append(f"mid {r.get('mid')} answered twice")
                st.confirmed[r.get("mid")] = i
                mids.append(r.get("mid"))
    except GONE:
        pass
    return mids


async def acker(d, st, tok, rng, stop):
    """r0 online: gets pushes, acks about half, notes confirmed acks."""
    try:
        c = await Client.connect(d, tok, name="r0")
        while not stop.is_set():
            f = await c.recv_op(("msg", "ok"), 0.2)
            if f is None:
                continue
            if f["op"] == "ok":
                st.acked.add(f.get("ref"))
                continue
            check_msg(st, "r0", f)
            if rng.random() < 0.5:
                st.ack_sent.add(f["mid"])
                await c.send({"op": "ack", "mid": f["mid"],
                    "ref": f["mid"]})
    except GONE:
        pass


def check_msg(st, who, f):
    i = f.get("id")
    if i not in st.attempted:
        st.probs.append(f"{who}: a message nobody sent: {f!r}"[:300])
        return
    s, to, body = st.attempted[i]
    if f.get("from") != s or f.get("to") != to or to != who:
        st.probs.append(f"{who}: {i} has from/to {f.get('from')}/"
            f"{f.get('to')}, sent by {s} to {to}")
    if not intact(f.get("body")) or f.get("body") != body:
        st.probs.append(f"{who}: {i} (mid {f.get('mid')}) body corrupt")
    mid = f.get("mid")
    if mid in st.confirmed and st.confirmed[mid] != i:
        st.probs.append(f"{who}: mid {mid} was answered for "
            f"{st.confirmed[mid]} but carries {i}")


async def drain(d, st, who, tok):
    """Take everything r's queue holds, acking as it comes."""
    c = await Client.connect(d, tok, name=who)
    got, batch, k = [], [], 0
    while True:
        f = await c.recv_op("msg", 0.3 if batch else 1.5)
        if f is not None:
            check_msg(st, who, f)
            got.append(f["mid"])
            batch.append(f["mid"])
        if batch and (f is None or len(batch) >= 64):
            k += 1
            ok = await c.request({"op": "ack", "mids": batch,
                "ref": f"drain-{k}"})
            if ok != {"op": "ok", "ref": f"drain-{k}"}:
                st.probs.append(f"{who}: ack answered {ok!r}")
            else:
                st.acked.update(batch)
            batch = []
        elif f is None:
            break
    await c.close()
    return got


async def cycle(t, d, st, toks, rng, n):
    kill_at = rng.uniform(0.2, 1.2)
    st.probs = []
    before = set(st.seen)
    acked_before = set(st.acked)
    stop = asyncio.Event()
    senders = [asyncio.ensure_future(sender(d, st, s, toks[s],
        random.Random(rng.random()), n, stop)) for s in SENDERS]
    ack = asyncio.ensure_future(acker(d, st, toks["r0"],
        random.Random(rng.random()), stop))
    await asyncio.sleep(kill_at)
    d.kill()
    stop.set()
    per_sender = await asyncio.wait_for(asyncio.gather(*senders), 15)
    await asyncio.wait_for(ack, 5)
    killed_acked = set(st.acked)

    d.start()
    got = await asyncio.gather(*(drain(d, st, r, toks[r])
        for r in RECIPIENTS))

    confirmed = {m for ms in per_sender for m in ms}
    delivered = {}
    for r, mids in zip(RECIPIENTS, got):
        if not increasing(mids):
            st.probs.append(f"{r}: drained out of mid order or twice")
        for m in mids:
            delivered.setdefault(m, r)
    # an ack that went out unanswered may or may not have been applied
    missing = sorted(m for m in confirmed
        if m not in delivered and m not in st.ack_sent)
    back = sorted(m for m in delivered if m in acked_before or
        m in killed_acked)
    if missing:
        st.probs.append(f"{len(missing)} mids answered sent never came: "
            f"{missing[:8]}")
    if back:
        st.probs.append(f"{len(back)} acked mids came back: {back[:8]}")
    for s, ms in zip(SENDERS, per_sender):
        if not increasing(ms):
            st.probs.append(f"{s}: its mids do not increase")
    new = confirmed | set(delivered)
    keys = [mid_key(m) for m in new if mid_key(m)]
    if len(keys) < len(new):
        st.probs.append("mids that are not <ms>-<seq>: "
            f"{[m for m in new if not mid_key(m)][:5]}")
    if before and keys and min(keys) <= max(map(mid_key, before)):
        st.probs.append("a mid of this cycle is not above every earlier one")
    st.seen |= {m for m in new if mid_key(m)}
    tried = sum(1 for i in st.attempted if i.startswith(f"c{n}-"))
    t.ok(not st.probs, f"cycle {n + 1}: SIGKILL after {kill_at:.2f} s "
        "loses nothing answered sent", st.probs[:20])
    t.diag(f"sends tried {tried}, answered sent {len(confirmed)}, acked "
        f"before the kill {len(killed_acked - acked_before)}, drained after "
        f"it {len(delivered)}")


async def main(t):
    seed = int(os.environ.get("TICKD_SEED") or random.randrange(1 << 30))
    t.diag(f"seed {seed} (TICKD_SEED={seed} replays it)")
    rng = random.Random(seed)
    with Daemon() as d:
        toks = {u: token_for(d, u, new=True) for u in SENDERS + RECIPIENTS}
        st = State()
        for n in range(CYCLES):
            await cycle(t, d, st, toks, rng, n)
        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM after the crashes")


run(main, CYCLES + 1)
