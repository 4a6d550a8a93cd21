#!/usr/bin/python3
# A held account's cached home (tickd-cluster(7), Name conflicts): the
# node that holds an account caches the winner as the name's home, and a
# held name whose cached home is gone (here after tickctl cluster forget)
# gets the winner cached again at the next heartbeat, without a message
# or a group add to look it up.  amy and zed register on n1, and amy
# makes #g, homed on n1, with zed.  zed registers again on n2 after an
# empty restart of Redis, then on n3 after another: n1, the earliest,
# keeps the name, n2 and n3 hold theirs.  A claim on n2 makes n1 hold
# its account, caching n2; a claim on n3 makes n2 hold, while n1, held
# already, keeps n2 cached.  n2 stops and n1 forgets it, which drops that
# cached home; at the next heartbeats n1 caches n3, the winner, and
# amy's next message to #g reaches zed on n3 rather than staying in the
# held account's queues.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()

W = 4 if VALGRIND else 1
REPLIES = ("ok", "error", "group_info", "sent")


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout * W) or {}


async def main(t):
    with Cluster(login_rate=1000) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        hb = 2 if VALGRIND else 1
        for u in ("amy", "zed"):
            register(n1, u)
        a = await Client.connect(n1, token_for(n1, "amy", "phone"),
            name="amy")
        r = await req(a, {"op": "group_create", "group": "#g",
            "title": "G", "members": ["zed"], "ref": 1})
        t.ok(r.get("op") == "group_info" and [m["user"] for m in
            r.get("members", [])] == ["amy", "zed"],
            "amy on n1 makes #g with zed, both homed on n1", r)

        await name_conflict(t, cl, ["zed"])
        t.ok(wait_for(lambda: name_held(n2, "zed"), 15),
            "n1's account is the earlier: n2 holds its zed")

        cl.proxies[0].cut()
        cl.proxies[1].cut()
        ok = wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0 and cluster_metric(n2, "tickd_cluster_redis_up") == 0, 15)
        cl.restart_redis()
        ok = ok and wait_for(lambda: cl.redis.cmd("EXISTS",
            "tickd:alive:{n3}") == "1", 15)
        t.ok(ok and register(n3, "zed").status == 201, "n1 and n2 cut, "
            "Redis empty again: zed registers on n3")
        cl.proxies[0].restore()
        cl.proxies[1].restore()
        t.ok(wait_for(lambda: log_has(n1, "name conflict: zed, homed "
            "here, is registered to node n3") and name_held(n3, "zed"),
            15), "n1 writes zed back, finds it n3's, and keeps it: n3 "
            "holds its zed")

        t.ok(tickctl(n2, "cluster", "claim", "zed", json_out=False).ok and
            wait_for(lambda: name_held(n1, "zed"), 15),
            "tickctl cluster claim zed on n2: n1 holds its zed, caching "
            "n2 as the name's home")
        t.ok(tickctl(n3, "cluster", "claim", "zed", json_out=False).ok and
            wait_for(lambda: name_held(n2, "zed"), 15) and
            login(n3, "zed").status == 200,
            "tickctl cluster claim zed on n3: n2 holds its zed, n3's logs "
            "in")

        def forget():
            """tickctl cluster forget n2 on n1, once its heartbeat lapsed;
            None while refused."""
            r = tickctl(n1, "cluster", "forget", "n2", json_out=False)
            return r if r.ok else None

        n2.stop()
        t.ok(wait_for(forget, 15) is not None, "n2 stopped; n1 forgets "
            "it, and with it its cached home of zed")
        # Heartbeats, and nothing that looks zed up meanwhile.
        time.sleep(4 * hb)
        z = await Client.connect(n3, token_for(n3, "zed", "pc"),
            name="zed-n3")
        s = await req(a, {"op": "send", "to": "#g", "id": "g1",
            "body": "to the group"})
        m = await z.recv_op("msg", 15 * W) or {}
        t.ok(s.get("op") == "sent" and m.get("from") == "amy" and
            m.get("to") == "#g" and m.get("body") == "to the group",
            "at its heartbeat n1 cached n3, the winner, again: amy's "
            "message to #g reaches zed on n3", [s, m])
        for x in (a, z):
            await x.close()


run(main, 12, timeout=180)
