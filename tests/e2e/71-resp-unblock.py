#!/usr/bin/env python3
# Parked readers woken by every event that makes their read impossible
# (tickd-resp(7) BLOCKING), each compared with a real redis-server 7.0:
# DEL of the stream, XGROUP DESTROY, SET over it, a MULTI that deletes it
# or replaces it by another type, and the events that leave a reader
# parked (XREAD on a deleted stream, the group destroyed and made again,
# DELCONSUMER, SETID, XDEL, XTRIM, SET NX that does nothing).  Then the
# queue: views: a device or user removed with tickctl wakes a parked
# XREADGROUP on its queue with UNBLOCKED.

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl  # noqa: E402

STREAM = [["DEL", "s", "t"], ["XADD", "s", "1-1", "f", "v"],
    ["XGROUP", "CREATE", "s", "g", "$"]]
GROUP = ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "400", "STREAMS", "s",
    ">"]
XREAD = ["XREAD", "BLOCK", "400", "STREAMS", "s", "$"]

# (what, setup, the parked command, what another client does)
SCENARIOS = [
    ("XREADGROUP, DEL of the stream: UNBLOCKED", STREAM, GROUP,
     [["DEL", "s"]]),
    ("XREADGROUP, XGROUP DESTROY: NOGROUP", STREAM, GROUP,
     [["XGROUP", "DESTROY", "s", "g"]]),
    ("XREADGROUP, SET over the stream: UNBLOCKED", STREAM, GROUP,
     [["SET", "s", "x"]]),
    ("XREADGROUP, SET PX over the stream: UNBLOCKED", STREAM, GROUP,
     [["SET", "s", "x", "PX", "100000"]]),
    ("XREADGROUP, SET NX that does nothing: still parked", STREAM, GROUP,
     [["SET", "s", "x", "NX"]]),
    ("XREADGROUP, MULTI DEL SADD EXEC: UNBLOCKED", STREAM, GROUP,
     [["MULTI"], ["DEL", "s"], ["SADD", "s", "a"], ["EXEC"]]),
    ("XREADGROUP, MULTI DEL SET EXEC: UNBLOCKED", STREAM, GROUP,
     [["MULTI"], ["DEL", "s"], ["SET", "s", "a"], ["EXEC"]]),
    ("XREADGROUP, MULTI DEL XADD EXEC: NOGROUP", STREAM, GROUP,
     [["MULTI"], ["DEL", "s"], ["XADD", "s", "2-1", "a", "b"], ["EXEC"]]),
    ("XREADGROUP, stream deleted and made again with its group: parked",
     STREAM, GROUP,
     [["MULTI"], ["DEL", "s"], ["XGROUP", "CREATE", "s", "g", "$",
      "MKSTREAM"], ["EXEC"]]),
    ("XREADGROUP, group destroyed and made again: parked", STREAM, GROUP,
     [["MULTI"], ["XGROUP", "DESTROY", "s", "g"], ["XGROUP", "CREATE", "s",
      "g", "$"], ["EXEC"]]),
    ("XREADGROUP, group made again and written to: served", STREAM, GROUP,
     [["MULTI"], ["XGROUP", "DESTROY", "s", "g"], ["XGROUP", "CREATE", "s",
      "g", "$"], ["XADD", "s", "3-1", "a", "b"], ["EXEC"]]),
    ("XREADGROUP, its consumer deleted: parked", STREAM, GROUP,
     [["XGROUP", "DELCONSUMER", "s", "g", "c"]]),
    ("XREADGROUP, its consumer deleted, then XADD: served, consumer back",
     STREAM, GROUP,
     [["XGROUP", "DELCONSUMER", "s", "g", "c"], ["XADD", "s", "5-1", "a",
      "b"], ["XPENDING", "s", "g"]]),
    ("XREADGROUP, XGROUP SETID: parked", STREAM, GROUP,
     [["XGROUP", "SETID", "s", "g", "0"]]),
    ("XREADGROUP, XDEL and XTRIM: parked", STREAM, GROUP,
     [["XDEL", "s", "1-1"], ["XTRIM", "s", "MAXLEN", "0"]]),
    ("XREADGROUP on two streams, one deleted: UNBLOCKED",
     STREAM + [["XADD", "t", "1-1", "f", "v"],
               ["XGROUP", "CREATE", "t", "g", "$"]],
     ["XREADGROUP", "GROUP", "g", "c", "BLOCK", "400", "STREAMS", "s", "t",
      ">", ">"], [["DEL", "t"]]),
    ("XREAD on two streams both written in one MULTI: served the first "
     "written alone",
     STREAM + [["XADD", "t", "1-1", "f", "v"]],
     ["XREAD", "BLOCK", "400", "STREAMS", "s", "t", "$", "$"],
     [["MULTI"], ["XADD", "t", "2-1", "a", "b"], ["XADD", "s", "2-1", "a",
      "b"], ["EXEC"]]),
    ("XREAD naming one stream three times: served once",
     STREAM, ["XREAD", "BLOCK", "400", "STREAMS", "s", "s", "s", "$", "$",
     "$"], [["XADD", "s", "2-1", "a", "b"]]),
    ("XREAD, DEL of the stream: parked", STREAM, XREAD, [["DEL", "s"]]),
    ("XREAD, SET over the stream: parked", STREAM, XREAD,
     [["SET", "s", "x"]]),
    ("XREAD, MULTI DEL SADD EXEC: parked", STREAM, XREAD,
     [["MULTI"], ["DEL", "s"], ["SADD", "s", "a"], ["EXEC"]]),
    ("XREAD, stream deleted then a new entry: served", STREAM, XREAD,
     [["DEL", "s"], ["XADD", "s", "2-1", "a", "b"]]),
    ("XREAD, replaced by a set, deleted, made a stream again: served",
     STREAM, XREAD, [["DEL", "s"], ["SADD", "s", "a"], ["DEL", "s"],
     ["XADD", "s", "2-1", "a", "b"]]),
]


def scenario(srv, setup, parked, actions):
    """The replies of the others' commands, then the parked client's, then
    a PING on the parked connection (it must go on)."""
    a, b = srv.conn(name="a"), srv.conn(name="b")
    try:
        for c in setup:
            a.cmd(*c)
        b.send(*parked)
        time.sleep(0.1)
        out = [a.cmd(*c) for c in actions]
        out.append(b.reply())
        out.append(b.cmd("PING"))
        return out
    finally:
        a.close()
        b.close()


async def main(t):
    need_redis()
    need_tickctl()
    redis = Redis()
    with RespDaemon() as tk:
        for desc, setup, parked, actions in SCENARIOS:
            x = scenario(tk, setup, parked, actions)
            y = scenario(redis, setup, parked, actions)
            t.ok(x == y, desc, [f"tickd: {x!r}", f"redis: {y!r}"])

        o = tk.conn(name="o")
        info = o.cmd("INFO", "clients")
        t.ok(b"blocked_clients:0\r\n" in info, "nobody is left parked",
            repr(info))

        # The queue: views: removing the device or the user whose queue a
        # client is parked on answers it as for a deleted stream.
        token_for(tk, "bob", new=True)
        token_for(tk, "bob", device="phone")
        token_for(tk, "carol", new=True)
        want = Error("UNBLOCKED the stream key no longer exists")
        p = tk.conn(name="p")
        q = tk.conn(name="q")
        p.send("XREADGROUP", "GROUP", "tickd", "c", "BLOCK", "0", "STREAMS",
            "queue:bob:phone", ">")
        q.send("XREAD", "BLOCK", "600", "STREAMS", "queue:bob:phone", "$")
        time.sleep(0.1)
        r = tickctl(tk, "device", "del", "bob", "phone")
        t.ok(r.ok, "tickctl device del bob phone", repr(r))
        got = p.reply()
        t.eq(got, want, "a parked XREADGROUP on the removed device's queue "
            "gets UNBLOCKED")
        t.eq(q.reply(), NilArray(), "a parked XREAD on it stays parked "
            "until its timeout, as for a stream")
        t.eq(p.cmd("PING"), "PONG", "the woken client goes on")

        p.send("XREADGROUP", "GROUP", "tickd", "c", "BLOCK", "0", "STREAMS",
            "queue:carol:default", ">")
        time.sleep(0.1)
        r = tickctl(tk, "user", "del", "carol")
        t.ok(r.ok, "tickctl user del carol", repr(r))
        t.eq(p.reply(), want, "a parked XREADGROUP on a deleted user's "
            "queue gets UNBLOCKED")
        info = o.cmd("INFO", "clients")
        t.ok(b"blocked_clients:0\r\n" in info, "nobody is left parked "
            "after the views went", repr(info))
        t.eq(tk.stop(), 0, "tickd stops cleanly on SIGTERM")


run(main, len(SCENARIOS) + 9)
