#!/usr/bin/env python3
# Writes through the RESP shim are durable before their reply (tickd-resp(7)):
# clients pipeline XADDs, consumer-group reads and acks, set and string
# writes and chat sends while tickd is killed with SIGKILL; after a restart
# on the same data_dir every write that was answered is there, and what
# was acked stays acked.

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

WRITERS = 4


class Writer(threading.Thread):
    """Pipelines writes on its own keys and keeps what was answered."""

    def __init__(self, d, n):
        super().__init__(daemon=True)
        self.d, self.n = d, n
        self.xadds, self.sadds, self.sets, self.sends = [], [], [], []
        self.read, self.acked = [], []
        self.error = None

    def run(self):
        k, n = f"w{self.n}", self.n
        try:
            c = self.d.conn(name=f"writer{n}")
            c.cmd("XGROUP", "CREATE", k, "g", "$", "MKSTREAM")
            i = 0
            while True:
                cmds = []
                for j in range(i, i + 20):
                    cmds += [["XADD", k, f"{j + 1}-0", "j", str(j)],
                        ["SADD", f"{k}:set", str(j)],
                        ["SET", f"{k}:last", str(j)]]
                cmds.append(["XREADGROUP", "GROUP", "g", "c", "COUNT", "5",
                    "STREAMS", k, ">"])
                cmds.append(["XADD", "inbox:bob", "*", "from", "alice",
                    "body", f"{n}:{i}", "id", f"{n}-{i}"])
                c.send_raw(b"".join(encode(x) for x in cmds))
                for x in cmds:
                    r = c.reply()
                    if x[0] == "XADD" and x[1] == k and r == x[2].encode():
                        self.xadds.append(x[2])
                    elif x[0] == "SADD" and r == 1:
                        self.sadds.append(x[2])
                    elif x[0] == "SET" and r == "OK":
                        self.sets.append(x[2])
                    elif x[0] == "XREADGROUP" and isinstance(r, list):
                        self.read += [e[0].decode() for e in r[0][1]]
                    elif x[0] == "XADD" and isinstance(r, bytes):
                        self.sends.append(r.decode())
                if self.read:
                    ack = self.read[:2]
                    if c.cmd("XACK", k, "g", *ack) == len(ack):
                        self.acked += ack
                i += 20
        except (Failure, OSError) as e:
            self.error = e


async def main(t):
    with RespDaemon() as d:
        token_for(d, "alice", new=True)
        token_for(d, "bob", new=True)
        writers = [Writer(d, n) for n in range(WRITERS)]
        for w in writers:
            w.start()
        time.sleep(1.5)
        d.kill()
        for w in writers:
            w.join(10)
        t.ok(all(not w.is_alive() for w in writers) and
            all(w.xadds for w in writers), "the writers were cut off by "
            "SIGKILL after writing", [f"{len(w.xadds)} xadds, error "
            f"{w.error!r}" for w in writers])
        d.start()
        c = d.conn()
        lost, pel_bad, ack_bad, set_bad, sadd_bad = [], [], [], [], []
        for w in writers:
            k = f"w{w.n}"
            have = {e[0].decode() for e in c.cmd("XRANGE", k, "-", "+")}
            lost += [f"{k} {x}" for x in w.xadds if x not in have]
            members = set(m.decode() for m in c.cmd("SMEMBERS", f"{k}:set"))
            sadd_bad += [f"{k}:set {x}" for x in w.sadds if x not in members]
            last = c.cmd("GET", f"{k}:last")
            if w.sets and (last is None or int(last) < int(w.sets[-1])):
                set_bad.append(f"{k}:last is {last!r}, answered "
                    f"{w.sets[-1]}")
            pend = {p[0].decode() for p in c.cmd("XPENDING", k, "g", "-", "+",
                "100000")}
            ack_bad += [x for x in w.acked if x in pend]
            pel_bad += [x for x in w.read if x not in w.acked and
                x not in pend]
        t.ok(not lost, f"every answered XADD is there after the restart "
            f"({sum(len(w.xadds) for w in writers)})", lost[:10])
        t.ok(not sadd_bad and not set_bad, "every answered SADD and SET is "
            "there", sadd_bad[:5] + set_bad[:5])
        t.ok(not pel_bad, f"every entry XREADGROUP answered is still pending "
            f"({sum(len(w.read) for w in writers)})", pel_bad[:10])
        t.ok(not ack_bad, "every answered XACK stays acked", ack_bad[:10])
        queue = {e[0].decode() for e in c.cmd("XRANGE", "queue:bob:default",
            "-", "+")}
        sends = [m for w in writers for m in w.sends]
        t.ok(sends and all(m in queue for m in sends),
            f"every answered chat send ({len(sends)}) waits in bob's queue",
            [m for m in sends if m not in queue][:10])
        t.eq(d.stop(), 0, "tickd stops cleanly on SIGTERM")

    # A full store refuses writes with an error, keeps what it answered,
    # and still serves reads.
    with RespDaemon(name="full", map_size="1m") as d:
        c = d.conn()
        answered, err = [], None
        for i in range(400):
            r = c.cmd("XADD", "big", f"{i + 1}-0", "v", "x" * 16000)
            if isinstance(r, Error):
                err = r
                break
            answered.append(r)
        t.ok(err is not None and err.startswith(("ERR store full",
            "ERR write not committed")) and answered,
            "a write into a full store is answered with an error",
            f"{len(answered)} answered, then {err!r}")
        t.ok(c.cmd("XLEN", "big") == len(answered) and
            c.cmd("PING") == "PONG", "what was answered is there, and "
            "reads go on", repr(c.cmd("XLEN", "big")))
        d.restart(kill=True)
        c = d.conn()
        t.eq(c.cmd("XLEN", "big"), len(answered),
            "and it is all there after SIGKILL and a restart")


run(main, 10)
