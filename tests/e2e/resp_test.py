"""
resp_test.py: helpers for the tests of tickd's Redis-protocol shim
(tests/e2e/30-resp-*.py, tickd-resp(7)), on top of tickd_test.py.

A RespDaemon is a tickd with resp_listen on a free loopback port; a Redis
is a real redis-server 7.0 started from a temporary directory, the
reference every reply is compared with.  Conn is a raw RESP client that
keeps each reply's exact type (status, error, integer, bulk, nil, array,
map, set...), so that a comparison sees what a client library would hide.

Environment: REDIS_SERVER (default: redis-server on PATH; missing means the
differential tests skip with 77).
"""

import atexit
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time

from tickd_test import Daemon, Failure, free_port

REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which(
    "redis-server")
REDIS_CLI = shutil.which("redis-cli")
ID_RE = re.compile(rb"^\d+-\d+$")


class Closed(Failure):
    """The server closed the connection."""


# ---------------------------------------------------------------- replies

class Status(str):
    """A +simple string reply."""

    def __repr__(self):
        return f"+{str.__str__(self)}"


class Error(str):
    """A -error reply."""

    def __repr__(self):
        return f"-{str.__str__(self)}"


class NilArray:
    """*-1, the nil array (RESP3 has only one null)."""

    def __eq__(self, other):
        return isinstance(other, NilArray)

    def __hash__(self):
        return 1

    def __repr__(self):
        return "(nil array)"


class Null:
    """RESP3's _ null."""

    def __eq__(self, other):
        return isinstance(other, Null)

    def __hash__(self):
        return 2

    def __repr__(self):
        return "(null)"


class Map(list):
    """A RESP3 map, kept as a list of (key, value) pairs in order."""

    def __repr__(self):
        return "%{" + ", ".join(f"{k!r}: {v!r}" for k, v in self) + "}"


class RSet(list):
    """A RESP3 set."""

    def __repr__(self):
        return "~" + list.__repr__(self)


class Verbatim(bytes):
    """A RESP3 verbatim string (its bytes after the format)."""


def encode(args):
    """A command as a RESP multibulk."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A raw RESP connection with a bounded wait on every read."""

    def __init__(self, port, timeout=10, name="conn"):
        self.port = port
        self.name = name
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port),
            timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *args):
        self.sock.sendall(encode(args))

    def _fill(self):
        try:
            d = self.sock.recv(1 << 16)
        except socket.timeout:
            raise Failure(f"{self.name}: no reply within {self.timeout} s")
        except ConnectionResetError:
            d = b""
        if not d:
            raise Closed(f"{self.name}: connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        """The next reply, parsed with its type kept."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Status(rest.decode("latin-1"))
        if t == b"-":
            return Error(rest.decode("latin-1"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._bytes(n)
        if t == b"*":
            n = int(rest)
            return NilArray() if n < 0 else [self.reply()
                for _ in range(n)]
        if t == b"%":
            return Map((self.reply(), self.reply())
                for _ in range(int(rest)))
        if t == b"~":
            return RSet(self.reply() for _ in range(int(rest)))
        if t == b"_":
            return Null()
        if t == b"=":
            return Verbatim(self._bytes(int(rest))[4:])
        if t == b"#":
            return rest == b"t"
        if t == b",":
            return float(rest)
        raise Failure(f"{self.name}: bad reply line {line!r}")

    def cmd(self, *args):
        self.send(*args)
        return self.reply()

    def pipeline(self, cmds):
        self.sock.sendall(b"".join(encode(c) for c in cmds))
        return [self.reply() for _ in cmds]

    def read_all(self, wait=0.3):
        """Everything until the server closes or wait s of quiet; the
        bytes, and whether it closed."""
        data, closed = self.buf, False
        self.buf = b""
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(1 << 16)
                if not d:
                    closed = True
                    break
                data += d
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
        finally:
            self.sock.settimeout(self.timeout)
        return data, closed


# ---------------------------------------------------------------- servers

class RespDaemon(Daemon):
    """A tickd with the RESP shim on a free loopback port."""

    def __init__(self, name="tickd", **conf):
        self.resp_port = free_port()
        conf.setdefault("resp_listen", f"127.0.0.1:{self.resp_port}")
        super().__init__(name=name, **conf)

    def conn(self, **kw):
        return Conn(self.resp_port, **kw)


class Redis:
    """A redis-server 7.0 from a temporary directory, for reference.

    Like tickd's shim it has one database and 1 MiB bulk strings (the
    smallest proto-max-bulk-len Redis takes), and nothing on disk.
    """

    all = []

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="tickd-redis-")
        self.port = free_port()
        self.log = os.path.join(self.dir, "redis.log")
        args = [REDIS_SERVER, "--port", str(self.port), "--bind",
            "127.0.0.1", "--dir", self.dir, "--save", "",
            "--appendonly", "no", "--databases", "1",
            "--proto-max-bulk-len", "1mb", "--logfile", self.log,
            "--daemonize", "no"] + list(extra)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        Redis.all.append(self)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"redis-server exited with "
                    f"{self.proc.returncode}")
            try:
                c = Conn(self.port, timeout=2)
                if c.cmd("PING") in ("PONG", Error(
                    "NOAUTH Authentication required.")):
                    c.close()
                    return
                c.close()
            except (OSError, Failure):
                pass
            time.sleep(0.05)
        raise Failure("redis-server did not start")

    def conn(self, **kw):
        return Conn(self.port, **kw)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self in Redis.all:
            Redis.all.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    def cleanup_all(cls):
        for r in list(cls.all):
            r.cleanup()


def need_redis():
    """Skip (77) when there is no redis-server to compare with."""
    if not REDIS_SERVER or not os.access(REDIS_SERVER, os.X_OK):
        print("1..0 # SKIP no redis-server to compare with")
        raise SystemExit(77)


# ---------------------------------------------------------------- masking

def _walk(v, fn):
    """v with fn applied to every leaf."""
    if isinstance(v, Map):
        return Map((_walk(k, fn), _walk(x, fn)) for k, x in v)
    if isinstance(v, RSet):
        return RSet(_walk(x, fn) for x in v)
    if isinstance(v, list):
        return [_walk(x, fn) for x in v]
    return fn(v)


def _pairs(v):
    """A RESP2 flat field list or a RESP3 map as (key, value) pairs."""
    if isinstance(v, Map):
        return list(v)
    if isinstance(v, list) and len(v) % 2 == 0:
        return list(zip(v[::2], v[1::2]))
    return None


def _mask_fields(v, names):
    """Replaces the values of the named fields of a map-like reply."""
    pairs = _pairs(v)
    if pairs is None:
        return v
    out = [(k, "MASKED" if k in names else x) for k, x in pairs]
    if isinstance(v, Map):
        return Map(out)
    return [y for p in out for y in p]


class Differ:
    """Sends every command to tickd and to redis-server and compares.

    Ids generated with "*" differ between the two; each is given a name
    (auto1, auto2...) in the order it was generated, and replies are
    compared with those names.  Idle times and connection ids are masked;
    set members and SCAN results are compared as sets.
    """

    def __init__(self, t, tickd_conn, redis_conn, label=""):
        self.t = t
        self.a = tickd_conn
        self.b = redis_conn
        self.label = label
        self.names = [{}, {}]
        self.n = 0
        self.failures = 0
        self.queued = None

    def _name_ids(self, side, args, reply):
        cmd = str(args[0]).lower()
        gen = cmd == "xadd" and isinstance(reply, bytes) and \
            ID_RE.match(reply) and any(str(x) == "*" or str(x).endswith(
                "-*") for x in args[2:])
        if gen and reply not in self.names[side]:
            self.names[side][reply] = b"auto%d" % (len(self.names[side]) +
                1)

    def _canon(self, side, args, reply):
        names = self.names[side]
        v = _walk(reply, lambda x: names.get(x, x)
            if isinstance(x, bytes) else x)
        cmd = [str(a).lower() for a in args[:2]]
        if cmd[0] in ("smembers", "sinter") and isinstance(v, list):
            v = type(v)(sorted(v, key=repr))
        if cmd[0] == "hello" or cmd == ["client", "id"]:
            v = _mask_fields(v, {b"id"}) if cmd[0] == "hello" else "ID"
        if cmd == ["xinfo", "consumers"] and isinstance(v, list):
            v = [_mask_fields(x, {b"idle"}) for x in v]
        if cmd == ["xinfo", "stream"]:
            v = _mask_fields(v, {b"radix-tree-keys", b"radix-tree-nodes"})
        if cmd[0] == "xpending" and len(args) > 3 and isinstance(v, list):
            v = [x[:2] + ["IDLE"] + x[3:] if isinstance(x, list) and
                len(x) == 4 else x for x in v]
        return v

    def _canon_exec(self, side, args, reply):
        """A reply canonicalised; EXEC's array with its queued commands."""
        name = str(args[0]).lower()
        if name == "multi":
            self.queued = []
        elif name in ("exec", "discard"):
            queued, self.queued = self.queued, None
            if name == "exec" and isinstance(reply, list) and \
                queued is not None and len(queued) == len(reply):
                return [self._canon(side, c, r) for c, r in
                    zip(queued, reply)]
        elif self.queued is not None and reply == "QUEUED":
            self.queued.append(args)
        return self._canon(side, args, reply)

    def compare(self, args, ra, rb):
        """Compares the replies of one command; 1 if they are the same."""
        self.n += 1
        self._name_ids(0, args, ra)
        self._name_ids(1, args, rb)
        queued = None if self.queued is None else list(self.queued)
        ca = self._canon_exec(0, args, ra)
        self.queued = queued
        cb = self._canon_exec(1, args, rb)
        if ca == cb:
            return 1
        self.failures += 1
        if self.failures <= 20:
            self.t.diag(f"{self.label} differs: {_show(args)}")
            self.t.diag(f"  tickd: {ra!r}")
            self.t.diag(f"  redis: {rb!r}")
        return 0

    def cmd(self, *args):
        """One command on both; the difference is told by check()."""
        ra = self.a.cmd(*args)
        rb = self.b.cmd(*args)
        self.compare(args, ra, rb)
        return ra

    def pipeline(self, cmds):
        """Commands sent as one pipeline to each server."""
        ra, rb = self.a.pipeline(cmds), self.b.pipeline(cmds)
        for c, x, y in zip(cmds, ra, rb):
            self.compare(c, x, y)
        return ra

    def run(self, cmds):
        for c in cmds:
            self.cmd(*c)

    def check(self, desc):
        """One TAP line for everything compared since the last check."""
        ok = self.failures == 0
        self.t.ok(ok, f"{desc} ({self.n} commands)",
            None if ok else f"{self.failures} replies differ (above)")
        self.failures = 0
        self.n = 0
        return ok


def _show(args):
    out = []
    for a in args:
        s = a if isinstance(a, str) else repr(a)
        out.append(s if len(s) < 60 else s[:57] + "...")
    return " ".join(out)


def raw_exchange(port, data, chunks=None, wait=0.4):
    """Sends data (in pieces of chunks bytes, if set) on a new connection;
    what came back and whether the server closed."""
    c = Conn(port, timeout=5)
    try:
        if chunks:
            for i in range(0, len(data), chunks):
                c.send_raw(data[i:i + chunks])
                time.sleep(0.0005)
        else:
            c.send_raw(data)
        return c.read_all(wait)
    except (BrokenPipeError, ConnectionResetError):
        out, _ = c.read_all(0.1)
        return out, True
    finally:
        c.close()


atexit.register(Redis.cleanup_all)


def rng(t):
    """A random.Random seeded from TICKD_SEED or the time; the seed is
    printed so that a failure can be replayed."""
    seed = int(os.environ.get("TICKD_SEED") or time.time() * 1000) % \
        (1 << 31)
    t.diag(f"seed {seed} (TICKD_SEED={seed} replays it)")
    return random.Random(seed)
