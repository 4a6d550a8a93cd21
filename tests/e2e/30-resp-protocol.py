#!/usr/bin/env python3
# Bad RESP input, byte for byte against redis-server 7.0 (tickd-resp(7)):
# malformed multibulks, huge and negative lengths, unterminated lines, inline
# commands and their quoting, binary data, pipelines cut anywhere, the limits
# before AUTH; then what only tickd bounds (resp_max_query), and seeded random
# mutations of valid input.  tickd must answer what Redis answers, close when
# Redis closes, and never crash.

import concurrent.futures
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

MB = 1024 * 1024

CASES = [
    b"*1\r\n$4\r\nPING\r\n",
    b"*x\r\n", b"*-1\r\n*1\r\n$4\r\nPING\r\n", b"*0\r\n*1\r\n$4\r\nPING\r\n",
    b"*-5\r\nPING\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$x\r\n", b"*1\r\n$\r\n",
    b"*1\r\n+PING\r\n", b"*1\r\n:1\r\n", b"*2\r\n$4\r\nECHO\r\n*1\r\n",
    b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", b"*1\r\n$4\r\nPING\r\r",
    b"*2147483648\r\n", b"*2147483647\r\n", b"*9223372036854775808\r\n",
    b"*1\r\n$%d\r\n" % (MB + 1), b"*1\r\n$%d\r\n" % MB,
    b"*1\r\n$9223372036854775807\r\n", b"*1\r\n$-9\r\n",
    b"*01\r\n$4\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n",
    b"*1\r\n$04\r\nPING\r\n", b"*1\r\n$ 4\r\nPING\r\n", b"*1 \r\n",
    b"*1\r\n$4\r\nPI", b"*1\r\n", b"*1\r\n$4\r\nPING", b"*1\n$4\nPING\n",
    b"*1\x00\r\n$4\r\nPING\r\n", b"*1\r\n$4\x00\r\nPING\r\n",
    b"*3\r\n$4\r\nECHO\r\n$1\r\na\r\n",
    b"x" * 70000, b"*" + b"1" * 70000, b"*1\r\n$" + b"1" * 70000,
    b"x" * 65536 + b"\r\n", b"PING " + b"x" * 60000 + b"\r\n",
    b"PING\r\n", b"PING\n", b"  PING  \r\n", b"\r\n", b"\n", b"\r\n\r\nPING\n",
    b'ECHO "a\\x41b"\r\n', b'ECHO "abc\r\n', b"ECHO 'a\\'b'\r\n",
    b'ECHO "a"b\r\n', b'ECHO "\\xZZ"\r\n', b'ECHO "\\n\\r\\t\\b\\a\\q"\r\n',
    b"ECHO ''\r\n", b'ECHO ""x\r\n', b"ping\rfoo\r\n", b"ECHO a\x00b\r\n",
    b"ECHO \xff\xfe\r\n", b"*1\r\n$0\r\n\r\n", b"*2\r\n$4\r\necho\r\n$0\r\n\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\n\x00\r\n\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nk\x00\x01\r\n$4\r\n\xff\x00\r\n\r\n"
    b"*2\r\n$3\r\nGET\r\n$3\r\nk\x00\x01\r\n",
    b"PING\r\n*x\r\nPING\r\n", b"*1\r\n$4\r\nPING\r\nGARBAGE\r\n*1\r\n",
    b"GET\r\n", b"NOSUCH a b\r\n", b"*1\r\n$6\r\nNOSUCH\r\n",
    b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (MB, b"z" * MB),
]

NOAUTH = [
    b"*11\r\n", b"*10\r\n", b"*1\r\n$16385\r\n", b"*1\r\n$16384\r\n",
    b"PING\r\n", b"*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n", b"HELLO 3\r\n",
    b"AUTH default wrong\r\n", b"QUIT\r\n", b"ECHO " + b"x" * 20000 + b"\r\n",
    b"AUTH secret\r\n*11\r\n" + b"$1\r\nx\r\n" * 11,
    b"AUTH secret\r\n*1\r\n$20000\r\n" + b"y" * 20000 + b"\r\n",
]


def show(b):
    return repr(b if len(b) < 120 else b[:100] + b"..." + b[-10:])


def differ(t, ports, cases, desc, chunks=None):
    """Each case on its own connection to both servers, all at once (a
    case that waits for more input costs the read's quiet time)."""
    bad = []
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        futs = [[pool.submit(raw_exchange, p, data, chunks) for p in ports]
            for data in cases]
        results = [[f.result() for f in fs] for fs in futs]
    for data, got in zip(cases, results):
        if got[0] != got[1]:
            # A busy machine can outlast the quiet time of one read among
            # 32 at once: try the case again alone, with time to spare.
            # A real difference is the same the second time.
            got = [raw_exchange(p, data, chunks, wait=2.0) for p in ports]
        if got[0] != got[1]:
            bad.append(f"sent {show(data)}\n  tickd: {show(got[0][0])} "
                f"closed={got[0][1]}\n  redis: {show(got[1][0])} "
                f"closed={got[1][1]}")
    t.ok(not bad, f"{desc} ({len(cases)} inputs)", bad[:8])


def mutate(r, data):
    """A valid pipeline with a few bytes changed, cut or repeated."""
    b = bytearray(data)
    for _ in range(r.randint(1, 4)):
        if not b:
            break
        i = r.randrange(len(b))
        op = r.random()
        if op < 0.4:
            b[i] = r.choice(b"*$\r\n-+0123456789x\x00 \"'\\")
        elif op < 0.6:
            del b[i:i + r.randint(1, 5)]
        elif op < 0.8:
            b[i:i] = b[i:i + r.randint(1, 8)]
        else:
            b = b[:i]
    return bytes(b)


def pipeline(k):
    """A valid pipeline of seven commands on keys named after k."""
    return b"".join(encode(c) for c in [["SET", k, "v" * 300],
        ["ECHO", b"\x00\xff" * 40], ["GET", k], ["SADD", k + "s", "a"],
        ["XADD", k + "x", "1-1", "f", "v"], ["XRANGE", k + "x", "-", "+"],
        ["PING"]]) + b"PING\r\nECHO 'a b'\r\n"


async def main(t):
    need_redis()
    r = rng(t)
    redis = Redis()
    with RespDaemon(resp_max_bulk="1m") as tk:
        ports = (tk.resp_port, redis.port)
        differ(t, ports, CASES, "malformed and edge-case input gets Redis's "
            "bytes back and closes when Redis closes")
        differ(t, ports, [c for c in CASES if len(c) < 2000],
            "the same sent one byte at a time", chunks=1)
        bad = []
        for n in (1, 2, 3, 7, 13, 64):
            # Keys per piece size, so that the runs do not meet.
            p = pipeline("c%d" % n)
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                got, want = [f.result() for f in [pool.submit(raw_exchange,
                    port, p, n) for port in ports]]
            if got != want:
                bad.append(f"in pieces of {n}: tickd {show(got[0])}, "
                    f"redis {show(want[0])}")
        t.ok(not bad, "a pipeline cut anywhere gets the same replies", bad)
        # Each mutation on keys of its own: 32 run at once on each server,
        # and a mutation that loses its SET must not read another's value
        # in an order that differs between the two.
        muts = [mutate(r, pipeline("m%03d" % i)) for i in range(300)]
        differ(t, ports, muts, "random mutations of a valid pipeline")
        t.ok(tk.running(), "tickd survived all of it")

    redis2 = Redis("--requirepass", "secret")
    with RespDaemon(name="tickd-pw", resp_password="secret") as tk:
        differ(t, (tk.resp_port, redis2.port), NOAUTH, "before AUTH: "
            "NOAUTH, and the smaller limits of an unauthenticated client")

    with RespDaemon(name="tickd-q", resp_max_bulk="1k",
        resp_max_query="128k") as tk:
        c = tk.conn()
        c.send("PING")
        first = c.reply()
        try:
            # Arguments of one command pile up until the bound.
            c.send_raw(b"*100000\r\n" + b"$3\r\nabc\r\n" * 20000)
        except OSError:
            pass
        out, closed = c.read_all(2)
        t.ok(first == "PONG" and closed and out == b"",
            "a command larger than resp_max_query closes the connection "
            "without a reply", f"{first!r} {show(out)} closed={closed}")
        c2 = tk.conn()
        c2.send_raw(b"MULTI\r\n" + b"SET k v\r\n" * 4000)
        out, closed = c2.read_all(2)
        t.ok(closed and out.startswith(b"+OK\r\n+QUEUED\r\n"),
            "MULTI's queued commands count against resp_max_query",
            f"{show(out)} closed={closed}")
        out, closed = raw_exchange(tk.resp_port, b"*1\r\n$1025\r\n")
        t.eq((out, closed), (b"-ERR Protocol error: invalid bulk "
            b"length\r\n", True), "a bulk over resp_max_bulk is refused")
        c3 = tk.conn()
        t.eq(c3.cmd("PING"), "PONG", "tickd still serves")
    t.ok(True, "every daemon stopped")


run(main, 11)
