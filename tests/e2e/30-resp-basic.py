#!/usr/bin/env python3
# The RESP shim against redis-server 7.0, command by command (tickd-resp(7)):
# connection commands, HELLO and RESP3, keys, strings, sets, MULTI/EXEC,
# unknown commands and arity errors.  Every reply must match, type and
# text, but for what must differ (client ids).

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

BIN = b"bin\x00\xff\r\nkey"


def connection(d):
    d.run([
        ["PING"], ["ping", "hello"], ["PING", "a", "b"],
        ["ECHO", "x"], ["ECHO"], ["echo", ""], ["ECHO", BIN],
        ["SELECT", "0"], ["SELECT", "1"], ["SELECT", "x"], ["SELECT", "-1"],
        ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "my-name"],
        ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "bad name"],
        ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"],
        ["CLIENT", "ID"], ["CLIENT", "NOSUCH"], ["CLIENT"],
        ["CLIENT", "SETNAME"], ["client", "getname", "extra"],
        ["AUTH", "x"], ["AUTH", "default", "x"], ["AUTH", "bob", "x"],
        ["AUTH", "a", "b", "c"], ["AUTH"],
        ["HELLO", "4"], ["HELLO", "x"], ["HELLO", "2", "SETNAME"],
        ["HELLO", "2", "FOO"], ["HELLO", "2", "AUTH", "default", "x"],
        ["HELLO", "2", "AUTH", "other", "x"],
        ["HELLO", "2", "SETNAME", "n2"], ["CLIENT", "GETNAME"],
        ["HELLO"],
        ["NOSUCHCMD"], ["nosuchcmd", "a", "b c", "x" * 200],
        ["GET"], ["SET", "k"], ["XADD", "s"], ["XGROUP"], ["XINFO"],
        ["XGROUP", "NOPE"], ["XINFO", "NOPE", "k"],
        ["XGROUP", "CREATE", "s"], ["XGROUP", "DESTROY", "s", "g", "x"],
        ["XINFO", "GROUPS"], ["XINFO", "CONSUMERS", "s"],
        ["COMMAND", "COUNTX"], ["UNWATCH"], ["WATCH"],
    ])


def strings(d):
    d.run([
        ["GET", "s:1"], ["SET", "s:1", "v1"], ["GET", "s:1"],
        ["SET", "s:1", "v2", "NX"], ["GET", "s:1"],
        ["SET", "s:1", "v3", "XX"], ["GET", "s:1"],
        ["SET", "s:2", "v", "XX"], ["GET", "s:2"],
        ["SET", "s:2", "v", "NX"], ["SET", "s:2", "w", "NX", "GET"],
        ["SET", "s:2", "w", "XX", "GET"], ["SET", "s:3", "w", "GET"],
        ["SET", "s:1", "v", "NX", "XX"], ["SET", "s:1", "v", "XX", "NX"],
        ["SET", "s:1", "v", "EX"], ["SET", "s:1", "v", "EX", "0"],
        ["SET", "s:1", "v", "EX", "-5"], ["SET", "s:1", "v", "PX", "0"],
        ["SET", "s:1", "v", "EX", "x"], ["SET", "s:1", "v", "EX", "1.5"],
        ["SET", "s:1", "v", "EX", "10", "PX", "10"],
        ["SET", "s:1", "v", "EX", "10", "EX", "20"],
        ["SET", "s:1", "v", "KEEPTTL", "EX", "5"],
        ["SET", "s:1", "v", "EX", "5", "KEEPTTL"],
        ["SET", "s:1", "v", "EX", "9223372036854775807"],
        ["SET", "s:1", "v", "PX", "9223372036854775807"],
        ["SET", "s:1", "v", "EXAT", "1"], ["GET", "s:1"],
        ["SET", "s:1", "v", "PXAT", "99999999999999"], ["GET", "s:1"],
        ["SET", "s:1", "v", "KEEPTTL"], ["GET", "s:1"],
        ["SET", "s:1", "v", "BOGUS"], ["SET", "s:1", "v", "ex", "100"],
        ["SET", "s:bin" + "", BIN], ["GET", "s:bin"],
        ["SET", BIN, BIN], ["GET", BIN], ["TYPE", BIN],
        ["SET", "", "empty key"], ["GET", ""], ["EXISTS", ""],
        ["SET", "s:e", ""], ["GET", "s:e"],
        ["SET", "s:big", "x" * 100000], ["GET", "s:big"],
        ["SET", "s:px", "v", "PX", "60000"], ["GET", "s:px"],
    ])


def sets(d):
    d.run([
        ["SADD", "t:1", "a", "b", "c", "a"], ["SCARD", "t:1"],
        ["SMEMBERS", "t:1"], ["SISMEMBER", "t:1", "a"],
        ["SISMEMBER", "t:1", "z"], ["SMISMEMBER", "t:1", "a", "z", "c"],
        ["SADD", "t:1", "b", "d"], ["SREM", "t:1", "a", "z"],
        ["SMEMBERS", "t:1"], ["SREM", "t:1", "b", "c", "d"],
        ["EXISTS", "t:1"], ["TYPE", "t:1"], ["SCARD", "t:1"],
        ["SMEMBERS", "nokey"], ["SCARD", "nokey"],
        ["SISMEMBER", "nokey", "a"], ["SMISMEMBER", "nokey", "a", "b"],
        ["SREM", "nokey", "a"], ["SADD", "t:2", BIN, "", "x"],
        ["SISMEMBER", "t:2", BIN], ["SISMEMBER", "t:2", ""],
        ["SMEMBERS", "t:2"], ["SADD", "t:2"], ["SISMEMBER", "t:2"],
        ["SET", "str", "v"], ["SADD", "str", "a"], ["SREM", "str", "a"],
        ["SMEMBERS", "str"], ["SCARD", "str"], ["SISMEMBER", "str", "a"],
        ["SMISMEMBER", "str", "a"], ["GET", "t:2"],
        ["SET", "t:2", "now a string"], ["GET", "t:2"], ["TYPE", "t:2"],
        ["SADD", "t:3", *[f"m{i}" for i in range(300)]], ["SCARD", "t:3"],
        ["SREM", "t:3", *[f"m{i}" for i in range(0, 300, 2)]],
        ["SCARD", "t:3"], ["SMEMBERS", "t:3"],
    ])


def keys(d):
    d.run([
        ["DEL", "k:1"], ["SET", "k:1", "v"], ["SADD", "k:2", "m"],
        ["XADD", "k:3", "1-1", "f", "v"], ["EXISTS", "k:1", "k:2", "k:3"],
        ["EXISTS", "k:1", "k:1", "nokey"], ["TYPE", "k:1"], ["TYPE", "k:2"],
        ["TYPE", "k:3"], ["TYPE", "nokey"],
        ["DEL", "k:1", "k:2", "k:3", "nokey"], ["EXISTS", "k:1", "k:2"],
        ["DEL", "k:1"], ["TYPE", "k:3"], ["XLEN", "k:3"],
        ["SET", "k:4", "v"], ["SADD", "k:4", "x"], ["SET", "k:4", "w"],
        ["XADD", "k:5", "1-1", "a", "b"], ["SET", "k:5", "overwrites"],
        ["TYPE", "k:5"], ["XLEN", "k:5"], ["GET", "k:5"],
        ["SCAN", "x"], ["SCAN", "-1x"], ["SCAN", " 0"],
        ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "x"],
        ["SCAN", "0", "MATCH"], ["SCAN", "0", "BOGUS", "1"],
    ])


def transactions(d):
    d.run([
        ["EXEC"], ["DISCARD"], ["MULTI"], ["MULTI"],
        ["SET", "m:1", "a"], ["SADD", "m:2", "x"], ["GET", "m:1"],
        ["SADD", "m:1", "x"], ["INCRBYFLOAT_NOPE"], ["EXEC"],
        ["GET", "m:1"],
        ["MULTI"], ["SET", "m:1", "b"], ["GET", "m:1"],
        ["SADD", "m:1", "x"], ["XADD", "m:3", "1-1", "f", "v"],
        ["XLEN", "m:3"], ["SMEMBERS", "m:2"], ["EXEC"],
        ["MULTI"], ["SET", "m:1", "c"], ["DISCARD"], ["GET", "m:1"],
        ["MULTI"], ["GET"], ["SET", "m:1", "d"], ["EXEC"], ["GET", "m:1"],
        ["MULTI"], ["WATCH", "x"], ["EXEC"],
        ["MULTI"], ["EXEC"],
        ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "m:3", "$"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "m:3",
         ">"],
        ["XGROUP", "CREATE", "m:3", "g", "$"],
        ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "m:3",
         ">"], ["EXEC"],
    ])


def scan(t, tickd, redis):
    """SCAN walks every key once; compared as sets, with MATCH and TYPE."""
    want = set()
    for c in (tickd, redis):
        for i in range(60):
            c.cmd("SET", f"scan:s{i}", "v")
            c.cmd("SADD", f"scan:t{i}", "m")
        c.cmd("XADD", "scan:x", "1-1", "f", "v")
    for i in range(60):
        want |= {f"scan:s{i}".encode(), f"scan:t{i}".encode()}

    def full(c, *opts):
        got, cursor, rounds = [], b"0", 0
        while True:
            r = c.cmd("SCAN", cursor, *opts)
            if not isinstance(r, list) or len(r) != 2:
                raise Failure(f"SCAN answered {r!r}")
            cursor, keys = r
            got += keys
            rounds += 1
            if cursor == b"0" or rounds > 1000:
                return got, rounds

    for opts, pick in [((), lambda k: k.startswith(b"scan:")),
        (("MATCH", "scan:s1*", "COUNT", "7"),
         lambda k: k.startswith(b"scan:s1")),
        (("TYPE", "set", "COUNT", "1000"), lambda k: k.startswith(b"scan:t")),
        (("MATCH", "scan:[st]?", "TYPE", "string"),
         lambda k: k in (b"scan:s%d" % i for i in range(10)))]:
        ok, diag = True, []
        for name, c in (("tickd", tickd), ("redis", redis)):
            got, rounds = full(c, *opts)
            mine = {k for k in got if pick(k)}
            exp = {k for k in want | {b"scan:x"} if pick(k)}
            if mine != exp:
                ok = False
                diag.append(f"{name}: missing {sorted(exp - mine)[:5]} "
                    f"extra {sorted(mine - exp)[:5]}")
        t.ok(ok, f"SCAN {' '.join(opts) or '(all)'} returns the same keys "
            "as redis-server", diag)


def resp3(d):
    d.run([
        ["HELLO", "3"], ["SADD", "r3", "a", "b"], ["SMEMBERS", "r3"],
        ["GET", "nokey"], ["XADD", "r3s", "1-1", "f", "v"],
        ["XREAD", "STREAMS", "r3s", "0"], ["XREAD", "STREAMS", "r3s", "$"],
        ["XINFO", "STREAM", "r3s"], ["XGROUP", "CREATE", "r3s", "g", "0"],
        ["XINFO", "GROUPS", "r3s"], ["XRANGE", "r3s", "-", "+", "COUNT",
         "0"], ["XPENDING", "r3s", "g"], ["SMISMEMBER", "r3", "a", "x"],
        ["HELLO", "2"], ["SMEMBERS", "r3"], ["GET", "nokey"],
    ])


async def main(t):
    need_redis()
    redis = Redis()
    with RespDaemon() as tk:
        a, b = tk.conn(name="tickd"), redis.conn(name="redis")
        d = Differ(t, a, b, "basic")
        for name, fn in [("connection commands and errors", connection),
            ("strings: GET, SET and its options", strings),
            ("sets: SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD",
             sets),
            ("keys: DEL, EXISTS, TYPE, SCAN errors", keys),
            ("MULTI, EXEC, DISCARD", transactions),
            ("RESP3 after HELLO 3", resp3)]:
            fn(d)
            d.check(f"{name} reply as redis-server does")
        d.run([["SET", "ttl:1", "v", "PX", "150"], ["SET", "ttl:2", "v",
            "EX", "100"], ["SADD", "ttl:3", "m"], ["SET", "ttl:3", "v",
            "PX", "150"], ["GET", "ttl:1"], ["EXISTS", "ttl:1", "ttl:3"]])
        time.sleep(0.3)
        d.run([["GET", "ttl:1"], ["EXISTS", "ttl:1", "ttl:2", "ttl:3"],
            ["TYPE", "ttl:3"], ["SADD", "ttl:3", "x"], ["TYPE", "ttl:3"],
            ["SET", "ttl:1", "w", "NX"], ["GET", "ttl:1"],
            ["SET", "ttl:2", "w", "KEEPTTL"], ["GET", "ttl:2"],
            ["DEL", "ttl:1", "ttl:2", "ttl:3"]])
        d.check("keys expire after EX and PX, and KEEPTTL keeps it")
        scan(t, a, b)
        info = a.cmd("INFO", "server")
        t.ok(isinstance(info, bytes) and b"redis_version:7.0.15" in info,
            "INFO server has redis_version", repr(info)[:200])
        c3 = a.cmd("COMMAND", "COUNT")
        t.ok(isinstance(c3, int) and c3 > 30, "COMMAND COUNT", repr(c3))
        a.send("QUIT")
        q = a.reply()
        out, closed = a.read_all(1)
        t.ok(q == "OK" and closed and out == b"",
            "QUIT answers +OK and closes", f"{q!r} {out!r} {closed}")


run(main, 14)
