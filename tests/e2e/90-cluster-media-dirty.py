#!/usr/bin/python3
# tickd:m:{NODE.ID} made right past the 1,024 IDs noted (tickd-cluster(7)
# Media in messages between nodes): while n1 cannot reach Redis, more
# than 1,024 uploads and deletes commit there; once Redis answers again,
# at a heartbeat n1 sets the key of every live ID, an ID uploaded and
# deleted meanwhile gets none, the key of an ID deleted first, among the
# 1,024 noted, is deleted, and the other keys set before the cut stay.

import concurrent.futures
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

UPLOADS = 1100
DELETES = 100


def upload(d, token, i):
    r = http_request(d, "POST", "/v1/media", str(i).encode(), token=token,
        headers={"Content-Type": "text/plain"})
    return (r.json or {}).get("media", "") if r.status == 201 else None


def delete(d, token, mid):
    return http_request(d, "DELETE", f"/v1/media/{mid}",
        token=token).status


def keys_set(cl, ids):
    """How many of ids have their tickd:m key in Redis (one EXISTS per
    500, so that a poll stays cheap)."""
    n = 0
    for i in range(0, len(ids), 500):
        n += int(cl.redis.cmd("EXISTS",
            *[f"tickd:m:{{{m}}}" for m in ids[i:i + 500]]))
    return n


async def main(t):
    with Cluster(n=2, media_rate="0") as cl:
        n1 = cl.node(1)
        ta = token_for(n1, "alice", "phone", new=True)
        hb = 4 if VALGRIND else 2

        pool = concurrent.futures.ThreadPoolExecutor(4)
        pre = list(pool.map(lambda i: upload(n1, ta, f"pre{i}"), range(3)))
        t.ok(None not in pre and wait_for(lambda: keys_set(cl, pre) == 3,
            5), "three uploads with Redis up: their keys are set", pre)

        cl.proxies[0].cut()
        t.ok(wait_for(lambda: cluster_metric(n1,
            "tickd_cluster_redis_up") == 0, 15), "n1 cut off from Redis")
        t.eq(delete(n1, ta, pre[0]), 204,
            "the first upload deleted without Redis: the first ID noted")
        ids = list(pool.map(lambda i: upload(n1, ta, i), range(UPLOADS)))
        gone = ids[:DELETES]
        st = list(pool.map(lambda m: delete(n1, ta, m), gone))
        live = ids[DELETES:]
        t.ok(None not in ids and len(set(ids)) == UPLOADS and
            st == [204] * DELETES,
            f"{UPLOADS} uploads on n1 without Redis, {DELETES} of them "
            f"deleted: {UPLOADS} IDs noted, past 1,024",
            [ids.count(None), sorted(set(st))])
        t.eq(keys_set(cl, ids), 0, "Redis has none of their keys yet")

        cl.proxies[0].restore()
        cl.wait_up()
        t.ok(wait_for(lambda: keys_set(cl, live) == len(live), 3 * hb),
            f"Redis back: at a heartbeat n1 sets the key of each of the "
            f"{len(live)} live IDs", keys_set(cl, live))
        t.eq(keys_set(cl, gone), 0, "the IDs deleted meanwhile have none")
        t.eq(keys_set(cl, pre[:1]), 0,
            "the key of the ID deleted first is deleted")
        t.eq(keys_set(cl, pre[1:]), 2,
            "the other keys set before the cut stay")
        pool.shutdown()


run(main, 9, timeout=90)
