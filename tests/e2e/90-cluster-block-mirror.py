#!/usr/bin/python3
# The mirrors of a user whose blocks or presence changed while its home was
# cut from Redis are written again once Redis is back (tickd-cluster(7)
# PRESENCE, What each failure does).  alice (n1) has blocked bob (n2); with
# n1 cut she unblocks bob, blocks dave (n2) and goes offline, and carol
# (n1), who blocked nobody, goes offline too.  Once n1 is back, bob sees
# alice offline with a last_seen, dave sees her offline and never seen,
# the mirror tickd:b:{alice} names dave alone, and bob sees carol offline.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1


def view(d, token, user):
    """What token's user sees of user on d: (online, last_seen)."""
    r = http_request(d, "GET", f"/v1/users/{user}/last-seen", token=token)
    if r.status != 200:
        return None
    return (r.json.get("online"), r.json.get("last_seen"))


async def main(t):
    with Cluster(n=2) as cl:
        n1, n2 = cl.node(1), cl.node(2)
        for d, u in ((n1, "alice"), (n1, "carol"), (n2, "bob"),
                (n2, "dave")):
            register(d, u)
        a = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        c = await Client.connect(n1, token_for(n1, "carol"), name="carol")
        tb, td = token_for(n2, "bob"), token_for(n2, "dave")
        b = await Client.connect(n2, tb, name="bob")

        r = await a.request({"op": "block", "user": "bob", "ref": 1},
            10 * W)
        s = await a.request({"op": "send", "to": "dave", "id": "x1",
            "body": "hi"}, 10 * W)
        t.ok((r or {}).get("op") == "ok" and (s or {}).get("op") ==
            "sent", "alice blocks bob and writes to dave, so that n1 "
            "knows both", [r, s])
        await b.send({"op": "subscribe", "users": ["alice", "carol"]})
        t.ok(wait_for(lambda: view(n2, tb, "alice") == (False, None) and
            view(n2, tb, "carol") == (True, None) and
            view(n2, td, "alice") == (True, None), 10),
            "bob sees alice offline and never seen, carol online; dave "
            "sees alice online")

        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 0, 15), "n1 cut from Redis")
        r = await a.request({"op": "unblock", "user": "bob", "ref": 2},
            10 * W)
        s = await a.request({"op": "block", "user": "dave", "ref": 3},
            10 * W)
        t.ok((r or {}).get("op") == "ok" and (s or {}).get("op") == "ok",
            "with n1 cut, alice unblocks bob and blocks dave", [r, s])
        await a.close()
        await c.close()
        cl.proxies[0].restore()
        t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
            == 1, 15), "n1 back on Redis")

        t.ok(wait_for(lambda: cl.redis.cmd("SMEMBERS", "tickd:b:{alice}")
            == "dave", 10), "the mirror tickd:b:{alice} names dave alone")
        t.ok(wait_for(lambda: view(n2, td, "alice") == (False, None), 10),
            "dave, blocked with n1 cut, sees alice offline and never seen")
        v = wait_for(lambda: (lambda x: x if x is not None and x[0] is False
            and isinstance(x[1], int) else None)(view(n2, tb, "alice")), 10)
        t.ok(v is not None, "bob, unblocked with n1 cut, sees alice "
            "offline with a last_seen", v)
        f = await b.collect("presence", 1.5 * W, 10 * W)
        t.ok({"op": "presence", "user": "alice", "online": False,
            "last_seen": (v or (0, 0))[1]} in f,
            "and is told so in a presence frame", f)
        v = wait_for(lambda: (lambda x: x if x is not None and x[0] is False
            and isinstance(x[1], int) else None)(view(n2, tb, "carol")), 10)
        t.ok(v is not None, "bob sees carol, gone with n1 cut, offline "
            "with a last_seen", v)
        await b.close()


run(main, 10, timeout=120)
