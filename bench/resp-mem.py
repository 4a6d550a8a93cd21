#!/usr/bin/python3
# What hostile RESP clients cost tickd in memory: each attack on a fresh
# tickd (the binary in $TICKD or argv[1]), its VmRSS before, its VmHWM
# during and its VmRSS after the client left, from /proc/PID/status.
#
#   bench/resp-mem.py _build/plain/tickd
#
# ping:   a client pipelining PING for 3 s, never reading its replies
# argsN:  *N followed by N empty arguments ($0), under resp_max_query 64m

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
if len(sys.argv) > 1:
    os.environ["TICKD"] = os.path.abspath(sys.argv[1])
import tickd_test  # noqa: E402
import resp_test  # noqa: E402

tickd_test.TICKD = os.environ.get("TICKD")
spec = __import__("importlib.util").util.spec_from_file_location(
    "hostile", os.path.join(HERE, "..", "tests", "e2e", "76-hostile-resp.py"))
MB = 1024 * 1024


def load_helpers():
    """status(), settled_rss(), flood() and closed_silently() of the e2e
    test, without running it."""
    src = open(spec.origin).read().split("\nasync def main")[0]
    env = {"__file__": spec.origin}
    exec(compile(src, spec.origin, "exec"), env)
    return env


def attack(name, h, fn, **conf):
    d = resp_test.RespDaemon(f"resp-mem-{name}", **conf)
    d.start()
    try:
        base = h["settled_rss"](d)
        fn(d)
        hwm = h["status"](d, "VmHWM")
        after = h["settled_rss"](d)
        print(f"{name:10} VmRSS before {base / MB:6.1f} MB  VmHWM "
            f"{hwm / MB:7.1f} MB  VmRSS after {after / MB:6.1f} MB")
    finally:
        d.stop()
        d.cleanup()


def ping(h):
    def fn(d):
        s, sent, closed = h["flood"](d.resp_port, b"PING\r\n", 3.0)
        print(f"ping: {sent} bytes sent, closed={closed}")
        s.close()
    return fn


def args(h, n):
    def fn(d):
        c = d.conn(timeout=60)
        try:
            c.send_raw(b"*%d\r\n" % n + b"$0\r\n\r\n" * n)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got, closed = h["closed_silently"](c.sock, 60)
        print(f"args{n}: closed={closed} reply={got[:30]!r}")
        c.close()
    return fn


def main():
    h = load_helpers()
    attack("ping", h, ping(h), max_output_bytes="8m")
    attack("args1M", h, args(h, 1000000), resp_max_query="64m")
    attack("args4M", h, args(h, 4000000), resp_max_query="64m")


main()
