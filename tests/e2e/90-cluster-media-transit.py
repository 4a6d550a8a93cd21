#!/usr/bin/python3
# A message on its way to another node holds its media (tickd-cluster(7)
# Media in messages between nodes): while bob's home n2 is down, a
# message naming media waits in its sender's outbox, and the media
# outlives media_ttl there, whether the sender's home owns it (a
# reference of its own) or another node does (an mref from the outbox
# record), and for a group's item waiting for n2 at the group's home; n2
# back, bob gets each message and downloads its bytes, and the outbox's
# references go once n2 confirmed, leaving bob's.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()

TTL = 15 if VALGRIND else 4


async def main(t):
    with Cluster(media_ttl=f"{TTL}s") as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        ta = token_for(n1, "alice", "phone", new=True)
        tb = token_for(n2, "bob", "laptop", new=True)
        tc = token_for(n3, "carol", "pc", new=True)
        a = await Client.connect(n1, ta, name="alice")
        c = await Client.connect(n3, tc, name="carol")

        # n1 and n3 know bob's home; #g (home n1) has bob and carol.
        s = await a.request({"op": "send", "to": "bob", "id": "hi",
            "body": "hi"})
        s2 = await c.request({"op": "send", "to": "bob", "id": "hi",
            "body": "hi"})
        await a.send({"op": "group_create", "group": "#g", "title": "g",
            "members": ["bob", "carol"]})
        g = await a.recv_op(("group_info", "error"), 10)
        gname = "#g"
        t.ok(s is not None and s.get("op") == "sent" and s2 is not None
            and s2.get("op") == "sent" and g is not None and
            g.get("op") == "group_info",
            "alice (n1) and carol (n3) reach bob (n2); alice makes a "
            "group with bob and carol", [s, s2, g])
        n2.kill()
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", "tickd:alive:{n2}")
            == "0", 15), "n2 killed: its heartbeat lapses")

        d1, d3, dg = os.urandom(3000), os.urandom(3001), os.urandom(3002)
        st1, m1 = upload_png(n1, ta, d1)
        st3, m3 = upload_png(n3, tc, d3)
        stg, mg = upload_png(n3, tc, dg)
        t.ok(st1 == st3 == stg == 201 and m1.startswith("n1.") and
            m3.startswith("n3.") and mg.startswith("n3."),
            "uploads: one on n1 by alice, two on n3 by carol",
            [st1, m1, st3, m3, stg, mg])
        s = await a.request({"op": "send", "to": "bob", "id": "own",
            "body": "mine", "media": [m1]})
        t.ok(s is not None and s.get("op") == "sent" and
            media_refs(n1, m1) == 1,
            "alice sends bob (n2 down) n1's ID: sent, "
            "and its outbox record holds one reference on n1",
            [s, media_refs(n1, m1)])
        s = await a.request({"op": "send", "to": "bob", "id": "other",
            "body": "carol's", "media": [m3]})
        t.ok(s is not None and s.get("op") == "sent" and
            wait_for(lambda: media_refs(n3, m3) == 1, 10),
            "alice sends bob n3's ID: n3 counts one reference, n1's "
            "outbox record's", [s, media_refs(n3, m3)])
        s = await c.request({"op": "send", "to": gname, "id": "gm",
            "body": "all", "media": [mg]})
        ga = await a.recv_op("msg", 10)
        t.ok(s is not None and s.get("op") == "sent" and ga is not None
            and ga.get("media") == [mg],
            "carol sends the group n3's other ID: alice gets it", [s, ga])
        await a.send({"op": "ack", "mid": ga["mid"]} if ga else
            {"op": "ping"})
        # Every reference but the record n1 keeps for n2 is gone: carol's
        # outbox record (confirmed by n1) and alice's item (acked).
        t.ok(wait_for(lambda: media_refs(n3, mg) == 1 and tickctl(n3,
            "cluster", "outbox").get("total", 1) == 0, 10),
            "alice acks; n3's outbox is empty: one reference left, the "
            "group item n1 holds for n2",
            [media_refs(n3, mg), tickctl(n3, "cluster", "outbox")])

        await asyncio.sleep(TTL + 2)
        for d, mid, data, what in ((n1, m1, d1, "n1's ID, held by n1"),
                (n3, m3, d3, "n3's ID, held by n1's message"),
                (n3, mg, dg, "n3's ID, held by n1's group item")):
            st, body = fetch(d, mid, tc if d is n3 else ta)
            t.ok(st == 200 and body == data, f"past media_ttl with n2 "
                f"down: {what} is still served", st)

        n2.start()
        cl.wait_up()
        b = await Client.connect(n2, tb, name="bob")
        got = {}
        for _ in range(6):
            m = await b.recv_op("msg", 10)
            if m is None:
                break
            got[m.get("id")] = m
            if {"own", "other", "gm"} <= got.keys():
                break
        t.ok({"own", "other", "gm"} <= got.keys() and
            got["own"].get("media") == [m1] and
            got["other"].get("media") == [m3] and
            got["gm"].get("media") == [mg],
            "n2 back: bob gets the three messages with their IDs",
            sorted(got))
        for mid, data in ((m1, d1), (m3, d3), (mg, dg)):
            st, body = fetch(n2, mid, tb)
            t.ok(st == 200 and body == data,
                f"bob downloads {mid[:3]}... through n2: the bytes", st)
        t.ok(wait_for(lambda: media_refs(n1, m1) == 1 and
            media_refs(n3, m3) == 1 and media_refs(n3, mg) == 1 and
            tickctl(n1, "cluster", "outbox").get("total", 1) == 0, 15),
            "n1's outbox empty: each ID counts one reference, bob's item",
            [media_refs(n1, m1), media_refs(n3, m3), media_refs(n3, mg)])
        for d in (n1, n3):
            v = tickctl(d, "verify")
            t.ok(v.ok and v.get("consistent") is True,
                f"verify on {d.conf['node_name']}: consistent", v)
        for k in ("own", "other", "gm"):
            if k in got:
                await b.send({"op": "ack", "mid": got[k]["mid"]})
        t.ok(wait_for(lambda: media_refs(n1, m1) == 0 and
            media_refs(n3, m3) == 0 and media_refs(n3, mg) == 0, 15),
            "bob acks: no reference left",
            [media_refs(n1, m1), media_refs(n3, m3), media_refs(n3, mg)])
        t.ok(wait_for(lambda: fetch(n1, m1, ta)[0] == 404, TTL + 8),
            "one media_ttl later, n1's ID is gone, as on one node")
        await a.close()
        await b.close()
        await c.close()


run(main, 19, timeout=180)
