#!/usr/bin/python3
# tickd:m:{NODE.ID} made right again (tickd-cluster(7) Media in messages
# between nodes): an upload, or a delete, committed while its owner could
# not reach Redis is mirrored at a heartbeat once Redis answers, without a
# restart and without Redis losing its data; until then other nodes
# answer no_such_media for the new ID and take the gone one.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()


def mkey(mid):
    return f"tickd:m:{{{mid}}}"


async def send(t, c, to, cid, mid):
    return await c.request({"op": "send", "to": to, "id": cid,
        "body": "see", "media": [mid]})


async def main(t):
    with Cluster(n=2) as cl:
        n1, n2 = cl.node(1), cl.node(2)
        ta = token_for(n1, "alice", "phone", new=True)
        tb = token_for(n2, "bob", "laptop", new=True)
        tc = token_for(n2, "carol", "phone", new=True)
        hb = 4 if VALGRIND else 2

        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1,
            "tickd_cluster_redis_up") == 0, 15),
            "n1 cut off from Redis")
        r = http_request(n1, "POST", "/v1/media", b"made offline",
            token=ta, headers={"Content-Type": "text/plain"})
        mid = (r.json or {}).get("media", "")
        t.ok(r.status == 201 and mid.startswith("n1."),
            "alice's upload on n1 without Redis: 201, an n1. ID", r)
        t.eq(cl.redis.cmd("EXISTS", mkey(mid)), "0",
            "Redis has no tickd:m key for it yet")

        b = await Client.connect(n2, tb, name="bob")
        s = await send(t, b, "carol", "early", mid)
        t.ok(s is not None and s.get("code") == "no_such_media",
            "meanwhile bob's send on n2 naming it: no_such_media", s)

        cl.proxies[0].restore()
        cl.wait_up()
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", mkey(mid)) == "1",
            3 * hb), "Redis back: n1 sets tickd:m:{ID} at a heartbeat, "
            "with no restart and no data lost by Redis")
        s = await send(t, b, "carol", "late", mid)
        t.ok(s is not None and s.get("op") == "sent",
            "then bob's send on n2 naming it: sent", s)
        c = await Client.connect(n2, tc, name="carol")
        m = await c.recv_op("msg", 10)
        t.ok(m is not None and m.get("media") == [mid],
            "carol gets it with the ID", m)
        if m is not None:
            await c.send({"op": "ack", "mid": m["mid"]})
        await c.close()

        r = http_request(n1, "POST", "/v1/media", b"second", token=ta,
            headers={"Content-Type": "text/plain"})
        gone = (r.json or {}).get("media", "")
        t.ok(r.status == 201 and cl.redis.cmd("EXISTS", mkey(gone)) ==
            "1", "a second upload with Redis up: its key at once", r)
        cl.proxies[0].cut()
        wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up") ==
            0, 15)
        r = http_request(n1, "DELETE", f"/v1/media/{gone}", token=ta)
        t.eq(r.status, 204, "alice deletes it on n1 without Redis: 204")
        t.eq(cl.redis.cmd("EXISTS", mkey(gone)), "1",
            "its key is still in Redis")
        cl.proxies[0].restore()
        cl.wait_up()
        t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", mkey(gone)) == "0",
            3 * hb), "Redis back: n1 deletes tickd:m:{ID} at a heartbeat")
        s = await send(t, b, "carol", "after", gone)
        t.ok(s is not None and s.get("code") == "no_such_media",
            "then bob's send naming the deleted ID: no_such_media", s)
        t.eq(cl.redis.cmd("EXISTS", mkey(mid)), "1",
            "the first ID's key is untouched")
        await b.close()


run(main, 13, timeout=120)
