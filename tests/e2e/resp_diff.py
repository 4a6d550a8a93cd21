"""
resp_diff.py: scenarios run through python3-redis (redis-py) against
tickd's RESP shim and a real redis-server 7.0, their transcripts compared
(tests/e2e/71-resp-stream*.py, tickd-resp(7)).

A scenario is a function of one Side: it sends commands with side(...)
or, in one pipeline, side.pipeline(...),
opens deferred clients with side.deferred() for BLOCKed reads, waits with
side.sleep() and side.wait_blocked(), and notes what it computes with
side.note().  It runs once against each server; every reply, error and
note goes into the side's transcript, and the two must be equal once ids
generated from the clock (ms part above 10^12, as "*" makes them) are
named in their order of appearance and idle times are masked.

Replies are taken raw (redis-py's response callbacks are off), so that
what is compared is what the server sent, not redis-py's reading of it.
"""

import re
import time

import redis

from tickd_test import Failure

CLOCK_ID = re.compile(rb"^(\d{13,})-(\d+)$")


class Err:
    """An error reply: redis-py's exception class and its message."""

    def __init__(self, e):
        self.kind = type(e).__name__
        self.msg = str(e)

    def __eq__(self, other):
        return isinstance(other, Err) and (self.kind, self.msg) == \
            (other.kind, other.msg)

    def __repr__(self):
        return f"Err({self.kind}: {self.msg})"


def _masked(args, v):
    """A reply with what depends on the clock masked, by command."""
    cmd = [str(a).lower() for a in args[:2]]
    if cmd[0] == "xpending" and len(args) > 3 and isinstance(v, list):
        return [x[:2] + ["IDLE"] + x[3:] if isinstance(x, list) and
            len(x) == 4 else x for x in v]
    if cmd == ["xinfo", "consumers"] and isinstance(v, list):
        return [_mask_pairs(x, {b"idle"}) for x in v]
    if cmd == ["xinfo", "stream"]:
        return _mask_pairs(v, {b"radix-tree-keys", b"radix-tree-nodes"})
    return v


def _mask_pairs(v, names):
    """A flat field/value list with the named fields' values masked."""
    if not isinstance(v, list) or len(v) % 2:
        return v
    out = list(v)
    for i in range(0, len(out), 2):
        if out[i] in names:
            out[i + 1] = "MASKED"
    return out


class Deferred:
    """A client of its own whose replies are read when asked for."""

    def __init__(self, side):
        self.side = side
        self.conn = redis.Connection(host="127.0.0.1", port=side.port,
            socket_timeout=20)
        self.conn.connect()

    def send(self, *args):
        self.conn.send_command(*args)

    def read(self):
        try:
            v = self.conn.read_response()
        except redis.ResponseError as e:
            v = Err(e)
        except redis.TimeoutError:
            raise Failure(f"{self.side.name}: a deferred client got no "
                "reply within 20 s")
        self.side.log.append((("read",), v))
        return v

    def close(self):
        self.conn.disconnect()


class Side:
    """One server seen through redis-py, recording a transcript."""

    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.pool = redis.ConnectionPool(host="127.0.0.1", port=port,
            socket_timeout=30)
        self.r = redis.Redis(connection_pool=self.pool)
        self.r.response_callbacks.clear()
        self.log = []
        self.deferreds = []

    def __call__(self, *args):
        try:
            v = self.r.execute_command(*args)
        except redis.ResponseError as e:
            v = Err(e)
        self.log.append((args, _masked(args, v)))
        return v

    def pipeline(self, *cmds):
        """Sends cmds in one pipeline (no MULTI) and records each reply,
        in order."""
        p = self.r.pipeline(transaction=False)
        for args in cmds:
            p.execute_command(*args)
        out = p.execute(raise_on_error=False)
        for args, v in zip(cmds, out):
            if isinstance(v, redis.ResponseError):
                v = Err(v)
            self.log.append((args, _masked(args, v)))
        return out

    def note(self, what, value):
        """Something the scenario computed, compared like a reply."""
        self.log.append((("note", what), value))

    def deferred(self):
        d = Deferred(self)
        self.deferreds.append(d)
        return d

    def sleep(self, s):
        time.sleep(s)

    def blocked(self):
        info = self.r.execute_command("INFO", "clients")
        m = re.search(rb"blocked_clients:(\d+)", info)
        return int(m.group(1)) if m else -1

    def wait_blocked(self, n, timeout=10):
        """Waits until n clients are parked (wait_for_blocked_clients_count
        in Redis's tests)."""
        deadline = time.monotonic() + timeout
        while self.blocked() != n:
            if time.monotonic() > deadline:
                raise Failure(f"{self.name}: {self.blocked()} clients "
                    f"blocked, not {n}")
            time.sleep(0.01)

    def close(self):
        for d in self.deferreds:
            d.close()
        self.deferreds = []
        self.pool.disconnect()


def _canon(log):
    """A transcript's replies with clock ids named in their order of
    appearance (the commands are the scenario's, the same on both
    sides but for the ids they carry)."""
    names = {}

    def leaf(x):
        if isinstance(x, bytes) and CLOCK_ID.match(x):
            if x not in names:
                names[x] = b"id%d" % (len(names) + 1)
            return names[x]
        return x

    def walk(v):
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        return leaf(v)
    return [walk(v) for _, v in log]


def _show(x, n=200):
    s = repr(x)
    return s if len(s) <= n else s[:n - 3] + "..."


def run_scenarios(t, scenarios, tickd_port, redis_port):
    """Runs each (description, function) against both servers in turn and
    prints one TAP line for each: ok when the transcripts agree."""
    a = Side("tickd", tickd_port)
    b = Side("redis", redis_port)
    for desc, fn in scenarios:
        for side in (a, b):
            side.log = []
            try:
                fn(side)
            except (Failure, redis.RedisError, OSError) as e:
                side.log.append((("exception",), f"{type(e).__name__}: "
                    f"{e}"))
            finally:
                for d in side.deferreds:
                    d.close()
                side.deferreds = []
        ca, cb = _canon(a.log), _canon(b.log)
        diag = None
        if ca != cb:
            diag = []
            for i, (x, y) in enumerate(zip(ca, cb)):
                if x != y:
                    diag += [f"step {i}: {_show(a.log[i][0], 100)}",
                        f"  tickd: {_show(x)}", f"  redis: {_show(y)}"]
                    break
            if len(ca) != len(cb):
                diag.append(f"{len(ca)} steps on tickd, {len(cb)} on "
                    "redis")
        t.ok(ca == cb, f"{desc} ({len(ca)} steps)", diag)
    a.close()
    b.close()
