#!/usr/bin/python3
# The mirror tickd:g:{#g} of a group follows what changes it outside the
# client protocol (tickd-cluster(7) GROUPS): tickctl user del of a member
# on the group's home n1 rewrites it, tickctl group del deletes it (so
# that bob on n2 gets no_such_group), n1 writes every mirror again
# when it starts, one lost meanwhile included, and a mirror whose EXEC
# got no answer before Redis went unreachable is written again once it
# is back.

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


async def req(c, obj, timeout=10):
    await c.send(obj)
    return await c.recv_op(("ok", "error", "group_info", "sent"),
        timeout * W) or {}


async def main(t):
    with Cluster(n=2) as cl:
        n1, n2 = cl.node(1), cl.node(2)
        for u, d in (("alice", n1), ("carol", n1), ("erin", n1),
                ("bob", n2)):
            register(d, u)
        al = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        bo = await Client.connect(n2, token_for(n2, "bob"), name="bob")
        r1 = await req(al, {"op": "group_create", "group": "#m",
            "title": "M", "members": ["bob", "carol"], "ref": 1})
        r2 = await req(al, {"op": "group_create", "group": "#x",
            "title": "X", "members": ["bob"], "ref": 2})
        hget = lambda g, f: cl.redis.cmd("HGET", f"tickd:g:{{{g}}}", f)
        ok = wait_for(lambda: hget("#m", "carol") == "member" and
            hget("#x", "bob") == "member", 10)
        t.ok(r1.get("op") == r2.get("op") == "group_info" and ok,
            "#m (alice, bob, carol) and #x (alice, bob) mirrored by n1",
            [r1, r2])

        r = tickctl(n1, "user", "del", "carol")
        ok = wait_for(lambda: hget("#m", "carol") == "" and
            hget("#m", "@version") == "2", 10)
        t.ok(r.ok and ok, "tickctl user del carol: #m's mirror without "
            "her, at version 2", [r, cl.redis.cmd("HGETALL",
            "tickd:g:{#m}")])

        r = tickctl(n1, "group", "del", "#x")
        ok = wait_for(lambda: cl.redis.cmd("EXISTS", "tickd:g:{#x}") ==
            "0", 10)
        s = await req(bo, {"op": "send", "to": "#x", "id": "x1",
            "body": 1})
        t.ok(r.ok and ok and s.get("code") == "no_such_group",
            "tickctl group del #x: its mirror goes; bob's send on n2 gets "
            "no_such_group", [r, s])

        await al.close()
        cl.redis.cmd("DEL", "tickd:g:{#m}")
        n1.stop()
        n1.start()
        cl.wait_up()
        ok = wait_for(lambda: hget("#m", "bob") == "member" and
            hget("#m", "@home") == "n1", 10)
        t.ok(ok, "a mirror lost while n1 ran is written again when n1 "
            "starts", cl.redis.cmd("HGETALL", "tickd:g:{#m}"))

        # Redis stops answering n1 just as it adds erin: the MULTI and
        # EXEC of #m's mirror go nowhere, n1's watchdog drops the link.
        al = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        cl.proxies[0].blackhole()
        r = await req(al, {"op": "group_add", "group": "#m",
            "users": ["erin"], "ref": 3})
        down = wait_for(lambda: cluster_metric(n1,
            "tickd_cluster_redis_up") == 0, 20 * W)
        cl.proxies[0].restore()
        ok = wait_for(lambda: hget("#m", "erin") == "member", 20 * W)
        t.ok(r.get("op") == "ok" and down and ok, "erin added while "
            "Redis took nothing from n1: #m's mirror has her once n1 is "
            "back", [r, down, cl.redis.cmd("HGETALL", "tickd:g:{#m}")])
        await al.close()
        await bo.close()


run(main, 5, timeout=90)
