#!/usr/bin/python3
# A crash loop of three tickd nodes on one real redis-server
# (tickd-cluster(7)): alice on n1, bob on n2 and carol on n3 send each other
# messages with unique ids, and each sends one to the group #crew, homed on
# n1, of which all three are members; alice adds dave (homed on n2) to
# #crew and removes him again, turn about, while they send; all four ack
# what they get, while every cycle a random node or Redis is SIGKILLed and
# started again (Redis always empty).  Sends not answered sent are sent
# again with the same id.  After a quiet end:
#
# - every message answered sent reached its recipient (for #crew: each
#   other member), under one mid only (the same mid more than once is the
#   at-least-once redelivery of an item whose ack was lost with a kill);
# - a message to #crew reached dave or not; alice's (homed with #crew on
#   n1) reached as many members as its sent's expect, the other members
#   when it was committed; bob's and carol's one more or one fewer at most,
#   as their homes take expect from the group's mirror, which may not have
#   had dave's latest change yet (tickd-cluster(7) GROUPS);
# - nothing reached anyone that nobody sent;
# - no item whose ack was answered ok came again;
# - every message got exactly one delivered receipt (counted by receipt
#   mid) per user it reached, with "for" the mid its sent had;
# - alice, bob and carol saw #crew's events with versions 1, 2, ... and
#   no gap; dave saw no version under two mids;
# - alice, bob and carol each uploaded one media ID on their home, and
#   many messages name one, owned by the sender's home, the recipient's
#   or a third node (the group's messages their sender's): once all is
#   acked, no ID counts a reference, and tickctl verify finds each
#   node's store consistent (tickd-cluster(7) Media in messages between
#   nodes).
#
# TICKD_CLUSTER_CYCLES sets the number of cycles (20 by default);
# TICKD_SEED replays a run.

import asyncio
import json
import os
import random
import sys

import websockets

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()

CYCLES = int(os.environ.get("TICKD_CLUSTER_CYCLES", "20"))
USERS = {"alice": 1, "bob": 2, "carol": 3}
GROUP = "#crew"
DAVE = "dave"           # on n2, added to and removed from GROUP by alice


class Peer:
    """One user's device: a connection that comes back after each kill,
    acking every msg and receipt it gets."""

    def __init__(self, model, user, node):
        self.m = model
        self.user = user
        self.node = node
        self.token = None
        self.ws = None
        self.refs = {}
        self.nref = 0
        self.task = None

    async def run(self):
        while not self.m.done:
            try:
                self.ws = await websockets.connect(
                    f"ws://127.0.0.1:{self.node.port}/v1/ws",
                    extra_headers={"Authorization": f"Bearer {self.token}"},
                    ping_interval=None, close_timeout=1, open_timeout=3)
                async for raw in self.ws:
                    self.frame(json.loads(raw))
            except (OSError, asyncio.TimeoutError,
                    websockets.WebSocketException):
                pass
            self.ws = None
            for fut in self.refs.values():
                if not fut.done():
                    fut.set_result(None)
            self.refs = {}
            await asyncio.sleep(0.2)

    def frame(self, f):
        op = f.get("op")
        ref = f.get("ref")
        if ref in self.refs and op in ("sent", "ok", "error", "group_info"):
            fut = self.refs.pop(ref)
            if not fut.done():
                fut.set_result(f)
            return
        # Acks wait for their ok, which this reader must go on to read.
        if op == "msg":
            self.m.on_msg(self.user, f)
            asyncio.create_task(self.ack(f["mid"]))
        elif op == "receipt":
            self.m.on_receipt(self.user, f)
            asyncio.create_task(self.ack(f["mid"]))
        elif op == "group_event":
            self.m.on_event(self.user, f)
            asyncio.create_task(self.ack(f["mid"]))

    async def call(self, obj, timeout=5):
        """Send obj with a ref; the reply, or None (link gone, timeout)."""
        if self.ws is None:
            return None
        self.nref += 1
        obj["ref"] = self.nref
        fut = asyncio.get_running_loop().create_future()
        self.refs[self.nref] = fut
        try:
            await self.ws.send(json.dumps(obj))
            return await asyncio.wait_for(fut, timeout)
        except (OSError, asyncio.TimeoutError,
                websockets.WebSocketException):
            return None

    async def ack(self, mid):
        r = await self.call({"op": "ack", "mid": mid})
        if r is not None and r.get("op") == "ok":
            self.m.acked.add((self.user, mid))


class Model:
    def __init__(self):
        self.done = False
        self.sent = {}          # (from, id) -> (to, mid)
        self.expect = {}        # (from, id) -> expect of a group send
        self.changes = 0        # dave's adds and removes answered ok
        self.want = []          # (from, id, to) not answered sent yet
        self.got = {}           # (to, from, id) -> set of local mids
        self.acked = set()      # (user, mid) whose ack was answered ok
        self.seen = set()       # (user, mid) delivered at least once
        self.receipts = {}      # (from, for) -> {receipt mid: by}
        self.versions = {}      # user -> {version: event mid}
        self.media = {}         # user -> the ID uploaded on its home
        self.problems = []

    def media_for(self, frm, mid_id, to):
        """The media a send names, the same each time it is sent: for
        #crew the sender's; for the second of a pair a third user's; for
        the first, on odd cycles, the recipient's."""
        if to == GROUP:
            return [self.media[frm]]
        if mid_id.endswith("-1"):
            return [self.media[u] for u in USERS if u not in (frm, to)]
        cycle = mid_id.split("-")[0][1:]
        return [self.media[to]] if cycle.isdigit() and int(cycle) % 2 \
            else []

    def on_msg(self, user, f):
        key = (user, f.get("from"), f.get("id"))
        if (user, f["mid"]) in self.acked:
            self.problems.append(f"{user} got {f['mid']} again after its "
                "ack was answered ok")
        self.got.setdefault(key, set()).add(f["mid"])

    def on_receipt(self, user, f):
        if (user, f["mid"]) in self.acked:
            self.problems.append(f"{user} got receipt {f['mid']} again "
                "after its ack was answered ok")
        if f.get("status") == "delivered":
            self.receipts.setdefault((user, f.get("for")), {})[
                f["mid"]] = f.get("by")

    def on_event(self, user, f):
        if (user, f["mid"]) in self.acked:
            self.problems.append(f"{user} got event {f['mid']} again "
                "after its ack was answered ok")
        seen = self.versions.setdefault(user, {})
        if seen.setdefault(f.get("version"), f["mid"]) != f["mid"]:
            self.problems.append(f"{user}: version {f.get('version')} "
                f"under {seen[f.get('version')]} and {f['mid']}")

    def recipients(self, frm, to):
        """Who a message from frm to to must reach."""
        return [u for u in USERS if u != frm] if to == GROUP else [to]

    def expect_ok(self, frm, mid_id, to):
        """Whether a group message reached as many members as its sent's
        expect promised: exactly from the group's home, within dave's one
        change from a member's home reading the mirror."""
        n, e = len(self.reached(frm, mid_id, to)), self.expect.get(
            (frm, mid_id))
        if e is None:
            return False
        return n == e if USERS[frm] == 1 else abs(n - e) <= 1

    def reached(self, frm, mid_id, to):
        """Who a message reached: its recipients, and dave if he got a
        message to the group."""
        r = self.recipients(frm, to)
        if to == GROUP and (DAVE, frm, mid_id) in self.got:
            r = r + [DAVE]
        return r


async def send_round(m, peers, rng, cycle):
    """Each user sends two messages to each other user (none when cycle is
    None), then resends what was never answered sent."""
    jobs = []
    for frm in USERS if cycle is not None else ():
        for to in USERS:
            if to != frm:
                for k in range(2):
                    m.want.append((frm, f"c{cycle}-{frm}-{to}-{k}", to))
        m.want.append((frm, f"c{cycle}-{frm}-crew", GROUP))
    left = []
    for frm, mid_id, to in m.want:
        jobs.append((frm, mid_id, to))
    for frm, mid_id, to in jobs:
        req = {"op": "send", "to": to, "id": mid_id, "body": mid_id}
        media = m.media_for(frm, mid_id, to)
        if media:
            req["media"] = media
        r = await peers[frm].call(req)
        if r is not None and r.get("op") == "sent":
            prev = m.sent.get((frm, mid_id))
            if prev is not None and prev[1] != r["mid"]:
                m.problems.append(f"{frm}/{mid_id}: sent {prev[1]}, then "
                    f"{r['mid']}")
            m.sent[(frm, mid_id)] = (to, r["mid"])
            if to == GROUP:
                e = m.expect.setdefault((frm, mid_id), r.get("expect"))
                if e != r.get("expect"):
                    m.problems.append(f"{frm}/{mid_id}: expect {e}, then "
                        f"{r.get('expect')}")
        else:
            left.append((frm, mid_id, to))
        if rng.random() < 0.1:
            await asyncio.sleep(rng.random() * 0.05)
    m.want = left


async def change_dave(m, alice, add):
    """alice adds dave to the group or removes him; a change whose answer
    a kill took is left undecided, the sent expects telling the rest."""
    r = await alice.call({"op": "group_add" if add else "group_remove",
        "group": GROUP, "users": [DAVE]})
    if r is not None and r.get("op") in ("ok", "group_info"):
        m.changes += 1


async def wait_async(pred, timeout):
    """Like wait_for, letting the peers run meanwhile."""
    if VALGRIND:
        timeout *= 4
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        await asyncio.sleep(0.2)


async def main(t):
    seed = int(os.environ.get("TICKD_SEED", random.randrange(1 << 30)))
    t.diag(f"TICKD_SEED={seed} TICKD_CLUSTER_CYCLES={CYCLES}")
    rng = random.Random(seed)
    m = Model()
    with Cluster() as cl:
        peers = {}
        for user, i in list(USERS.items()) + [(DAVE, 2)]:
            d = cl.node(i)
            if register(d, user).status != 201:
                raise Failure(f"register {user}")
            p = Peer(m, user, d)
            p.token = token_for(d, user)
            peers[user] = p
        for p in peers.values():
            p.task = asyncio.create_task(p.run())
        await wait_async(lambda: all(p.ws is not None
            for p in peers.values()), 10)
        r = await peers["alice"].call({"op": "group_create", "group": GROUP,
            "title": "crew", "members": ["bob", "carol"]})
        if r is None or r.get("op") != "group_info":
            raise Failure(f"group_create: {r!r}")
        for user, i in USERS.items():
            r = http_request(cl.node(i), "POST", "/v1/media",
                body=os.urandom(1000), token=peers[user].token,
                headers={"Content-Type": "image/png"})
            if r.status != 201:
                raise Failure(f"upload by {user}: {r!r}")
            m.media[user] = r.json["media"]
        for cycle in range(CYCLES):
            sender = asyncio.create_task(send_round(m, peers, rng, cycle))
            change = asyncio.create_task(change_dave(m, peers["alice"],
                cycle % 2 == 0))
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            victim = rng.choice(["n1", "n2", "n3", "redis"])
            if victim == "redis":
                cl.redis.stop()
            else:
                cl.node(int(victim[1])).kill()
            await sender
            await change
            await asyncio.sleep(rng.uniform(0, 0.3))
            if victim == "redis":
                cl.redis.start()
            else:
                cl.node(int(victim[1])).start()
            cl.wait_up()
            t.diag(f"cycle {cycle}: killed {victim}; {len(m.sent)} sent, "
                f"{len(m.want)} to send again, {m.changes} changes of "
                f"{DAVE}")
        # Quiet end: resend what was never answered, then wait for it all.
        for _ in range(10):
            if not m.want:
                break
            await send_round(m, peers, rng, None)
            t.diag(f"end: {len(m.want)} to send again; connected: "
                f"{[u for u, p in peers.items() if p.ws is not None]}")
            await asyncio.sleep(1)
        t.eq(m.want, [], "every send was answered sent in the end")

        def quiet():
            if any((cluster_metric(d, "tickd_cluster_outbox") or 0) != 0
                    for d in cl.nodes):
                return False
            return all((u, frm, i) in m.got and len(m.receipts.get(
                (frm, mid), ())) == len(m.reached(frm, i, to)) and
                (to != GROUP or m.expect_ok(frm, i, to))
                for (frm, i), (to, mid) in m.sent.items()
                for u in m.recipients(frm, to))
        t.ok(await wait_async(quiet, 90), "the outboxes drain, every "
            "message arrives and its receipt comes back")

        def refs():
            out = {}
            for user, i in USERS.items():
                r = tickctl(cl.node(i), "media", "show", m.media[user])
                out[user] = r.get("refs") if r.ok else None
            return out
        named = sum(1 for (frm, i), (to, _) in m.sent.items()
            if m.media_for(frm, i, to))
        t.ok(await wait_async(lambda: set(refs().values()) == {0} and all(
            (cluster_metric(d, "tickd_cluster_outbox") or 0) == 0
            for d in cl.nodes), 60), f"all acked: the three media IDs "
            f"count no reference ({named} messages named one)", refs())
        bad = {d.conf["node_name"]: v for d in cl.nodes
            for v in [tickctl(d, "verify")]
            if not (v.ok and v.get("consistent") is True)}
        t.eq(bad, {}, "tickctl verify on each node: consistent")
        await asyncio.sleep(2)
        m.done = True
        for p in peers.values():
            if p.ws is not None:
                await p.ws.close()
            p.task.cancel()

    lost = [(frm, i, u) for (frm, i), (to, _) in m.sent.items()
        for u in m.recipients(frm, to) if (u, frm, i) not in m.got]
    t.eq(lost, [], f"all {len(m.sent)} messages answered sent arrived")
    multi = {k: v for k, v in m.got.items() if len(v) > 1}
    t.eq(multi, {}, "each arrived under one mid only")
    sent_keys = {(u, frm, i) for (frm, i), (to, _) in m.sent.items()
        for u in m.recipients(frm, to) + ([DAVE] if to == GROUP else [])}
    unsent = [k for k in m.got if k not in sent_keys]
    t.eq(unsent, [], "nothing arrived that was not sent")
    bad = []
    for (frm, i), (to, mid) in m.sent.items():
        by = sorted(m.receipts.get((frm, mid), {}).values())
        if by != sorted(m.reached(frm, i, to)):
            bad.append((frm, i, mid, by))
    t.eq(bad, [], "exactly one delivered receipt per message and "
        "user it reached")
    wrong = [(frm, i, m.reached(frm, i, to), m.expect.get((frm, i)))
        for (frm, i), (to, _) in m.sent.items() if to == GROUP and
        not m.expect_ok(frm, i, to)]
    with_dave = sum(1 for (frm, i), (to, _) in m.sent.items()
        if to == GROUP and DAVE in m.reached(frm, i, to))
    off = sum(1 for (frm, i), (to, _) in m.sent.items() if to == GROUP
        and len(m.reached(frm, i, to)) != m.expect.get((frm, i)))
    t.ok(not wrong and with_dave > 0, f"each message to {GROUP} reached "
        f"as many members as its sent's expect, or from a member's home "
        f"one more or fewer ({with_dave} of them {DAVE}, {off} off by one, "
        f"after {m.changes} adds and removes)", wrong)
    gaps = {u: sorted(v) for u, v in m.versions.items()
        if u in USERS and sorted(v) != list(range(1, len(v) + 1))}
    t.ok(not gaps and all(u in m.versions for u in USERS),
        f"{GROUP}'s events reached every member with no gap in versions",
        (gaps, m.versions))
    t.eq(m.problems, [], "no acked item came back, no id changed its mid")


run(main, 11, timeout=max(600, 30 * CYCLES))
