#!/usr/bin/python3
# Presence across the nodes of a cluster (tickd-cluster(7) PRESENCE): alice
# on n1 watches bob on n2 and sees him come online and go offline with a
# last_seen; GET /v1/users/bob/last-seen on alice's home answers from the
# mirror; bob's block of alice hides him from her only; last_seen "nobody"
# gives null; n1 cut from Redis shows bob offline; bob's node SIGKILLed,
# alice sees him offline, last seen at n2's last heartbeat; Redis restarted
# empty gets the mirrors back.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

HB = "2s" if VALGRIND else "500ms"
W = 4 if VALGRIND else 1    # valgrind's slowdown on every wait


def last_seen(d, token, user):
    return http_request(d, "GET", f"/v1/users/{user}/last-seen", token=token)


async def main(t):
    with Cluster(cluster_heartbeat=HB) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        for d, u in ((n1, "alice"), (n2, "bob"), (n3, "carol")):
            t.eq(register(d, u).status, 201, f"{u} registers on {d.name}")
        ta = token_for(n1, "alice", "phone")
        tb = token_for(n2, "bob", "laptop")
        tc = token_for(n3, "carol", "tablet")

        a = await Client.connect(n1, ta, name="alice")
        await a.send({"op": "subscribe", "users": ["bob", "nosuch"]})
        got = {}
        for _ in range(2):
            f = await a.recv_op("presence", 10 * W) or {}
            got[f.get("user")] = f
        t.ok(got.get("bob") == {"op": "presence", "user": "bob",
            "online": False, "last_seen": None} and got.get("nosuch") ==
            {"op": "presence", "user": "nosuch", "online": False,
            "last_seen": None},
            "alice on n1 subscribes to bob on n2: offline, never seen; "
            "a name nobody has: the same", got)

        c = await Client.connect(n3, tc, name="carol")
        await c.send({"op": "subscribe", "users": ["bob"]})
        f = await c.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is False,
            "carol on n3 watches bob too", f)

        b = await Client.connect(n2, tb, name="bob")
        f = await a.recv_op("presence", 10 * W)
        t.ok(f == {"op": "presence", "user": "bob", "online": True,
            "last_seen": None}, "bob connects on n2: alice sees him online",
            f)
        f = await c.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "and carol too", f)
        t.eq(cl.redis.cmd("HGET", "tickd:p:{bob}", "online"), "1",
            "n2 mirrors bob in tickd:p:{bob}")

        before = now_ms()
        await b.close()
        f = await a.recv_op("presence", 10 * W) or {}
        ls = f.get("last_seen")
        t.ok(f.get("online") is False and isinstance(ls, int) and
            before - 5000 <= ls <= now_ms() + 5000,
            "bob goes: alice sees him offline with a last_seen", f)
        f = await c.recv_op("presence", 10 * W) or {}
        t.ok(f.get("online") is False and f.get("last_seen") == ls,
            "carol sees the same last_seen", f)

        r = last_seen(n1, ta, "bob")
        t.ok(r.status == 200 and r.json == {"user": "bob", "online": False,
            "last_seen": ls}, "GET last-seen of bob on alice's home n1: "
            "from the mirror", r)
        r = last_seen(n1, ta, "nosuch")
        t.ok(r.status == 404 and r.error == "no_such_user",
            "last-seen of a name nobody has: 404 no_such_user", r)
        r = last_seen(n3, ta, "bob")
        t.eq(r.status, 307, "alice's last-seen on n3: 307 to her home")

        # bob's node learns alice's home by writing to her; then he blocks
        # her: she sees him offline and never seen, carol sees no change.
        b = await Client.connect(n2, tb, name="bob")
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "bob back: alice sees him online", f)
        await c.recv_op("presence", 10 * W)
        s = await b.request({"op": "send", "to": "alice", "id": "hi",
            "body": {"text": "hi"}}, 10 * W)
        t.ok(s is not None and s.get("op") == "sent", "bob writes to alice",
            s)
        ok = await b.request({"op": "block", "user": "alice", "ref": 1},
            10 * W)
        t.ok(ok is not None and ok.get("op") == "ok",
            "bob on n2 blocks alice of n1", ok)
        f = await a.recv_op("presence", 10 * W)
        t.ok(f == {"op": "presence", "user": "bob", "online": False,
            "last_seen": None},
            "alice sees bob offline, never seen, once he blocked her", f)
        t.ok(cl.redis.cmd("SISMEMBER", "tickd:b:{bob}", "alice") == "1",
            "n2 mirrors bob's blocks in tickd:b:{bob}")
        got = await c.expect_nothing(1.5, op="presence")
        t.eq(got, [], "carol, not blocked, is told nothing")
        r = last_seen(n1, ta, "bob")
        t.ok(r.status == 200 and r.json == {"user": "bob", "online": False,
            "last_seen": None}, "alice's last-seen of bob: hidden too", r)
        ok = await b.request({"op": "unblock", "user": "alice", "ref": 2},
            10 * W)
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "bob unblocks alice: she sees him online again", [ok, f])

        # last_seen "nobody": bob goes, and nobody sees when.
        ok = await b.request({"op": "settings", "last_seen": "nobody",
            "ref": 3}, 10 * W)
        t.ok(ok is not None and ok.get("op") == "ok",
            "bob sets last_seen nobody", ok)
        await b.close()
        f = await a.recv_op("presence", 10 * W)
        t.ok(f == {"op": "presence", "user": "bob", "online": False,
            "last_seen": None},
            "bob under nobody goes: alice sees null last_seen", f)
        await c.recv_op("presence", 10 * W)
        r = last_seen(n1, ta, "bob")
        t.ok(r.status == 200 and r.json.get("last_seen") is None,
            "and last-seen over HTTP is null", r)

        # bob online again, seen by everyone; then n2 is SIGKILLed.
        b = await Client.connect(n2, tb, name="bob")
        ok = await b.request({"op": "settings", "last_seen": "everyone",
            "ref": 4}, 10 * W)
        f = await a.recv_op("presence", 10 * W)
        t.ok(ok is not None and f is not None and f.get("online") is True,
            "bob is back, seen by everyone", [ok, f])
        await c.recv_op("presence", 10 * W)

        # Redis unreachable from n1: remote users show offline there, and
        # online again once it is back.
        cl.proxies[0].cut()
        f = await a.recv_op("presence", 30 * W)
        t.ok(f is not None and f.get("online") is False,
            "n1 cut from Redis: alice sees bob offline", f)
        r = last_seen(n1, ta, "bob")
        t.ok(r.status == 200 and r.json.get("online") is False,
            "and so does last-seen on n1", r)
        cl.proxies[0].restore()
        f = await a.recv_op("presence", 30 * W)
        t.ok(f is not None and f.get("online") is True,
            "Redis back: alice sees bob online again", f)

        n2.kill()
        f = await a.recv_op("presence", 30 * W) or {}
        hb = int(cl.redis.cmd("HGET", "tickd:nodes", "n2"))
        t.ok(f == {"op": "presence", "user": "bob", "online": False,
            "last_seen": hb},
            "n2 SIGKILLed: alice sees bob offline, last seen at n2's last "
            "heartbeat", [f, hb])
        f = await c.recv_op("presence", 30 * W) or {}
        t.eq(f.get("last_seen"), hb, "carol on n3 too")
        r = last_seen(n1, ta, "bob")
        t.ok(r.status == 200 and r.json == {"user": "bob", "online": False,
            "last_seen": hb}, "last-seen over HTTP says the same", r)


        cl.restart_redis()
        ok = wait_for(lambda: cl.redis.cmd("HGET", "tickd:p:{alice}",
            "online") == "1", 20)
        t.ok(ok, "Redis restarted empty: n1 writes alice's mirror back")
        await a.close()
        await c.close()


run(main, 32, timeout=180)
