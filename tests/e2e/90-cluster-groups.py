#!/usr/bin/python3
# Groups across the nodes of a cluster (tickd-cluster(7) GROUPS): #g is
# homed on n1, where alice created it, with members on n1, n2 and n3; n1
# mirrors it in tickd:g:{#g}.  Admin ops from bob on n2 (add, set, remove)
# and group_info from carol on n3 are remote calls to n1; members on n2
# and n3 send; every member device sees the same events and messages in
# the same order (a sender's own other devices hold its messages from the
# moment of sent); receipts come back from the members' homes; a removed
# member gets no more; groups is answered by each member's home.  Then n1
# is SIGKILLed while members on every node send, and restarted: every
# message that got a sent reaches every member device once, under one mid.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1
REPLIES = ("ok", "error", "group_info", "groups", "sent")
ITEMS = ("msg", "group_event")


class Dev:
    """A member device: its client and every item it got, acked."""

    def __init__(self, node, user, device):
        self.node, self.user, self.device = node, user, device
        self.items = []
        self.c = None

    async def connect(self):
        self.c = await Client.connect(self.node, token_for(self.node,
            self.user, self.device), name=f"{self.user}/{self.device}")
        return self

    async def drain(self, quiet=1.0):
        """Items until none came for quiet s; each acked."""
        while True:
            f = await self.c.recv_op(ITEMS, quiet * W)
            if f is None:
                return
            self.items.append(f)
            await self.c.send({"op": "ack", "mid": f["mid"]})

    async def req(self, obj, timeout=10):
        await self.c.send(obj)
        return await self.c.recv_op(REPLIES, timeout * W) or {}


def key(f):
    if f["op"] == "msg":
        return ("m", f["from"], f["id"])
    return ("e", f["version"], f["event"])


def seq(d):
    """d's items as keys, each mid once, the user's own messages left
    out; and the keys that came under two mids."""
    out, mids, twice = [], {}, []
    for f in d.items:
        k = key(f)
        if k in mids:
            if mids[k] != f["mid"]:
                twice.append(k)
            continue
        mids[k] = f["mid"]
        if k[0] == "m" and k[1] == d.user:
            continue
        out.append(k)
    return out, twice


def sublist(s, ref):
    """Whether s is a contiguous part of ref."""
    n = len(s)
    return n == 0 or any(ref[i:i + n] == s for i in range(len(ref) - n + 1))


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        homes = {"alice": n1, "frank": n1, "bob": n2, "dave": n2,
            "carol": n3, "erin": n3}
        for u, d in homes.items():
            register(d, u)
        al = await Dev(n1, "alice", "phone").connect()
        fr = await Dev(n1, "frank", "pc").connect()
        bl = await Dev(n2, "bob", "laptop").connect()
        bp = await Dev(n2, "bob", "phone").connect()
        ca = await Dev(n3, "carol", "tab").connect()
        da = await Dev(n2, "dave", "pc").connect()
        er = await Dev(n3, "erin", "pc").connect()
        devs = [al, fr, bl, bp, ca, da, er]

        r = await al.req({"op": "group_create", "group": "#g", "title": "G",
            "members": ["bob", "carol", "frank"], "ref": 1})
        t.ok(r.get("op") == "group_info" and [m["user"] for m in
            r.get("members", [])] == ["alice", "bob", "carol", "frank"],
            "alice creates #g on n1 with bob (n2), carol (n3), frank (n1)",
            r)
        r = await al.req({"op": "group_role", "group": "#g", "user": "bob",
            "role": "admin", "ref": 2})
        ok = wait_for(lambda: cl.redis.cmd("HGET", "tickd:g:{#g}", "bob") ==
            "admin", 10)
        t.ok(r.get("op") == "ok" and ok and cl.redis.cmd("HGET",
            "tickd:g:{#g}", "@home") == "n1", "bob made admin; n1 mirrors "
            "#g in tickd:g:{#g} with its home and roles", r)

        # Admin ops of bob on n2, sends from every node, interleaved.
        sent = {}
        r = await bl.req({"op": "group_add", "group": "#g",
            "users": ["dave", "erin"], "ref": 3})
        t.ok(r == {"op": "ok", "refused": [], "ref": 3},
            "bob on n2 adds dave (n2) and erin (n3): a remote call to n1",
            r)
        for i in range(3):
            for d in (al, bl, ca, er):
                s = await d.req({"op": "send", "to": "#g",
                    "id": f"{d.user}-{i}", "body": i})
                sent[(d.user, f"{d.user}-{i}")] = s
            if i == 1:
                r = await bl.req({"op": "group_set", "group": "#g",
                    "title": "G2", "ref": 4})
        t.ok(all(s.get("op") == "sent" and s.get("expect") == 5
            for s in sent.values()), "members on n1, n2 and n3 send: each "
            "sent, expect 5", list(sent.values()))
        r = await ca.req({"op": "group_add", "group": "#g",
            "users": ["dave"], "ref": 5})
        t.ok(r.get("code") == "forbidden" and r.get("ref") == 5,
            "carol, a member, may not add: forbidden from n1", r)
        r = await ca.req({"op": "group_info", "group": "#g", "ref": 6})
        t.ok(r.get("op") == "group_info" and r.get("title") == "G2" and
            r.get("owner") == "alice" and len(r.get("members", [])) == 6,
            "group_info of carol on n3 comes from n1", r)
        r = await bl.req({"op": "group_remove", "group": "#g",
            "users": ["carol"], "ref": 7})
        t.eq(r, {"op": "ok", "ref": 7}, "bob removes carol")
        for d in (al, da):
            s = await d.req({"op": "send", "to": "#g", "id": f"{d.user}-9",
                "body": 9})
            sent[(d.user, f"{d.user}-9")] = s
        for d in devs:
            await d.drain()

        # Receipts of the members, from their homes, to each sender, keyed
        # by sender and mid: a mid is unique on its node only, so two
        # senders on two nodes may hold the same one.
        rc = {}
        for d in (al, bl, ca, er):
            for f in await d.c.collect("receipt", 1.5 * W):
                if f.get("status") == "delivered":
                    rc.setdefault((d.user, f["for"]), set()).add(f["by"])
        m = sent[("bob", "bob-0")]["mid"]
        t.ok(rc.get(("bob", m)) == {"alice", "carol", "dave", "erin",
            "frank"} and rc.get(("erin", sent[("erin", "erin-0")]["mid"]))
            == {"alice", "bob", "carol", "dave", "frank"},
            "delivered receipts reach bob on n2 and erin on n3 from n1, n2 "
            "and n3, for their sent mids", rc)

        ref, twice = seq(fr)
        good = not twice
        for d in devs:
            s, tw = seq(d)
            if tw or not sublist(s, [k for k in ref if k[1:2] !=
                    (d.user,)]):
                good = False
        full = [seq(d)[0] for d in (al, bl, bp)]
        t.ok(good and full[0] == [k for k in ref if k[1:2] != ("alice",)]
            and full[1] == [k for k in ref if k[1:2] != ("bob",)] and
            full[1] == full[2] and len(ref) == 19,
            "every member device sees the same events and messages in the "
            "same order (the sender's own left out), each once",
            "\n".join(f"{d.user}/{d.device}: {seq(d)}" for d in devs))
        own = [key(f) for f in bp.items if f["op"] == "msg" and
            f["from"] == "bob"]
        t.eq(sorted(own), sorted(("m", "bob", f"bob-{i}") for i in
            range(3)), "bob's phone holds each of bob's messages once")
        cs, _ = seq(ca)
        t.ok(cs[-1:] == [("e", 5, "removed")]
            and ("m", "alice", "alice-9") not in cs,
            "carol's last item is her removal; nothing sent after it", cs)
        ds, _ = seq(da)
        t.ok(ds[0] == ("e", 3, "added") and ("m", "alice", "alice-9") in ds,
            "dave on n2 sees from his addition on", ds)
        s = await ca.req({"op": "send", "to": "#g", "id": "late",
            "body": 1})
        t.ok(s.get("code") == "no_such_group",
            "carol, removed, sending: no_such_group", s)
        g = await bp.req({"op": "groups", "ref": 8})
        g3 = await ca.req({"op": "groups", "ref": 9})
        t.ok(g.get("groups") == [{"group": "#g", "title": "G2",
            "role": "admin", "version": 5}] and g3.get("groups") == [],
            "groups on n2 for bob, and on n3 for carol, from the events "
            "applied there", [g, g3])

        # n1, the group's home, SIGKILLed while members on every node send.
        for d in devs:
            d.items = []
        crash = {}

        async def sender(d, n):
            for i in range(n):
                try:
                    s = await d.req({"op": "send", "to": "#g",
                        "id": f"k-{d.user}-{i}", "body": i}, 5)
                except Closed:
                    return
                if s.get("op") == "sent":
                    crash[(d.user, f"k-{d.user}-{i}")] = d.device
                await asyncio.sleep(0.05)

        tasks = [asyncio.ensure_future(sender(d, 30)) for d in
            (bl, da, er, al)]
        await asyncio.sleep(0.6 * W)
        n1.kill()
        await asyncio.sleep(1.0 * W)
        n1.start()
        await asyncio.gather(*tasks, return_exceptions=True)
        cl.wait_up()
        al = await Dev(n1, "alice", "phone").connect()
        fr = await Dev(n1, "frank", "pc").connect()
        members = [al, fr, bl, bp, da, er]
        for _ in range(3):
            for d in members:
                await d.drain(1.5)
        lost, dup = [], []
        for (u, i), device in crash.items():
            for d in members:
                if d.user == u and d.device == device:
                    continue
                got = {f["mid"] for f in d.items if f["op"] == "msg" and
                    f["from"] == u and f["id"] == i}
                if not got:
                    lost.append((u, i, d.user, d.device))
                elif len(got) > 1:
                    dup.append((u, i, d.user, d.device, got))
        t.ok(len(crash) > 40 and not lost,
            f"n1 SIGKILLed and restarted: each of {len(crash)} messages "
            "with a sent reached every member device", lost[:10])
        t.ok(not dup, "none under two mids", dup[:10])
        ok = wait_for(lambda: all(cluster_metric(d,
            "tickd_cluster_outbox") == 0 for d in (n1, n2, n3)), 20)
        t.ok(ok, "the outboxes drain to 0")
        for d in members + [ca]:
            await d.c.close()


run(main, 17, timeout=240)
