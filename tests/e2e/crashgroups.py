"""
crashgroups.py: group traffic for tickd's crash-consistency harness, behind
tests/e2e/66-groups-crash.py (three cycles under make check) and
tests/crash-loop (a group cycle after every cycle of crashlib.py).

One run: g0 owns #crash with members g1, g2 and g3; g1 has two devices.
One cycle: g1 and g2 send bursts of group messages while g0 adds and
removes g4 in turn and every online device acks what it gets; SIGKILL at
a random moment; `tickctl verify` on the dead store; restart; every device
drains its queue and acks it all.  The owner g0 is a member throughout and
gets every event, so its events are the group's history.  Checked against
tickd-protocol(7) GROUPS:

- the owner's events have versions 1, 2, 3... with no gap, each once;
- every change answered ok is among them;
- every message answered sent, and every message any device got, reached
  every device of every user that was a member when it was committed (the
  events before its mid) but its sender's sending device, and no device of
  anyone else: all or nothing, as promised;
- every sent carries the promise it kept: `expect` is the number of
  members other than the sender when the message was committed, and
  `skipped` the number of those devices that never got it (0 here, as no
  queue nears max_queue);
- every device gets exactly the events queued for it (members after the
  change, and the removed user), in mid order, with no gap;
- an item whose ack was answered ok never comes back; mids increase on a
  connection;
- `tickctl verify` finds the store consistent.

A send or change not yet answered when the kill came may have been
committed or not; either is accepted, but it must then be whole.
"""

import asyncio
import bisect
import hashlib
import json
import random
import subprocess
import time

from crashlib import GONE, Failure, tickctl_path
from tickd_test import Client, Daemon, mid_key, register, token_for

USERS = ["g0", "g1", "g2", "g3", "g4"]
DEVICES = [("g0", "a"), ("g1", "a"), ("g1", "b"), ("g2", "a"),
    ("g3", "a"), ("g4", "a")]
GROUP = "#crash"
QUIET = 0.6


def kept(f):
    """What a device keeps of an item: a group event whole (check()
    rebuilds the membership from them), any other frame as its op, id,
    mid and a digest of the whole, which is enough to see it come back
    changed without keeping every body of a long run."""
    if f.get("op") == "group_event":
        return f
    return {"op": f.get("op"), "id": f.get("id"), "mid": f.get("mid"),
        "digest": hashlib.sha256(json.dumps(f, sort_keys=True).encode())
        .hexdigest()}


class Dev:
    """One device: every item it got, acked in batches with a ref."""

    def __init__(self, h, user, device):
        self.h = h
        self.user = user
        self.device = device
        self.name = f"{user}:{device}"
        self.items = {}         # mid -> kept(frame), over the whole run
        self.acked = set()      # mids whose ack was answered ok
        self.pending = {}       # ref -> mids
        self.to_ack = []
        self.waiters = {}       # id or ref -> future
        self.last = None
        self.c = None
        self.tasks = []
        self.nref = 0

    async def open(self):
        self.last = None
        self.c = await Client.connect(self.h.d, self.h.toks[self.name],
            name=self.name)
        self.tasks = [asyncio.ensure_future(self.reader()),
            asyncio.ensure_future(self.flusher())]

    async def close(self):
        for t in self.tasks:
            t.cancel()
        # Python 3.11's wait_for can swallow a cancel that races a frame:
        # the closed connection ends such a reader too.
        if self.c is not None:
            await self.c.close()
        for t in self.tasks:
            try:
                await t
            except (asyncio.CancelledError, *GONE):
                pass
        # Acks not answered may or may not have been applied.
        self.pending.clear()
        self.to_ack.clear()

    async def reader(self):
        try:
            while True:
                f = await self.c.recv(3600)
                self.h.last_frame = time.monotonic()
                self.dispatch(f)
        except GONE:
            for w in self.waiters.values():
                if not w.done():
                    w.set_result(None)

    async def flusher(self):
        try:
            while True:
                await asyncio.sleep(0.02)
                while self.to_ack:
                    mids, self.to_ack = self.to_ack[:512], self.to_ack[512:]
                    self.nref += 1
                    ref = f"ack-{self.nref}"
                    self.pending[ref] = mids
                    await self.c.send({"op": "ack", "mids": mids,
                        "ref": ref})
        except GONE:
            pass

    def dispatch(self, f):
        op = f.get("op")
        if op in ("msg", "group_event", "receipt"):
            mid = f.get("mid")
            k = mid_key(mid)
            if k is None or (self.last is not None and k <= self.last):
                self.h.problem(f"{self.name}: {mid} out of mid order")
            self.last = k
            if mid in self.acked:
                self.h.problem(f"{self.name}: {mid} came back after its "
                    "ack was answered ok")
            k = kept(f)
            if mid in self.items and self.items[mid] != k:
                self.h.problem(f"{self.name}: {mid} changed: {f!r}")
            self.items[mid] = k
            self.to_ack.append(mid)
        elif op == "ok" and f.get("ref") in self.pending:
            self.acked.update(self.pending.pop(f["ref"]))
        elif op in ("sent", "ok", "error", "group_info"):
            key = f.get("id") if op == "sent" or f.get("id") else \
                f.get("ref")
            w = self.waiters.pop(key, None)
            if w is not None and not w.done():
                w.set_result(f)
        else:
            self.h.problem(f"{self.name}: unexpected {f!r}"[:300])

    async def request(self, key, obj):
        w = asyncio.get_event_loop().create_future()
        self.waiters[key] = w
        await self.c.send(obj)
        try:
            return await asyncio.wait_for(w, 10)
        except asyncio.TimeoutError:
            return None

    def busy(self):
        return bool(self.pending or self.to_ack)


class GroupHarness:
    """One tickd, one group, its members' devices over the cycles."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.d = Daemon(name="crashgroups", log_level="warn", send_rate=0,
            login_rate=0)
        self.toks = {}
        self.devs = {}
        self.sent = {}          # msg id -> (sender, device, mid)
        self.promised = {}      # msg id -> (expect, skipped) of its sent
        self.tried = {}         # msg id -> (sender, device)
        self.changes = []       # (event, user) answered ok
        self.probs = []
        self.n = 0
        self.last_frame = 0
        self.kills = []
        self.tickctl = tickctl_path()

    def problem(self, text):
        if len(self.probs) < 200:
            self.probs.append(text[:400])

    async def start(self):
        self.d.start()
        # Registered without a login: a login without a device name makes
        # a device that no one reads, and its full queue would be skipped.
        for u in USERS:
            r = register(self.d, u)
            if r.status != 201:
                raise Failure(f"register {u}: {r!r}")
        for u, dv in DEVICES:
            self.toks[f"{u}:{dv}"] = token_for(self.d, u, dv)
            self.devs[f"{u}:{dv}"] = Dev(self, u, dv)
        owner = self.devs["g0:a"]
        await owner.open()
        r = await owner.request("create", {"op": "group_create",
            "group": GROUP, "title": "crash", "members": ["g1", "g2", "g3"],
            "ref": "create"})
        await owner.close()
        if r is None or r.get("op") != "group_info":
            raise Failure(f"group_create: {r!r}")

    async def sender(self, dev, stop):
        rng, n = random.Random(self.rng.random()), 0
        try:
            while not stop.is_set():
                ids = []
                for _ in range(rng.randint(1, 6)):
                    i = f"c{self.n}-{dev.name}-{n}"
                    n += 1
                    self.tried[i] = (dev.user, dev.device)
                    ids.append(i)
                replies = await asyncio.gather(*(dev.request(i, {
                    "op": "send", "to": GROUP, "id": i,
                    "body": {"i": i}}) for i in ids))
                for i, r in zip(ids, replies):
                    if r is None:
                        return
                    if r.get("op") == "sent":
                        self.sent[i] = (dev.user, dev.device, r["mid"])
                        self.promised[i] = (r.get("expect"),
                            r.get("skipped"))
                    elif r.get("code") != "no_such_group":
                        self.problem(f"{dev.name}: {i}: {r!r}")
        except GONE:
            pass

    async def changer(self, owner, stop):
        """Toggles g4's membership; each change answered ok must show."""
        rng, n = random.Random(self.rng.random()), 0
        info = await owner.request("info", {"op": "group_info",
            "group": GROUP, "ref": "info"})
        if info is None or info.get("op") != "group_info":
            self.problem(f"group_info: {info!r}")
            return
        inside = any(m["user"] == "g4" for m in info["members"])
        try:
            while not stop.is_set():
                op = "group_remove" if inside else "group_add"
                n += 1
                ref = f"chg-{self.n}-{n}"
                r = await owner.request(ref, {"op": op, "group": GROUP,
                    "users": ["g4"], "ref": ref})
                if r is None:
                    return
                if r.get("op") != "ok":
                    self.problem(f"{op} g4: {r!r}")
                    return
                self.changes.append((op, ref))
                inside = not inside
                await asyncio.sleep(rng.uniform(0, 0.05))
        except GONE:
            pass

    def verify(self):
        if self.tickctl is None:
            return
        p = subprocess.run([self.tickctl, "-j", "-d", self.d.data_dir,
            "verify"], capture_output=True, timeout=60,
            stdin=subprocess.DEVNULL)
        try:
            v = json.loads(p.stdout.decode(errors="replace"))
        except ValueError:
            v = {}
        if p.returncode != 0 or v.get("consistent") is not True:
            self.problem(f"tickctl verify (status {p.returncode}): "
                f"{p.stdout.decode(errors='replace').strip()[:300]}")

    async def wait_quiet(self, limit=30):
        deadline = time.monotonic() + limit
        self.last_frame = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if any(d.busy() for d in self.devs.values()):
                continue
            if time.monotonic() - self.last_frame >= QUIET:
                return
        self.problem(f"the queues did not drain within {limit} s")

    def check(self):
        owner = self.devs["g0:a"]
        events = sorted((f for f in owner.items.values()
            if f.get("op") == "group_event"), key=lambda f: mid_key(
            f["mid"]))
        vs = [f["version"] for f in events]
        if vs != list(range(1, len(vs) + 1)):
            self.problem(f"the owner's versions are not 1..n: {vs[:40]}")
        # Membership after each event, from the history.
        members = set()
        history = []            # (mid key, members after, recipients)
        for f in events:
            before = set(members)
            if f["event"] == "created":
                members = {m["user"] for m in f["members"]}
                rcpt = set(members)
            elif f["event"] == "added":
                members |= set(f["users"])
                rcpt = set(members)
            elif f["event"] in ("removed", "left"):
                members -= set(f["users"])
                rcpt = set(members) | set(f["users"])
            else:
                rcpt = set(members)
            if f["event"] in ("added", "removed") and members == before:
                self.problem(f"event {f['mid']} changed nothing: {f!r}")
            history.append((mid_key(f["mid"]), set(members), rcpt, f))
        # Every change answered ok left its event; one not answered at a
        # kill may have, or not.
        n_ok = len(self.changes)
        n_ev = len(history) - 1
        if not n_ok <= n_ev <= n_ok + len(self.kills):
            self.problem(f"{n_ev} change events for {n_ok} changes "
                f"answered ok and {len(self.kills)} kills")

        # history is in mid order: the members after the last event
        # below k, found by halving (a run checks every message of every
        # cycle, against thousands of events).
        hks = [hk for hk, _, _, _ in history]

        def members_at(k):
            i = bisect.bisect_left(hks, k)
            return history[i - 1][1] if i else set()

        # Events per device: exactly those queued for its user.
        for d in self.devs.values():
            want = [f["mid"] for hk, _, rcpt, f in history
                if d.user in rcpt]
            got = sorted((m for m, f in d.items.items()
                if f.get("op") == "group_event"), key=mid_key)
            if got != want:
                diff = [(a, b) for a, b in zip(got + [None], want + [None])
                    if a != b][:1]
                self.problem(f"{d.name}: got {len(got)} events, "
                    f"{len(want)} were queued for it; first difference "
                    f"{diff}")
        # Messages: all or nothing, to exactly the members at commit.
        got_by = {}
        mids_of = {}
        for d in self.devs.values():
            for m, f in d.items.items():
                if f.get("op") == "msg":
                    got_by.setdefault(f["id"], set()).add(d.name)
                    mids_of.setdefault(f["id"], set()).add(f["mid"])
        ids = set(self.sent) | set(got_by)
        for i in sorted(ids):
            if i not in self.tried:
                self.problem(f"a message nobody sent: {i}")
                continue
            su, sd = self.tried[i]
            mids = set(mids_of.get(i, ()))
            if i in self.sent:
                mids.add(self.sent[i][2])
            if len(mids) != 1:
                self.problem(f"{i} has mids {sorted(mids)}")
                continue
            k = mid_key(mids.pop())
            mem = members_at(k)
            want = {d.name for d in self.devs.values()
                if d.user in mem and not (d.user == su and d.device == sd)}
            have = got_by.get(i, set())
            how = "sent" if i in self.sent else "not answered"
            if i in self.promised:
                expect, skipped = self.promised[i]
                if expect != len(mem - {su}) or skipped != 0:
                    self.problem(f"{i}: sent with expect {expect!r} and "
                        f"skipped {skipped!r}; {len(mem - {su})} other "
                        "members at its commit; missed by "
                        f"{sorted(want - have)}")
                    skipped = 0
            else:
                skipped = 0
            if not have <= want or len(want - have) != skipped:
                self.problem(f"{i} ({how}, skipped {skipped}) reached "
                    f"{sorted(have)}, the members' devices {sorted(want)}")

    async def cycle(self, n):
        self.n = n
        self.probs = []
        kill_at = self.rng.uniform(0.2, 1.0)
        stop = asyncio.Event()
        for d in self.devs.values():
            await d.open()
        work = [asyncio.ensure_future(self.sender(self.devs[k], stop))
            for k in ("g1:a", "g1:b", "g2:a")]
        work.append(asyncio.ensure_future(self.changer(self.devs["g0:a"],
            stop)))
        await asyncio.sleep(kill_at)
        self.d.kill()
        self.kills.append(kill_at)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*work), 20)
        for d in self.devs.values():
            await d.close()
        self.verify()
        self.d.start()
        for d in self.devs.values():
            await d.open()
        await self.wait_quiet()
        for d in self.devs.values():
            await d.close()
        self.check()
        return list(self.probs), (f"killed after {kill_at:.2f} s, "
            f"{len(self.sent)} group sends answered, {len(self.changes)} "
            "changes answered" + (", store verified" if self.tickctl else
            ""))


async def run_group_cycles(cycles, seed, report):
    """Runs cycles cycles of group traffic, calling report(n, problems,
    summary) after each; returns the total of problems."""
    h = GroupHarness(seed)
    total = 0
    try:
        await h.start()
        for n in range(cycles):
            probs, summary = await h.cycle(n)
            total += len(probs)
            report(n, probs, summary)
    finally:
        h.d.cleanup()
    return total
