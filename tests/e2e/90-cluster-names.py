#!/usr/bin/python3
# Name conflicts after Redis restarted empty (tickd-cluster(7) NAME
# CONFLICTS): alice registers on n1; n1 is cut from Redis, Redis restarts
# empty and alice registers again on n2; n1 comes back, its write-back
# finds the name n2's and logs the conflict, and n2's later account is
# refused logins (409 name_taken) and WebSockets while n1's logs in.  tickctl cluster
# claim alice on n2 gives n2's account the name: it logs in, n1's is
# refused.  carol on n3, who wrote to alice when n1 was her home, still
# has n1 cached: n1 answers that alice is not homed there, n3 looks her
# up again, and the message reaches n2's alice, whose receipt comes back
# to carol (tickd-cluster(7), Home nodes).  The hold outlives Redis's data: after another empty restart
# n1 writes neither alice's entry nor her mirrors back, n2 does, and n1
# still refuses.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()


async def main(t):
    with Cluster(login_rate=1000) as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        t.eq(register(n1, "alice").status, 201, "alice registers on n1")
        register(n3, "carol")
        c = await Client.connect(n3, token_for(n3, "carol"), name="carol")
        await c.send({"op": "send", "to": "alice", "id": "c1",
            "body": "before"})
        f = await c.recv_op(("sent", "error"), 10)
        t.eq((f or {}).get("op"), "sent",
            "carol on n3 writes to alice on n1: n3 caches her home")


        async def connect():
            """n2's alice connects before n1 is back."""
            tok = token_for(n2, "alice")
            return tok, await Client.connect(n2, tok, name="alice-n2")

        tok2, a2 = await name_conflict(t, cl, ["alice"], hook=connect)
        t.ok(wait_for(lambda: name_held(n2, "alice"), 15),
            "n2's later account: login 409 name_taken")
        t.ok(log_has(n2, "node n1 keeps alice (the earlier account)"),
            "n2 logs that it holds alice")
        code = await a2.wait_closed(5)
        t.eq(code, 1008, "and closes her WebSocket")
        w = await Client.connect(n2, tok2, name="alice-n2", ready=False)
        f = await w.recv()
        code = await w.wait_closed()
        t.ok(f.get("code") == "bad_token" and code == 1008,
            "her token no longer opens one", [f, code])
        t.eq(login(n1, "alice").status, 200,
            "n1's earlier account logs in")

        r = tickctl(n2, "cluster", "claim", "alice", json_out=False)
        t.ok(r.ok and "alice claimed for node n2" in r.out,
            "tickctl cluster claim alice on n2", r)
        t.eq(login(n2, "alice").status, 200, "n2's account logs in again")
        t.ok(wait_for(lambda: name_held(n1, "alice"), 15),
            "n1's account is refused now")
        t.eq(cl.redis.cmd("GET", "tickd:u:{alice}"), "n2",
            "the directory names n2")
        r = tickctl(n1, "cluster", "claim", "nosuch")
        t.ok(r.one_error_line("no such user"),
            "claim of a name without an account here: refused", r)

        a = await Client.connect(n2, token_for(n2, "alice"), name="alice")
        await c.send({"op": "send", "to": "alice", "id": "c2",
            "body": "after"})
        f = await c.recv_op(("sent", "error"), 10) or {}
        m = await a.recv_op("msg", 15) or {}
        t.ok(f.get("op") == "sent" and m.get("from") == "carol" and
            m.get("body") == "after", "carol's next message, sent to n1 "
            "from n3's stale cache, reaches alice on n2", [f, m])
        await a.send({"op": "ack", "mid": m.get("mid", "")})
        r = await c.recv_op("receipt", 15) or {}
        t.ok(r.get("status") == "delivered" and r.get("for") ==
            f.get("mid"), "and her receipt reaches carol", r)

        # Redis empty again, n2 cut off meanwhile: n1 writes nothing of
        # its held alice back; then n2 does.
        cl.proxies[1].cut()
        cl.restart_redis()
        t.ok(wait_for(lambda: log_has(n1, "alice is held here"), 15),
            "Redis empty again, n2 cut off: n1 does not write alice back")
        time.sleep(1.5)
        t.ok(cl.redis.cmd("EXISTS", "tickd:u:{alice}", "tickd:p:{alice}",
            "tickd:b:{alice}") == "0",
            "neither her directory entry nor her mirrors")
        cl.proxies[1].restore()
        t.ok(wait_for(lambda: cl.redis.cmd("GET", "tickd:u:{alice}") ==
            "n2" and cl.redis.cmd("HGET", "tickd:p:{alice}", "online") ==
            "1", 15), "n2 back: it writes alice back, online")
        t.ok(name_held(n1, "alice") and login(n2, "alice").status == 200,
            "n1 still refuses its alice, n2 lets its alice in")
        await a.close()
        await c.close()


run(main, 22, timeout=120)
