#!/usr/bin/env python3
# Keys, set members, group and consumer names longer than an LMDB key
# (tickd-resp(7)): up to resp_max_bulk, each compared with a real
# redis-server 7.0 (whose proto-max-bulk-len is the same 1 MiB here), then
# found again after tickd is killed and restarted, and tickctl verify
# finds the store sound.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl  # noqa: E402

BIG = 200000
MEMBER = "m" * (BIG - 3) + "end"
OTHER = "m" * (BIG - 3) + "eNd"
KEY = "k" * 600
KEY2 = "k" * 599 + "2"
EDGE = ["e" * n for n in (509, 510, 511, 512, 1000)]
GROUP = "g" * 5000
CONS = "c" * 100000
CONS2 = "d" * 99999 + "2"
# Names sharing their first 493 bytes are listed in another order than
# redis-server's (tickd-resp(7) CAVEATS): these differ before.
GROUP2 = "h" + GROUP
MAXB = 1 << 20


def sets(d):
    d.run([
        ["SADD", "s", MEMBER], ["SADD", "s", MEMBER, OTHER, "short"],
        ["SCARD", "s"], ["SISMEMBER", "s", MEMBER],
        ["SISMEMBER", "s", MEMBER[:-1]], ["SISMEMBER", "s", OTHER],
        ["SMISMEMBER", "s", MEMBER, "x", OTHER], ["SMEMBERS", "s"],
        ["SREM", "s", MEMBER], ["SISMEMBER", "s", MEMBER],
        ["SMEMBERS", "s"], ["SADD", "s", *EDGE], ["SMEMBERS", "s"],
        ["SREM", "s", *EDGE[1:4]], ["SMEMBERS", "s"], ["SCARD", "s"],
        ["SADD", "s2", "x" * (MAXB - 100)], ["SCARD", "s2"],
    ])


def keys(d):
    cmds = [["SET", KEY, "v1"], ["SET", KEY2, "v2"], ["GET", KEY],
        ["GET", KEY2], ["GET", KEY[:-1]], ["EXISTS", KEY, KEY2, KEY[:-1]],
        ["TYPE", KEY], ["SET", KEY, "x" * BIG], ["GET", KEY],
        ["SET", KEY, "v3", "NX"], ["SET", KEY, "v3", "XX", "GET"],
        ["GET", KEY], ["DEL", KEY], ["GET", KEY], ["GET", KEY2],
        ["SADD", KEY, "a"], ["TYPE", KEY], ["SET", KEY, "again"],
        ["TYPE", KEY], ["SET", "y" * (MAXB - 100), "big"],
        ["GET", "y" * (MAXB - 100)]]
    for e in EDGE:
        cmds += [["SET", e, e[:3]], ["GET", e]]
    cmds += [["DEL", *EDGE[::2]], ["EXISTS", *EDGE]]
    d.run(cmds)
    # Redis's SCAN order is that of its hash table: compare as sets.
    for pat in ("k*", "e*", "y*"):
        args = ["SCAN", "0", "MATCH", pat, "COUNT", "1000"]
        a, b = d.a.cmd(*args), d.b.cmd(*args)
        d.n += 1
        if not (a[0] == b[0] == b"0" and sorted(a[1]) == sorted(b[1])):
            d.failures += 1
            d.t.diag(f"SCAN MATCH {pat} differs: tickd {len(a[1])} keys, "
                f"redis {len(b[1])}")


def streams(d):
    d.run([
        ["XADD", KEY2 + "s", "1-1", MEMBER, OTHER],
        ["XRANGE", KEY2 + "s", "-", "+"],
        ["XGROUP", "CREATE", KEY2 + "s", GROUP, "0"],
        ["XGROUP", "CREATE", KEY2 + "s", GROUP, "0"],
        ["XGROUP", "CREATE", KEY2 + "s", GROUP2, "$"],
        ["XINFO", "GROUPS", KEY2 + "s"],
        ["XREADGROUP", "GROUP", GROUP, CONS, "STREAMS", KEY2 + "s", ">"],
        ["XADD", KEY2 + "s", "2-1", "f", "v"],
        ["XGROUP", "CREATECONSUMER", KEY2 + "s", GROUP, CONS2],
        ["XGROUP", "CREATECONSUMER", KEY2 + "s", GROUP, CONS2],
        ["XREADGROUP", "GROUP", GROUP, CONS2, "STREAMS", KEY2 + "s", ">"],
        ["XINFO", "CONSUMERS", KEY2 + "s", GROUP],
        ["XPENDING", KEY2 + "s", GROUP],
        ["XCLAIM", KEY2 + "s", GROUP, CONS2, "0", "1-1", "JUSTID"],
        ["XPENDING", KEY2 + "s", GROUP],
        ["XACK", KEY2 + "s", GROUP, "2-1"],
        ["XGROUP", "DELCONSUMER", KEY2 + "s", GROUP, CONS],
        ["XGROUP", "DELCONSUMER", KEY2 + "s", GROUP, CONS2],
        ["XINFO", "CONSUMERS", KEY2 + "s", GROUP],
        ["XGROUP", "DESTROY", KEY2 + "s", GROUP2],
        ["XINFO", "GROUPS", KEY2 + "s"], ["XINFO", "STREAM", KEY2 + "s"],
        ["DEL", KEY2 + "s"], ["EXISTS", KEY2 + "s"],
    ])


async def main(t):
    need_redis()
    need_tickctl()
    redis = Redis()
    with RespDaemon(resp_max_bulk="1m") as tk:
        d = Differ(t, tk.conn(name="tickd", timeout=20),
            redis.conn(name="redis", timeout=20), "long")
        for name, fn in [("SADD, SREM, SISMEMBER, SMEMBERS with members of "
            "up to 1 MiB", sets), ("SET, GET, DEL, EXISTS, TYPE, SCAN with "
            "keys of up to 1 MiB", keys), ("streams, groups and consumers "
            "with long keys and names", streams)]:
            fn(d)
            d.check(f"{name} reply as redis-server does")

        c = tk.conn(timeout=20)
        c.cmd("SADD", "keep", MEMBER, OTHER)
        c.cmd("SET", KEY, "kept")
        c.cmd("XADD", "ks", "1-1", "f", "v")
        c.cmd("XGROUP", "CREATE", "ks", GROUP, "0")
        c.cmd("XREADGROUP", "GROUP", GROUP, CONS, "STREAMS", "ks", ">")
        c.close()
        tk.restart(kill=True)
        c = tk.conn(timeout=20)
        got = [c.cmd("SISMEMBER", "keep", MEMBER),
            c.cmd("SISMEMBER", "keep", OTHER), c.cmd("SCARD", "keep"),
            c.cmd("GET", KEY), c.cmd("XPENDING", "ks", GROUP)]
        t.eq(got, [1, 1, 2, b"kept", [1, b"1-1", b"1-1",
            [[CONS.encode(), b"1"]]]],
            "long members, keys, groups and consumers survive SIGKILL")
        c.close()
        t.eq(tk.stop(), 0, "tickd stops cleanly on SIGTERM")
        r = tickctl(tk, "verify")
        t.ok(r.ok, "tickctl verify finds the store with long names sound",
            repr(r))


run(main, 6, timeout=120)
