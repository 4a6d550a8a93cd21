#!/usr/bin/python3
# Three tickd nodes on a Redis Cluster of three masters (tickd-cluster(7),
# Redis Cluster): n1 and n2 name every master as seeds, n3 one only, which
# INFO cluster tells is a Redis Cluster.  Names are unique across the
# nodes, presence and typing cross nodes, a 1:1 message crosses nodes and
# its receipts come back, a group has members on the three nodes; the keys
# are spread over the masters; each node's SSUBSCRIBE of a channel goes to
# the master of its slot; #g's mirror follows a change made while its
# slot moves.  Then the slot of n2's stream, and that of n1's, move to
# another master (IMPORTING, MIGRATING, MIGRATE, SETSLOT NODE, as
# redis-cli --cluster reshard does) while alice on n1 sends to bob on n2:
# every message arrives once, every receipt comes back, and the nodes'
# typing channels, moved with them, are subscribed at their new master;
# so is bob's presence channel once its slot moves.  Then
# the slot of n3's stream moves while n3's reader blocks on it.  A slot
# that holds no key moves, and each node learns of it from its periodic
# refresh of the slot map (cluster_slots_refresh 1s here), which
# tickctl cluster status shows.  Last, n3 is killed and forgotten: its
# names go from every master.

import asyncio
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()
if not cluster_mode_ok():
    print("1..0 # SKIP redis-server cannot run a Redis Cluster here")
    sys.exit(77)

W = 4 if VALGRIND else 1
N = 200


async def main(t):
    with Cluster(rcluster=True, cluster_slots_refresh="1s") as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        rc = cl.redis
        for d in (n1, n2, n3):
            t.eq(cluster_metric(d, "tickd_cluster_redis_up"), 1,
                f"{d.name} is up on the Redis Cluster")
        t.eq(register(n1, "alice").status, 201, "alice registers on n1")
        t.eq(register(n2, "bob").status, 201, "bob registers on n2")
        t.eq(register(n3, "carol").status, 201, "carol registers on n3")
        r = register(n3, "bob")
        t.ok(r.status == 409 and r.error == "name_taken",
            "bob again on n3: 409 name_taken across the nodes", r)
        r = register(n1, "carol")
        t.ok(r.status == 409 and r.error == "name_taken",
            "carol again on n1: name_taken", r)
        t.eq([rc.cmd("GET", f"tickd:u:{{{u}}}") for u in ("alice", "bob",
            "carol")], ["n1", "n2", "n3"], "the directory names each home")
        for u in range(20):
            register(cl.node(1 + u % 3), f"u{u}")
        sizes = [int(rc.cmd_at(p, "DBSIZE")) for p in rc.ports]
        t.ok(sum(1 for s in sizes if s > 0) == 3,
            "the keys are spread over the three masters", sizes)

        ta = token_for(n1, "alice", "phone")
        tb = token_for(n2, "bob", "laptop")
        tc = token_for(n3, "carol", "tablet")
        a = await Client.connect(n1, ta, name="alice")
        c = await Client.connect(n3, tc, name="carol")

        # Presence across nodes: alice on n1 and carol on n3 watch bob.
        await a.send({"op": "subscribe", "users": ["bob"]})
        await c.send({"op": "subscribe", "users": ["bob"]})
        f1 = await a.recv_op("presence", 10 * W)
        f3 = await c.recv_op("presence", 10 * W)
        t.ok(f1 == {"op": "presence", "user": "bob", "online": False,
            "last_seen": None} and f3 == f1,
            "alice (n1) and carol (n3) see bob (n2) offline", [f1, f3])
        b = await Client.connect(n2, tb, name="bob")
        f1 = await a.recv_op("presence", 10 * W)
        f3 = await c.recv_op("presence", 10 * W)
        t.ok(f1 is not None and f1.get("online") is True and
            f3 is not None and f3.get("online") is True,
            "bob connects on n2: both see him online", [f1, f3])

        # tickd-cluster(7), Channels: SSUBSCRIBE at the slot's master.
        pc = "tickd:pc:{bob}"
        t.ok(wait_for(lambda: shard_numsub(rc.owner(pc), pc) == 2, 5),
            f"n1 and n3 SSUBSCRIBE {pc} at its master {rc.owner(pc)}",
            shard_numsub(rc.owner(pc), pc))
        tch = {n: f"tickd:t:{{{n}}}" for n in ("n1", "n2", "n3")}
        t.ok(all(shard_numsub(rc.owner(ch), ch) == 1 for ch in
            tch.values()), "each node SSUBSCRIBEs its typing channel at "
            "its slot's master", {ch: (rc.owner(ch), shard_numsub(
            rc.owner(ch), ch)) for ch in tch.values()})

        # Typing across nodes, through SPUBLISH and SSUBSCRIBE at the
        # master of n2's channel.
        r = await c.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": 2})
        f = await b.recv_op("typing", 5 * W)
        t.ok(r == {"op": "ok", "ref": 2} and f == {"op": "typing",
            "from": "carol", "state": "composing"},
            "carol on n3 types to bob on n2: bob sees it", [r, f])

        # 1:1 across nodes, receipts back.
        s = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": {"text": "hi"}})
        m = await b.recv_op("msg", 20 * W)
        t.ok(s is not None and s.get("op") == "sent" and m is not None and
            m.get("id") == "m1" and m.get("from") == "alice",
            "alice on n1 to bob on n2: sent, and bob gets it", [s, m])
        await b.send({"op": "ack", "mid": m["mid"]})
        d = await a.recv_op("receipt", 20 * W)
        await b.send({"op": "read", "mid": m["mid"]})
        rd = await a.recv_op("receipt", 20 * W)
        t.ok(d is not None and d.get("status") == "delivered" and
            d.get("for") == s["mid"] and rd is not None and
            rd.get("status") == "read" and rd.get("for") == s["mid"],
            "alice gets delivered and read, for = sent.mid", [d, rd])
        await a.send({"op": "ack", "mids": [d["mid"], rd["mid"]]})

        # A group homed on n1 with members on n1, n2 and n3.
        await a.send({"op": "group_create", "group": "#g", "title": "G",
            "members": ["bob", "carol"], "ref": 1})
        r = await a.recv_op("group_info", 10 * W)
        t.ok(r is not None and [x["user"] for x in r.get("members", [])] ==
            ["alice", "bob", "carol"], "alice creates #g with bob and "
            "carol", r)
        ok = wait_for(lambda: rc.cmd("HGET", "tickd:g:{#g}", "@home") ==
            "n1", 10)
        t.ok(ok, "n1 mirrors #g in tickd:g:{#g} on the Redis Cluster")
        gs = []
        for i, cli in enumerate((a, b, c)):
            gs.append(await cli.request({"op": "send", "to": "#g",
                "id": f"g{i}", "body": i}))
        t.ok(all(x is not None and x.get("op") == "sent" for x in gs),
            "alice (n1), bob (n2) and carol (n3) send to #g: sent", gs)
        want = {"alice": {"g1", "g2"}, "bob": {"g0", "g2"},
            "carol": {"g0", "g1"}}
        gotg = {}
        for cli, who in ((a, "alice"), (b, "bob"), (c, "carol")):
            ids = set()
            for _ in range(12):
                f = await cli.recv_op(("msg", "group_event"), 5 * W)
                if f is None:
                    break
                await cli.send({"op": "ack", "mid": f["mid"]})
                if f["op"] == "msg" and f.get("to") == "#g":
                    ids.add(f["id"])
                if ids >= want[who]:
                    break
            gotg[who] = ids
        t.ok(all(gotg[w] >= want[w] for w in want),
            "each member gets the others' group messages on its node",
            gotg)
        await a.expect_nothing(1.0, "receipt")

        # #g's mirror is written while its slot is half moved: the MULTI
        # is refused (ASK), and the mirror is written again once the slot
        # has moved.
        gkey = "tickd:g:{#g}"
        gsrc = rc.owner(gkey)
        gdst = [p for p in rc.ports if p != gsrc][0]
        gslot = int(rc.cmd_at(gsrc, "CLUSTER", "KEYSLOT", gkey))
        ver = int(rc.cmd("HGET", gkey, "@version"))
        await asyncio.to_thread(rc.migrate_begin, gslot, gsrc, gdst)
        r = await a.request({"op": "group_set", "group": "#g",
            "title": "G3", "ref": 3})
        await asyncio.sleep(1.5)
        await asyncio.to_thread(rc.migrate_end, gslot, gsrc, gdst)
        ok = wait_for(lambda: rc.cmd("HGET", gkey, "@version") ==
            str(ver + 1), 10)
        t.ok(r == {"op": "ok", "ref": 3} and ok, "a change of #g while "
            f"its slot moves from {gsrc} to {gdst}: the mirror gets it",
            [r, rc.cmd("HGET", gkey, "@version"), ver])
        for cli in (a, b, c):
            while await cli.recv_op(("msg", "group_event"), 1.0 * W):
                pass

        # The slot of n2's stream moves while alice sends to bob.
        key2 = "tickd:{n2}:in"
        src = rc.owner(key2)
        dst = [p for p in rc.ports if p != src][0]
        slot = int(rc.cmd_at(src, "CLUSTER", "KEYSLOT", key2))
        tr = Traffic(a, b, N, "t", 0.01, W)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(rc.migrate_slot, slot, src, dst, 0.3)
        t.eq(rc.owner(key2), dst, f"slot {slot} of {key2} moved from "
            f"{src} to {dst} while alice sends")
        key1 = "tickd:{n1}:in"
        src1 = rc.owner(key1)
        dst1 = [p for p in rc.ports if p != src1][-1]
        await asyncio.to_thread(rc.migrate_slot, int(rc.cmd_at(src1,
            "CLUSTER", "KEYSLOT", key1)), src1, dst1, 0.3)
        t.eq(rc.owner(key1), dst1, f"and that of {key1} from {src1} to "
            f"{dst1}")
        await tr.check(t, (n1, n2), 30, 20)
        seen = []
        for d in (n1, n2, n3):
            with open(d.log_path, errors="replace") as f:
                seen += [x for x in f if re.search(r": (MOVED|ASK) \d", x)
                    and " group: " not in x]
        t.eq(seen, [], "no MOVED or ASK reached a caller but in a MULTI: "
            "each command went again to the master named")
        s = await a.request({"op": "send", "to": "bob", "id": "after",
            "body": 1})
        m = await b.recv_op("msg", 20 * W)
        t.ok(s is not None and s.get("op") == "sent" and m is not None and
            m.get("id") == "after", "a message after the moves arrives", m)

        # The typing channels of n2 and n1 moved with the streams' slots
        # (the same hash tag): Redis told n2 and n1 sunsubscribe, and they
        # subscribed again at the new masters.
        t.ok(wait_for(lambda: shard_numsub(dst, tch["n2"]) == 1 and
            shard_numsub(dst1, tch["n1"]) == 1, 10) and shard_numsub(src,
            tch["n2"]) == 0, f"{tch['n2']} and {tch['n1']} subscribed "
            f"again at {dst} and {dst1}", [shard_numsub(dst, tch["n2"]),
            shard_numsub(dst1, tch["n1"]), shard_numsub(src, tch["n2"])])
        r = await c.request({"op": "typing", "to": "bob",
            "state": "paused", "ref": 9})
        f = await b.recv_op("typing", 5 * W)
        t.ok(r == {"op": "ok", "ref": 9} and f == {"op": "typing",
            "from": "carol", "state": "paused"},
            "carol's typing reaches bob after the move", [r, f])

        # bob's presence channel moves while alice and carol watch him.
        psrc = rc.owner(pc)
        pdst = [p for p in rc.ports if p != psrc][0]
        await asyncio.to_thread(rc.migrate_slot, int(rc.cmd_at(psrc,
            "CLUSTER", "KEYSLOT", pc)), psrc, pdst)
        t.ok(wait_for(lambda: shard_numsub(pdst, pc) == 2, 10) and
            shard_numsub(psrc, pc) == 0, f"{pc} moves from {psrc} to "
            f"{pdst}: n1 and n3 subscribe again there",
            [shard_numsub(pdst, pc), shard_numsub(psrc, pc)])
        while await a.recv_op("presence", 0.5 * W):
            pass
        await b.close()
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is False,
            "bob goes: alice sees him offline, through the new master", f)
        b = await Client.connect(n2, tb, name="bob")
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "bob back: alice sees him online", f)

        # n3's stream moves while nothing comes to it: of its reader's two
        # reads, the one blocked there is told the key is gone, and the
        # next goes to the new master.
        key3 = "tickd:{n3}:in"
        src3 = rc.owner(key3)
        dst3 = [p for p in rc.ports if p != src3][0]
        await asyncio.sleep(1.5)
        await asyncio.to_thread(rc.migrate_slot, int(rc.cmd_at(src3,
            "CLUSTER", "KEYSLOT", key3)), src3, dst3)
        s = await a.request({"op": "send", "to": "carol", "id": "quiet",
            "body": 1})
        m = await c.recv_op("msg", 10 * W)
        t.ok(rc.owner(key3) == dst3 and s is not None and
            s.get("op") == "sent" and m is not None and
            m.get("id") == "quiet", f"{key3} moved to {dst3} while its "
            "reader blocked: alice's next message reaches carol", [s, m])
        await c.close()

        # A slot without keys moves: no command goes there, and each node
        # learns of it from its periodic refresh of the map.  First, each
        # has learnt of the moves above, and its map stays as it is.
        def maps():
            return {d.name: tickctl(d, "cluster", "status") for d in (n1, n2,
                n3)}
        await asyncio.sleep(2.5 * W)
        v0 = maps()
        await asyncio.sleep(2.5 * W)
        v1 = maps()
        t.ok(all(isinstance(v1[n].get("slots_version"), int) and
            v1[n].get("slots_version") == v0[n].get("slots_version") and
            isinstance(v1[n].get("slots_age"), int) and
            v1[n].get("slots_age") < 2500 * W for n in v1),
            "nothing moved: each node fetched the slot map within 2.5 s, "
            "and its version stayed", [v0, v1])
        for i in range(100):
            key = f"tickd:u:{{unused{i}}}"
            src = rc.owner(key)
            slot = int(rc.cmd_at(src, "CLUSTER", "KEYSLOT", key))
            if rc.cmd_at(src, "CLUSTER", "COUNTKEYSINSLOT", str(slot)) == "0":
                break
        dst = [p for p in rc.ports if p != src][0]
        await asyncio.to_thread(rc.migrate_slot, slot, src, dst)
        ok = wait_for(lambda: all(tickctl(d, "cluster", "status").get(
            "slots_version", 0) > v1[d.name].get("slots_version") for d in (n1,
            n2, n3)), 5)
        r = tickctl(n1, "cluster", "status", json_out=False)
        t.ok(rc.owner(key) == dst and ok and "slot map:        version" in
            r.out, f"slot {slot}, without keys, moves from {src} to {dst}: "
            "each node's map changes within the refresh period", [maps(),
            r])

        # n3 stops for good and is forgotten: its names, spread over the
        # three masters, are deleted on each (EVAL on every master).
        n3.kill()
        t.ok(wait_for(lambda: not any(x.get("alive") for x in
            tickctl(n1, "cluster", "nodes").get("nodes") or []
            if x.get("node") == "n3"), 15), "n3 killed: down on n1")
        r = tickctl(n1, "cluster", "forget", "n3")
        t.ok(r.ok and r.get("forgotten") == "n3", "forget n3 on n1", r)
        names = ["carol"] + [f"u{u}" for u in range(2, 20, 3)]
        masters = {rc.owner(f"tickd:u:{{{u}}}") for u in names}
        ok = wait_for(lambda: all(rc.cmd("GET", f"tickd:u:{{{u}}}") == ""
            for u in names), 10)
        t.ok(ok and len(masters) > 1, "n3's names are gone from the "
            f"masters {sorted(masters)}")
        t.eq(register(n1, "carol").status, 201, "carol registers again, "
            "on n1")
        for cli in (a, b):
            await cli.close()


run(main, 42, timeout=240)
