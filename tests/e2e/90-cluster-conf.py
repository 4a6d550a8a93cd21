#!/usr/bin/python3
# The cluster keys at start-up (tickd.conf(5) Cluster, tickd-cluster(7)):
# tickd -t accepts one rediss:// URL; tickd -t and tickd itself refuse
# rediss:// seeds of a Redis Cluster, tickd a cluster_redis_ca_file it
# cannot read, and tickd -t a sentinel:// URL beside another, a
# cluster_redis without node_name or cluster_url, and a bad node_name, and
# accept several redis:// URLs (Redis Cluster seeds); a tickd built --without-hiredis refuses cluster_redis.
# tickd -t refuses a cluster_slots_refresh below 100ms or above 1h.
# With cluster_redis unset the cluster keys change nothing.

import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

BUILT = os.environ.get("TICKD_CLUSTER", "yes") == "yes"


def check(d):
    """Write d's config and run tickd -t on it; (exit status, stderr)."""
    d.write_conf()
    return d.check_config()


def start_fails(d):
    """Start tickd in the foreground; (exit status, output)."""
    d.write_conf()
    p = subprocess.run([TICKD, "-f", "-c", d.conf_path],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


async def main(t):
    base = {"node_name": "n1", "cluster_url": "http://127.0.0.1:1"}
    d = Daemon(cluster_redis="rediss://127.0.0.1:6379", **base)
    rc, err = check(d)
    if BUILT:
        t.ok(rc == 0, "tickd -t: one rediss:// URL is accepted", err)
        d.conf["cluster_redis"] = \
            '"rediss://127.0.0.1:7001 rediss://127.0.0.1:7002"'
        rc, err = check(d)
        t.ok(rc != 0 and "Redis Cluster over TLS is not supported" in err,
            "tickd -t: rediss:// seeds of a Redis Cluster refused", err)
        rc, err = start_fails(d)
        t.ok(rc != 0 and "over TLS is not supported" in err,
            "tickd: rediss:// seeds refused at start", err)
        d.conf["cluster_redis"] = "rediss://127.0.0.1:6379"
        d.conf["cluster_redis_ca_file"] = os.path.join(d.dir, "none.pem")
        rc, err = start_fails(d)
        t.ok(rc != 0 and "cluster_redis_ca_file" in err and "none.pem" in
            err, "tickd: a missing cluster_redis_ca_file refused at start",
            err)
        d.conf["cluster_redis_ca_file"] = None
        d.conf["cluster_redis"] = \
            '"redis://127.0.0.1:7001 sentinel://127.0.0.1:26379/m"'
        rc, err = check(d)
        t.ok(rc != 0 and "stands alone" in err,
            "tickd -t: a sentinel:// URL beside another refused", err)
        d.conf["cluster_redis"] = \
            '"redis://127.0.0.1:7001 redis://127.0.0.1:7002"'
        rc, err = check(d)
        t.ok(rc == 0, "tickd -t: several redis:// URLs, Redis Cluster "
            "seeds, are accepted", err)
        d.conf["cluster_redis"] = "redis://127.0.0.1:6379"
        rc, err = check(d)
        t.ok(rc == 0, "tickd -t: one redis:// URL is accepted", err)
    else:
        t.ok(rc != 0 and "--without-hiredis" in err,
            "tickd -t: cluster_redis refused without hiredis", err)
        d.conf["cluster_redis"] = "redis://127.0.0.1:6379"
        rc, err = start_fails(d)
        t.ok(rc != 0 and "without cluster support" in err,
            "tickd: cluster_redis refused at start without hiredis", err)
        for n in range(3, 8):
            t.skip(f"case {n}", "tickd built --without-hiredis")

    d.conf["node_name"] = None
    rc, err = check(d)
    t.ok(rc != 0 and "cluster_redis needs node_name" in err,
        "cluster_redis without node_name refused", err)
    d.conf["node_name"] = "n1"
    d.conf["cluster_url"] = None
    rc, err = check(d)
    t.ok(rc != 0 and "cluster_redis needs cluster_url" in err,
        "cluster_redis without cluster_url refused", err)
    d.conf["cluster_url"] = "http://127.0.0.1:1"
    d.conf["node_name"] = "Node_1"
    rc, err = check(d)
    t.ok(rc != 0 and "is not 1-32 bytes of [a-z0-9-]" in err,
        "a bad node_name refused", err)

    # cluster_slots_refresh, from 100ms to 1h (tickd.conf(5)): each edge
    # accepted, the value just past it refused, naming the bound; checked
    # without cluster_redis, so in a tickd built --without-hiredis too.
    got = {}
    r = Daemon(name="slots")
    for v in ("99ms", "100ms", "1h", "3601s"):
        r.conf["cluster_slots_refresh"] = v
        got[v] = check(r)
    r.cleanup()
    t.ok(got["99ms"][0] != 0 and "cluster_slots_refresh" in got["99ms"][1]
        and "99ms is below the minimum 100ms" in got["99ms"][1],
        "cluster_slots_refresh 99ms refused", got["99ms"])
    t.ok(got["100ms"][0] == 0 and got["1h"][0] == 0,
        "cluster_slots_refresh 100ms and 1h accepted", [got["100ms"],
        got["1h"]])
    t.ok(got["3601s"][0] != 0 and "3601s is above the maximum 1h" in
        got["3601s"][1], "cluster_slots_refresh 3601s refused",
        got["3601s"])

    # Without cluster_redis, the other keys are inert: a single node.
    s = Daemon(node_name="n1", cluster_url="http://127.0.0.1:1",
        cluster_retry="2s")
    s.start()
    tok = token_for(s, "alice", new=True)
    t.ok(tok is not None and not tok.startswith("n1."),
        "cluster_redis unset: a single node, tokens unchanged", tok)
    s.cleanup()
    d.cleanup()


run(main, 14)
