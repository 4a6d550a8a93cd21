#!/usr/bin/env python3
# Real Redis clients against the RESP shim (tickd-resp(7)): a small Redis
# Streams work-queue app written with redis-py (Debian's python3-redis) runs
# unchanged against tickd and redis-server 7.0 with the same outcome; a
# pipeline of 10,000 XADDs, in a MULTI/EXEC transaction and without; and
# redis-cli, whose output for a script of commands must be the same as against
# redis-server, and whose --pipe mass insertion works.

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

try:
    import redis
except ImportError:
    redis = None

N_JOBS = 300


def work_queue(port):
    """A producer, two consumers in a group, a crashed consumer whose
    entries a third claims with XAUTOCLAIM; returns what a Redis Streams
    app would check."""
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True,
        socket_timeout=10)
    out = {"ping": r.ping()}
    r.xgroup_create("jobs", "workers", id="0", mkstream=True)
    ids = [r.xadd("jobs", {"job": str(i), "kind": "even" if i % 2 == 0
        else "odd"}, maxlen=10000, approximate=True) for i in range(N_JOBS)]
    out["xlen"] = r.xlen("jobs")
    out["ids_increase"] = all(tuple(map(int, a.split("-"))) <
        tuple(map(int, b.split("-"))) for a, b in zip(ids, ids[1:]))
    done = {}
    # A consumer that reads and dies without acking.
    crashed = r.xreadgroup("workers", "crashed", {"jobs": ">"}, count=20)
    out["crashed_got"] = len(crashed[0][1])
    # Two healthy consumers share the rest.
    for round_ in range(100):
        busy = False
        for who in ("w1", "w2"):
            got = r.xreadgroup("workers", who, {"jobs": ">"}, count=7,
                block=100)
            for _, entries in got or []:
                for eid, fields in entries:
                    busy = True
                    done[fields["job"]] = done.get(fields["job"], 0) + 1
                    r.xack("jobs", "workers", eid)
        if not busy:
            break
    summary = r.xpending("jobs", "workers")
    out["pending_before"] = (summary["pending"],
        sorted((c["name"], c["pending"]) for c in summary["consumers"]))
    out["pending_range"] = [(ids.index(p["message_id"]), p["consumer"],
        p["times_delivered"]) for p in r.xpending_range("jobs", "workers",
        min="-", max="+", count=100)]
    # A third consumer takes over what the crashed one held.
    cursor, claimed = "0-0", []
    while True:
        res = r.xautoclaim("jobs", "workers", "rescuer", min_idle_time=0,
            start_id=cursor, count=8)
        cursor, entries = res[0], res[1]
        claimed += entries
        if cursor == "0-0":
            break
    for eid, fields in claimed:
        done[fields["job"]] = done.get(fields["job"], 0) + 1
        r.xack("jobs", "workers", eid)
    out["claimed"] = len(claimed)
    out["all_done_once"] = sorted(done) == sorted(map(str,
        range(N_JOBS))) and set(done.values()) == {1}
    out["pending_after"] = r.xpending("jobs", "workers")["pending"]
    groups = r.xinfo_groups("jobs")
    out["groups"] = [(g["name"], g["consumers"], g["pending"],
        g["last-delivered-id"] == ids[-1], g["entries-read"], g["lag"])
        for g in groups]
    cons = r.xinfo_consumers("jobs", "workers")
    out["consumers"] = sorted((c["name"], c["pending"]) for c in cons)
    info = r.xinfo_stream("jobs")
    out["stream"] = (info["length"], info["entries-added"],
        info["first-entry"][1], info["last-entry"][1], info["groups"])
    out["claim"] = r.xclaim("jobs", "workers", "w1", 0, [ids[0]],
        justid=True)
    out["range"] = [f for _, f in r.xrange("jobs", count=3)]
    out["revrange"] = [f for _, f in r.xrevrange("jobs", count=2)]
    out["trim"] = r.xtrim("jobs", maxlen=100)
    out["del"] = r.xdel("jobs", ids[-1], ids[-2], "1-1")
    out["len"] = r.xlen("jobs")
    r.sadd("tags", "a", "b", "c")
    r.srem("tags", "b")
    r.set("config", "x", ex=60)
    out["misc"] = (sorted(r.smembers("tags")), r.sismember("tags", "a"),
        r.get("config"), r.exists("tags", "jobs", "nope"), r.type("jobs"),
        sorted(r.scan_iter(match="*")))
    with r.pipeline(transaction=True) as p:
        p.xadd("tx", {"a": "1"}, id="1-1").sadd("txs", "m").xlen("tx")
        out["tx"] = p.execute()
    try:
        r.xreadgroup("nogroup", "c", {"jobs": ">"})
        out["nogroup"] = None
    except redis.ResponseError as e:
        out["nogroup"] = str(e)
    r.close()
    return out


def big_pipelines(t, port):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
    for transaction in (False, True):
        key = f"big-{transaction}"
        t0 = time.monotonic()
        with r.pipeline(transaction=transaction) as p:
            for i in range(10000):
                p.xadd(key, {"i": str(i)})
            ids = p.execute()
        dt = time.monotonic() - t0
        keys = [tuple(map(int, i.split(b"-"))) for i in ids]
        t.ok(len(ids) == 10000 and all(a < b for a, b in
            zip(keys, keys[1:])) and r.xlen(key) == 10000 and
            r.xrange(key, "-", "+", count=1)[0][1] == {b"i": b"0"},
            f"a pipeline of 10,000 XADDs "
            f"{'in MULTI/EXEC ' if transaction else ''}"
            f"adds them all, in order ({dt:.2f} s)", f"{len(ids)} ids")
    r.close()


CLI_SCRIPT = [
    ["PING"], ["XADD", "cli", "1-1", "name", "alice", "n", "1"],
    ["XADD", "cli", "2-1", "name", "bob"], ["XRANGE", "cli", "-", "+"],
    ["XGROUP", "CREATE", "cli", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "cli", ">"],
    ["XPENDING", "cli", "g"], ["XACK", "cli", "g", "1-1"],
    ["XINFO", "GROUPS", "cli"], ["XLEN", "cli"], ["SADD", "s", "x", "y"],
    ["SCARD", "s"], ["GET", "nokey"], ["SET", "k", "v"], ["GET", "k"],
    ["XADD", "cli", "1-1", "x", "y"], ["TYPE", "cli"], ["DEL", "k", "s"],
    ["EXISTS", "k"], ["XREAD", "STREAMS", "cli", "0"],
]


def cli(port, *args, stdin=None):
    p = subprocess.run([REDIS_CLI, "-p", str(port), *args], input=stdin,
        capture_output=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


async def main(t):
    need_redis()
    if redis is None or not REDIS_CLI:
        print("1..0 # SKIP python3-redis or redis-cli is missing")
        sys.exit(77)
    ref = Redis()
    with RespDaemon() as tk:
        want = work_queue(ref.port)
        got = work_queue(tk.resp_port)
        t.ok(got["all_done_once"] and got["pending_after"] == 0,
            "the redis-py work queue processes every job exactly once on "
            "tickd", repr(got)[:600])
        diffs = [f"{k}: tickd {got[k]!r}\n  redis {want[k]!r}"
            for k in want if got.get(k) != want[k]]
        t.ok(not diffs, "and every result redis-py sees is the same as "
            "with redis-server", diffs)

        big_pipelines(t, tk.resp_port)

        bad = []
        for c in CLI_SCRIPT:
            a = cli(tk.resp_port, "--no-raw", *c)
            b = cli(ref.port, "--no-raw", *c)
            if a != b:
                bad.append(f"{' '.join(c)}: tickd {a!r} redis {b!r}")
        t.ok(not bad, f"redis-cli prints the same for {len(CLI_SCRIPT)} "
            "commands", bad[:5])
        stdin = "".join(f"XADD mass {i + 1}-0 v {i}\n" for i in range(2000))
        rc, out, err = cli(tk.resp_port, "--pipe", stdin=stdin.encode())
        n = cli(tk.resp_port, "XLEN", "mass")[1]
        t.ok(rc == 0 and b"errors: 0, replies: 2000" in out and
            n.strip() == b"2000", "redis-cli --pipe mass-inserts 2000 XADDs",
            f"{rc} {out!r} {err!r} {n!r}")
        rc, out, _ = cli(tk.resp_port, "-3", "HELLO", "3")
        t.ok(rc == 0 and b"proto" in out and b"3" in out,
            "redis-cli -3 speaks RESP3", repr(out))
        t.eq(tk.stop(), 0, "tickd stops cleanly on SIGTERM")


run(main, 8)
