#!/usr/bin/python3
# Media references across nodes (tickd-cluster(7) MEDIA): the owner keeps
# tickd:m:{ID} while the ID is live; alice on n1 sends bob on n2 her n1
# upload: bob's msg names it, he downloads it with a grant, n1 counts the
# reference of bob's item (an mref +1 from n2) beside that of alice's
# other device (tickctl verify and repair on n1 agree), keeps the
# media past media_ttl while bob's item is queued
# and lets it expire one media_ttl after bob's ack, deleting tickd:m; an
# unknown ID of another node is no_such_media as on one node, and
# unavailable when Redis cannot say; a group send from n2 to a group homed
# on n1 with members on n1 and n3 references n2's upload once per member
# home; n2 SIGKILLed right after an ack commits counts its -1 once; Redis
# restarted empty gets tickd:m back; deleting an ID (by its uploader, by
# tickctl, with the account) deletes the key; an origin cut off from Redis
# answers unavailable.

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
        tt = token_for(n1, "alice", "tablet")
        tb = token_for(n2, "bob", "laptop", new=True)
        td = token_for(n3, "dave", "pc", new=True)
        a = await Client.connect(n1, ta, name="alice")
        at = await Client.connect(n1, tt, name="alice-tablet")
        b = await Client.connect(n2, tb, name="bob")
        dv = await Client.connect(n3, td, name="dave")

        data = os.urandom(5000)
        r = http_request(n1, "POST", "/v1/media", body=data, token=ta,
            headers={"Content-Type": "image/png"})
        mid = (r.json or {}).get("media", "")
        t.ok(r.status == 201 and mid.startswith("n1.") and
            wait_for(lambda: cl.redis.cmd("EXISTS", f"tickd:m:{{{mid}}}")
            == "1", 5), "alice's upload on n1: tickd:m:{ID} is set", r)

        s = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": "look", "media": [mid]})
        t.ok(s is not None and s.get("op") == "sent",
            "alice (n1) sends bob (n2) the n1 ID: sent", s)
        m = await b.recv_op("msg", 10)
        t.ok(m is not None and m.get("media") == [mid] and
            m.get("id") == "m1", "bob's msg names the ID", m)
        mt = await at.recv_op("msg", 10)
        t.ok(mt is not None and mt.get("media") == [mid],
            "alice's tablet gets her copy, naming the ID", mt)
        st, body = fetch(n2, mid, tb)
        t.ok(st == 200 and body == data,
            "bob downloads it through n2 (a grant to n1)", st)
        t.ok(wait_for(lambda: media_refs(n1, mid) == 2, 10),
            "n1 counts two references: alice's tablet and bob's item "
            "(mref +1 from n2)", media_refs(n1, mid))
        v = tickctl(n1, "verify")
        r = tickctl(n1, "repair")
        t.ok(v.ok and v.get("consistent") is True and r.ok and
            r.get("problems") == 0 and media_refs(n1, mid) == 2,
            "verify and repair on n1 count n2's reference as n2's: "
            "consistent, still two", [v, r, media_refs(n1, mid)])
        await at.send({"op": "ack", "mid": mt["mid"]})
        t.ok(wait_for(lambda: media_refs(n1, mid) == 1, 10),
            "the tablet acks: one reference left, bob's", media_refs(n1, mid))
        await asyncio.sleep(TTL + 1.5)
        st, _ = fetch(n2, mid, tb)
        t.ok(st == 200 and cl.redis.cmd("EXISTS", f"tickd:m:{{{mid}}}") ==
            "1", "past media_ttl with bob's item queued on n2: still live",
            st)
        r = await b.request({"op": "ack", "mid": m["mid"], "ref": 1})
        t.ok(r is not None and r.get("op") == "ok" and
            wait_for(lambda: media_refs(n1, mid) == 0, 10),
            "bob acks: n1 counts no reference (mref -1 from n2)",
            media_refs(n1, mid))
        st, _ = fetch(n2, mid, tb)
        t.eq(st, 200, "just released: still live")
        t.ok(wait_for(lambda: fetch(n2, mid, tb)[0] == 404, TTL + 5),
            "one media_ttl after bob's ack: 404, as on one node")
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", f"tickd:m:{{{mid}}}")
            == "0", 10), "expired: n1 deleted tickd:m:{ID}")
        s = await a.request({"op": "send", "to": "bob", "id": "m2",
            "body": "x", "media": [mid]})
        t.ok(s is not None and s.get("code") == "no_such_media",
            "expired: alice's send of it to bob is no_such_media", s)

        # Unknown IDs of another node, to a remote and a local user.
        unknown = "n2." + "A" * 22
        s = await a.request({"op": "send", "to": "bob", "id": "u1",
            "body": "x", "media": [unknown]})
        t.ok(s is not None and s.get("code") == "no_such_media",
            "an unknown n2 ID to bob (n2): no_such_media", s)
        s = await dv.request({"op": "send", "to": "alice", "id": "u2",
            "body": "x", "media": [unknown]})
        t.ok(s is not None and s.get("code") == "no_such_media",
            "an unknown n2 ID from dave (n3) to alice (n1): no_such_media",
            s)
        got = await b.expect_nothing(0.5, "msg")
        t.eq(got, [], "nothing reached bob")

        # A group homed on n1; bob on n2 sends it his n2 upload.
        await a.send({"op": "group_create", "group": "#g",
            "title": "G", "members": ["bob", "dave"], "ref": 2})
        r = await a.recv_op("group_info", 10)
        t.ok(wait_for(lambda: cl.redis.cmd("HGET", "tickd:g:{#g}", "dave")
            == "member", 10), "alice creates #g on n1 with bob (n2) and "
            "dave (n3)", r)
        for c in (a, at, b, dv):
            await c.expect_nothing(1.0)
        r = http_request(n2, "POST", "/v1/media", body=b"bob's", token=tb,
            headers={"Content-Type": "text/plain"})
        bm = (r.json or {}).get("media", "")
        t.ok(r.status == 201 and bm.startswith("n2."),
            "bob's upload on n2", r)
        s = await b.request({"op": "send", "to": "#g", "id": "g1",
            "body": "group", "media": [bm]})
        t.ok(s is not None and s.get("op") == "sent",
            "bob (n2) sends #g (home n1) his n2 ID: sent", s)
        ga = await a.recv_op("msg", 10)
        gt = await at.recv_op("msg", 10)
        gd = await dv.recv_op("msg", 10)
        t.ok(all(x is not None and x.get("media") == [bm] for x in
            (ga, gt, gd)), "alice's two devices (n1) and dave (n3) get it, "
            "naming the ID", [ga, gt, gd])
        t.ok(wait_for(lambda: media_refs(n2, bm) == 2, 10),
            "n2 counts one reference per member home holding items: n1 "
            "and n3", media_refs(n2, bm))
        await a.send({"op": "ack", "mid": ga["mid"]})
        await dv.send({"op": "ack", "mid": gd["mid"]})
        await asyncio.sleep(1)
        t.eq(media_refs(n2, bm), 1, "alice's phone and dave ack: alice's "
            "tablet still holds n1's")
        await at.send({"op": "ack", "mid": gt["mid"]})
        t.ok(wait_for(lambda: media_refs(n2, bm) == 0, 10),
            "the tablet acks: n2 counts none", media_refs(n2, bm))
        await b.close()

        # n2 SIGKILLed right after bob's ack commits: its -1 counts once.
        r = http_request(n1, "POST", "/v1/media", body=b"k", token=ta,
            headers={"Content-Type": "text/plain"})
        km = (r.json or {}).get("media", "")
        b = await Client.connect(n2, tb, name="bob")
        for i in range(2):
            s = await a.request({"op": "send", "to": "bob", "id": f"k{i}",
                "body": i, "media": [km]})
        ms = [await b.recv_op("msg", 10) for _ in range(2)]
        t.ok(all(x is not None for x in ms) and
            wait_for(lambda: media_refs(n1, km) == 4, 10),
            "two messages to bob: four references on n1 (two of alice's "
            "tablet, two of bob's)", media_refs(n1, km))
        r = await b.request({"op": "ack", "mid": ms[0]["mid"], "ref": 3})
        n2.kill()
        t.eq((r or {}).get("op"), "ok", "bob acks one; n2 SIGKILLed")
        n2.start()
        cl.wait_up()
        t.ok(wait_for(lambda: cluster_metric(n2, "tickd_cluster_outbox")
            == 0, 20), "n2 back: its outbox drains")
        await asyncio.sleep(1)
        t.eq(media_refs(n1, km), 3, "n1 applied the -1 once")

        # Redis restarted empty: n1 writes tickd:m back with its mirrors.
        cl.restart_redis()
        cl.wait_up()
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", f"tickd:m:{{{km}}}")
            == "1", 15), "Redis restarted empty: tickd:m:{ID} is back")
        for c in (a, at, dv):
            await c.close()

        # Deleted by its uploader, by tickctl, with its account: the key
        # goes, and other nodes answer no_such_media.
        def up(tok, user):
            r = http_request(n1, "POST", "/v1/media", body=user.encode(),
                token=tok, headers={"Content-Type": "text/plain"})
            return (r.json or {}).get("media", "")

        gone = lambda i: cl.redis.cmd("EXISTS", f"tickd:m:{{{i}}}") == "0"
        tc = token_for(n1, "carol", "phone", new=True)
        d1, d2, d3 = up(ta, "alice"), up(ta, "alice"), up(tc, "carol")
        t.ok(wait_for(lambda: not any(gone(i) for i in (d1, d2, d3)), 5),
            "three more uploads on n1: their keys are set")
        r1 = http_request(n1, "DELETE", f"/v1/media/{d1}", token=ta)
        r2 = tickctl(n1, "media", "del", d2)
        r3 = tickctl(n1, "user", "del", "carol")
        t.ok(r1.status == 204 and r2.ok and r3.ok and
            wait_for(lambda: all(gone(i) for i in (d1, d2, d3)), 5),
            "DELETE by alice, tickctl media del, tickctl user del carol: "
            "the three keys go", [r1.status, r2, r3])
        dv = await Client.connect(n3, td, name="dave")
        s = await dv.request({"op": "send", "to": "alice", "id": "g1",
            "body": "x", "media": [d1]})
        t.ok(s is not None and s.get("code") == "no_such_media",
            "dave (n3) names the deleted ID: no_such_media", s)
        await dv.close()

        # n1 cut off from Redis cannot check an ID of n2's.
        b = await Client.connect(n2, tb, name="bob")
        r = http_request(n2, "POST", "/v1/media", body=b"b2", token=tb,
            headers={"Content-Type": "text/plain"})
        b2 = (r.json or {}).get("media", "")
        a = await Client.connect(n1, ta, name="alice")
        cl.proxies[0].cut()
        down = wait_for(lambda: cluster_metric(n1,
            "tickd_cluster_redis_up") == 0, 15)
        s = await a.request({"op": "send", "to": "bob", "id": "c1",
            "body": "x", "media": [b2]}, 10)
        t.ok(down and s is not None and s.get("code") == "unavailable",
            "n1 cut off from Redis: a send naming n2's ID is unavailable",
            s)
        cl.proxies[0].restore()
        cl.wait_up()
        s = await a.request({"op": "send", "to": "bob", "id": "c1",
            "body": "x", "media": [b2]}, 10)
        m = await b.recv_op("msg", 10)
        while m is not None and m.get("id") != "c1":
            m = await b.recv_op("msg", 10)
        t.ok(s is not None and s.get("op") == "sent" and m is not None and
            m.get("media") == [b2], "Redis back: the same send is sent and "
            "bob gets it", [s, m])

        # alice's own ID spelled bare reaches bob spelled n1.ID; n2's ID
        # in a send of alice's to herself (her tablet, on n1) is counted
        # on n2 through an mref from n1.
        s = await a.request({"op": "send", "to": "bob", "id": "c2",
            "body": "x", "media": [km[3:]]})
        m = await b.recv_op("msg", 10)
        while m is not None and m.get("id") != "c2":
            m = await b.recv_op("msg", 10)
        t.ok(s is not None and s.get("op") == "sent" and m is not None and
            m.get("media") == [km], "an ID of n1's sent bare: bob's msg "
            "spells it n1.ID", [s, m])
        before = media_refs(n2, b2)
        s = await a.request({"op": "send", "to": "alice", "id": "c3",
            "body": "x", "media": [b2]})
        t.ok(s is not None and s.get("op") == "sent" and
            wait_for(lambda: media_refs(n2, b2) == before + 1, 10),
            "alice sends herself n2's ID on n1: her tablet's item is "
            "counted on n2", [s, before, media_refs(n2, b2)])
        v = tickctl(n2, "verify")
        t.ok(v.ok and v.get("consistent") is True,
            "verify on n2, which holds n1's and its own references to "
            "its IDs: consistent", v)

        # A repeated id gets its first answer, whatever became of the media.
        r = http_request(n2, "POST", "/v1/media", body=b"b3", token=tb,
            headers={"Content-Type": "text/plain"})
        b3 = (r.json or {}).get("media", "")
        s1 = await a.request({"op": "send", "to": "bob", "id": "r1",
            "body": "x", "media": [b3]})
        r = http_request(n2, "DELETE", f"/v1/media/{b3}", token=tb)
        gone3 = wait_for(lambda: cl.redis.cmd("EXISTS",
            f"tickd:m:{{{b3}}}") == "0", 5)
        s2 = await a.request({"op": "send", "to": "bob", "id": "r1",
            "body": "x", "media": [b3]})
        t.ok(s1 is not None and s1.get("op") == "sent" and r.status == 204
            and gone3 and s2 is not None and s2.get("dup") is True and
            s2.get("mid") == s1.get("mid"), "alice's send repeated after "
            "bob deleted the n2 ID: the first sent again, dup", [s1, s2])
        await a.close()
        await b.close()


run(main, 38, timeout=150)
