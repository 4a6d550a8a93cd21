"""
tickd_test.py: shared helpers for tickd's end-to-end tests, after
Mosquitto's test/mosq_test.py.

Each NN-name.py script starts its own tickd on a free port with a generated
config, talks to it over HTTP and WebSocket as a client would, and prints TAP.
Everything here follows the protocol contract (tickd-protocol(7)), never the
daemon's code.

Environment: TICKD (the binary; unset or not executable: skip with 77),
TICKD_VALGRIND=1 (run tickd under valgrind), TICKD_KEEP_TMP=1 (keep the
temporary directories), TICKD_SEED (seed for the randomised tests).
"""

import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

import websockets

TICKD = os.environ.get("TICKD")
VALGRIND = os.environ.get("TICKD_VALGRIND")
# sync_thread for every tickd a test starts that does not set it itself.
SYNC_THREAD = os.environ.get("TICKD_SYNC_THREAD")
MID_RE = re.compile(r"^\d+-\d+$")


class Failure(Exception):
    """A step a test depends on went wrong; the script stops there."""


class Closed(Failure):
    """The server closed the WebSocket; code is its close code (1006: none)."""

    def __init__(self, code, reason=""):
        super().__init__(f"connection closed with {code} {reason!r}")
        self.code = code


def now_ms():
    return int(time.time() * 1000)


def mid_key(mid):
    """A mid as a sortable (ms, seq) pair; None if it is not "<ms>-<seq>"."""
    if not isinstance(mid, str) or not MID_RE.match(mid):
        return None
    ms, seq = mid.split("-")
    return (int(ms), int(seq))


def increasing(mids):
    """True if every mid is well formed and greater than the one before."""
    keys = [mid_key(m) for m in mids]
    if None in keys:
        return False
    return all(a < b for a, b in zip(keys, keys[1:]))


_ports_given = set()


def free_port():
    """A loopback port free now and never handed out before by this
    process: the kernel may offer a port again while the daemon given it
    has not bound it yet, and two nodes would then share one."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


# ---------------------------------------------------------------- TAP

class Tap:
    """Prints the plan first, then one line per check; finish() exits."""

    def __init__(self, plan):
        self.plan = plan
        self.n = 0
        self.failed = 0
        print(f"1..{plan}", flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print(f"# {line}", flush=True)

    def ok(self, cond, desc, diag=None):
        self.n += 1
        desc = desc.replace("#", "\\#")
        print(f"{'ok' if cond else 'not ok'} {self.n} - {desc}",
            flush=True)
        if not cond:
            self.failed += 1
            if isinstance(diag, (list, tuple)):
                diag = "\n".join(str(d) for d in diag)
            if diag:
                self.diag(diag)
            for d in Daemon.all:
                d.print_tail(self)
        return bool(cond)

    def skip(self, desc, why):
        self.n += 1
        print(f"ok {self.n} - {desc} # SKIP {why}", flush=True)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc,
            f"expected {want!r}\ngot      {got!r}")

    def finish(self, err=None):
        if err:
            self.diag(err)
        while self.n < self.plan:
            self.n += 1
            self.failed += 1
            print(f"not ok {self.n} - not reached", flush=True)
        if self.n > self.plan:
            self.diag(f"planned {self.plan} tests but ran {self.n}")
            return 1
        return 1 if self.failed else 0


def run(main, plan, timeout=55):
    """Run the coroutine function main(t) under a hard timeout; exit.

    Under valgrind, which runs tickd many times slower, the script gets
    four times as long."""
    if VALGRIND:
        timeout *= 4
    if not TICKD or not os.access(TICKD, os.X_OK):
        print("1..0 # SKIP TICKD is not set to an executable tickd")
        sys.exit(77)

    def stop(signo, frame):
        raise SystemExit(f"killed by signal {signo}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    t = Tap(plan)
    err = None
    try:
        asyncio.run(asyncio.wait_for(main(t), timeout))
    except asyncio.TimeoutError:
        err = f"the script timed out after {timeout} s"
    except Failure as e:
        where = [f for f in traceback.extract_tb(e.__traceback__)
            if not f.filename.endswith("tickd_test.py")]
        at = f"{os.path.basename(where[-1].filename)}:{where[-1].lineno}" \
            if where else "?"
        err = f"stopped at {at}: {e}"
    except BaseException:
        err = traceback.format_exc()
    finally:
        Daemon.cleanup_all()
    sys.exit(t.finish(err))


# ---------------------------------------------------------------- daemon

class Daemon:
    """One tickd in its own temporary directory; a context manager.

    Daemon(max_queue=3, window="4") writes `max_queue 3` and `window 4` into
    the config on top of listen, data_dir, pidfile and control_socket; a
    value of None drops a key.  Pass data_dir= to share a store with an
    earlier daemon.
    """

    all = []

    def __init__(self, name="tickd", data_dir=None, **conf):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"tickd-{name}-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.port = free_port()
        self.conf_path = os.path.join(self.dir, "tickd.conf")
        self.log_path = os.path.join(self.dir, "tickd.log")
        self.conf = {
            "listen": f"127.0.0.1:{self.port}",
            "data_dir": self.data_dir,
            "pidfile": os.path.join(self.dir, "tickd.pid"),
            "control_socket": os.path.join(self.dir, "tickd.sock"),
        }
        # CI reruns tests with the commit's second sync on its thread.
        if SYNC_THREAD:
            self.conf["sync_thread"] = SYNC_THREAD
        self.conf.update(conf)
        self.proc = None
        self.starts = 0
        Daemon.all.append(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def write_conf(self):
        with open(self.conf_path, "w") as f:
            for k, v in self.conf.items():
                if v is not None:
                    f.write(f"{k} {v}\n")

    def command(self, *args):
        cmd = [TICKD, *args, "-c", self.conf_path]
        if VALGRIND:
            vg = os.path.join(self.dir, f"valgrind.{self.starts}.log")
            cmd = ["valgrind", "-q", "--leak-check=full",
                "--error-exitcode=66", f"--log-file={vg}"] + cmd
        return cmd

    def start(self, ready=True):
        """Starts tickd, and with ready waits for it to serve.  A first
        start that finds a port of its own taken (free_port() cannot
        hold a port: a test running beside this one may take it before
        tickd binds it) is made again on new ports: no client knows the
        old ones yet."""
        for again in range(3):
            self.write_conf()
            self.starts += 1
            with open(self.log_path, "ab") as log:
                log.write(f"--- start {self.starts}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(self.command("-f"),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            if not ready:
                return self
            try:
                self.wait_ready()
                return self
            except Failure:
                taken = re.search(r"cannot listen on 127\.0\.0\.1:(\d+)"
                    r"[^:]*: Address already in use", self.tail(3))
                if self.starts != 1 or taken is None or again == 2 or \
                        not self.new_port(int(taken.group(1))):
                    raise
                self.starts = 0

    def new_port(self, old):
        """Gives every setting naming port old a new free port instead;
        False if none names it."""
        new = free_port()
        found = False
        for k, v in self.conf.items():
            if isinstance(v, str):
                self.conf[k], n = re.subn(rf":{old}\b", f":{new}", v)
                found = found or n > 0
        if self.port == old:
            self.port = new
        return found

    def wait_ready(self, timeout=None):
        """Poll GET /healthz until it answers 200."""
        deadline = time.monotonic() + (timeout or (30 if VALGRIND else 10))
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"{self.name} exited with "
                    f"{self.proc.returncode} while starting:\n" +
                    self.tail())
            try:
                r = http_request(self, "GET", "/healthz",
                    timeout=1)
                if r.status == 200:
                    return
                last = f"healthz answered {r.status}"
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        raise Failure(f"{self.name} not ready: {last}\n" + self.tail())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signo=signal.SIGTERM):
        if self.running():
            self.proc.send_signal(signo)

    def wait(self, timeout=10):
        """Wait for the exit; its status, or "hung" (then killed)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return "hung"

    def stop(self, timeout=10):
        """SIGTERM and wait; the exit status, or "hung" (then killed)."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, kill=False):
        """Stop (SIGTERM, or SIGKILL with kill=True) and start again."""
        rc = None
        if kill:
            self.kill()
        else:
            rc = self.stop()
        self.start()
        return rc

    def rss_anon(self):
        """tickd's anonymous resident memory in bytes (its heap, not the
        store's mapped file); None under valgrind or when unknown."""
        if VALGRIND or not self.running():
            return None
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    def check_config(self, path=None):
        """Run tickd -t; (exit status, stderr)."""
        cmd = [TICKD, "-t", "-c", path or self.conf_path]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=10)
        return p.returncode, p.stderr.decode(errors="replace")

    def tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(lines.splitlines()[-n:])

    def print_tail(self, t):
        if self.proc is None:
            return
        state = "running" if self.running() else \
            f"exited {self.proc.returncode}"
        t.diag(f"--- {self.name} ({state}), {self.log_path}:")
        t.diag(self.tail())

    def cleanup(self):
        self.kill()
        if self in Daemon.all:
            Daemon.all.remove(self)
        if not os.environ.get("TICKD_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    def cleanup_all(cls):
        for d in list(cls.all):
            d.cleanup()


# ---------------------------------------------------------------- HTTP

class Resp:
    def __init__(self, status, raw, headers):
        self.status = status
        self.raw = raw
        self.headers = headers
        try:
            self.json = json.loads(raw)
        except ValueError:
            self.json = None

    @property
    def error(self):
        """The `error` member of an error body, or None."""
        if isinstance(self.json, dict):
            return self.json.get("error")
        return None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


def http_request(d, method, path, body=None, token=None, headers=None,
    timeout=10):
    """One request on a new connection; body: bytes, str or JSON value."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return Resp(r.status, r.read(), r.headers)
    finally:
        conn.close()


def register(d, user, password=None):
    return http_request(d, "POST", "/v1/register",
        {"user": user, "password": password or f"pw-{user}"})


def login(d, user, password=None, device=None):
    body = {"user": user, "password": password or f"pw-{user}"}
    if device is not None:
        body["device"] = device
    return http_request(d, "POST", "/v1/login", body)


def logout(d, token):
    return http_request(d, "POST", "/v1/logout", token=token)



FAILSYNC = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "tests", "e2e",
    "failsync.so")


def start_failing(d, trigger, thread=False):
    """Start d with failsync.so preloaded, syncs failing while trigger is
    there (18-commit-fail.py, 74-hostile-health.py); with thread, only
    those of threads other than the main one (18-sync-fail.py)."""
    saved = dict(os.environ)
    os.environ["LD_PRELOAD"] = FAILSYNC
    os.environ["TICKD_FAILSYNC"] = trigger
    if thread:
        os.environ["TICKD_FAILSYNC_THREAD"] = "1"
    # A sanitizer runtime wants to come first; here it need not.
    asan = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
        "verify_asan_link_order=0"
    try:
        d.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def token_for(d, user, device=None, new=False):
    """Register user when new=True, log in; return the token."""
    if new:
        r = register(d, user)
        if r.status != 201:
            raise Failure(f"register {user}: {r!r}")
    r = login(d, user, device=device)
    if r.status != 200 or not isinstance(r.json, dict) or \
        not isinstance(r.json.get("token"), str):
        raise Failure(f"login {user}/{device}: {r!r}")
    return r.json["token"]


def seen(d, token, user):
    """GET /v1/users/USER/last-seen as the bearer of token: (status, body)."""
    r = http_request(d, "GET", f"/v1/users/{user}/last-seen", token=token)
    return r.status, r.json


def metrics(d):
    """The /metrics values as a dict of name -> float."""
    r = http_request(d, "GET", "/metrics")
    out = {}
    for line in r.raw.decode().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


# ---------------------------------------------------------------- WebSocket

class Client:
    """A WebSocket client that speaks JSON frames.

    Frames read while looking for another op wait in `pending` and are
    handed out first by the next recv() or recv_op().
    """

    def __init__(self, ws, name):
        self.ws = ws
        self.name = name
        self.pending = []
        self.ready = None
        self.close_code = None

    @classmethod
    async def connect(cls, d, token=None, how="header", ready=True,
        subprotocols=None, name="client", timeout=5):
        """Connect; authenticate by "header", "query" or "frame".

        With ready=True (and a token) the `ready` frame must come first;
        it is kept in .ready.
        """
        uri = f"ws://127.0.0.1:{d.port}/v1/ws"
        headers = {}
        if token is not None and how == "header":
            headers["Authorization"] = f"Bearer {token}"
        if token is not None and how == "query":
            uri += "?token=" + urllib.parse.quote(token, safe="")
        ws = await asyncio.wait_for(websockets.connect(uri,
            extra_headers=headers, subprotocols=subprotocols,
            compression=None, ping_interval=None, close_timeout=2,
            max_size=2**24, max_queue=None, open_timeout=timeout),
            timeout + 1)
        c = cls(ws, name)
        if token is not None and how == "frame":
            await c.send({"op": "auth", "token": token})
        if ready and token is not None:
            f = await c.recv(timeout)
            if not isinstance(f, dict) or f.get("op") != "ready":
                raise Failure(f"{name}: expected ready, got {f!r}")
            c.ready = f
        return c

    async def send(self, obj):
        """Send a JSON value, or a str or bytes frame as it is."""
        if not isinstance(obj, (str, bytes)):
            obj = json.dumps(obj, ensure_ascii=False)
        await self.ws.send(obj)

    async def _read(self, timeout):
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as e:
            self.close_code = e.rcvd.code if e.rcvd else 1006
            raise Closed(self.close_code,
                e.rcvd.reason if e.rcvd else "")
        if isinstance(raw, bytes):
            raise Failure(f"{self.name}: binary frame from server")
        try:
            return json.loads(raw)
        except ValueError:
            raise Failure(f"{self.name}: frame is not JSON: {raw!r}")

    async def recv(self, timeout=5):
        """The next frame, parsed.  Raises Closed or TimeoutError."""
        if self.pending:
            return self.pending.pop(0)
        return await self._read(timeout)

    def _take(self, ops):
        for i, f in enumerate(self.pending):
            if isinstance(f, dict) and f.get("op") in ops:
                return self.pending.pop(i)
        return None

    async def recv_op(self, op, timeout=5):
        """The next frame whose op is op (or one of a tuple of ops).

        Other frames are kept in pending.  None on timeout; raises
        Closed if the connection closes first.
        """
        ops = (op,) if isinstance(op, str) else tuple(op)
        f = self._take(ops)
        if f is not None:
            return f
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                f = await self._read(left)
            except asyncio.TimeoutError:
                return None
            if isinstance(f, dict) and f.get("op") in ops:
                return f
            self.pending.append(f)

    async def request(self, obj, timeout=5):
        """Send obj and return the direct reply: the next sent, error,
        ok, pong or blocks frame (None on timeout)."""
        await self.send(obj)
        return await self.recv_op(("sent", "error", "ok", "pong",
            "blocks"), timeout)

    async def collect(self, op, quiet=0.5, limit=10.0):
        """Frames of op until none came for `quiet` s (at most `limit`)."""
        got = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            f = await self.recv_op(op,
                min(quiet, deadline - time.monotonic()))
            if f is None:
                break
            got.append(f)
        return got

    async def expect_nothing(self, timeout=0.5, op=None):
        """Frames (of op, when given) that arrive within timeout."""
        if op is None:
            got, self.pending = self.pending, []
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline:
                    got.append(await self._read(
                        deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
            return got
        return await self.collect(op, quiet=timeout, limit=timeout)

    async def wait_closed(self, timeout=5):
        """Read until the server closes; its close code, or None if it
        did not close within timeout.  Frames read go to pending."""
        if self.close_code is not None:
            return self.close_code
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.pending.append(await self._read(
                    deadline - time.monotonic()))
        except Closed as e:
            return e.code
        except asyncio.TimeoutError:
            pass
        return None

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except Exception:
            pass


def ops(frames):
    return [f.get("op") if isinstance(f, dict) else f for f in frames]


async def alice_bob_carol(d):
    """Register alice and bob with a phone and a laptop each, and carol;
    connect all five.  Returns their tokens and their Clients, each in
    the order alice/phone, alice/laptop, bob/phone, bob/laptop, carol."""
    tokens = (token_for(d, "alice", "phone", new=True),
        token_for(d, "alice", "laptop"),
        token_for(d, "bob", "phone", new=True),
        token_for(d, "bob", "laptop"),
        token_for(d, "carol", new=True))
    names = ("alice/phone", "alice/laptop", "bob/phone", "bob/laptop",
        "carol")
    clients = [await Client.connect(d, tok, name=name)
        for tok, name in zip(tokens, names)]
    return tokens, clients


# ---------------------------------------------------------------- raw frames

class RawWS:
    """A minimal blocking WebSocket client on a plain socket, for what
    websockets will not send (invalid UTF-8) or a client that stops
    reading (rcvbuf shrinks its receive buffer)."""

    def __init__(self, d, token=None, rcvbuf=None, timeout=5):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET,
                socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", d.port))
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET /v1/ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{d.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n")
        if token is not None:
            head += f"Authorization: Bearer {token}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Failure(f"upgrade: EOF after {buf!r}")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        if lines[0].split()[1:2] != ["101"]:
            raise Failure(f"upgrade refused: {lines[0]!r}")
        want = base64.b64encode(hashlib.sha1((key +
            "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        accept = [l.split(":", 1)[1].strip() for l in lines[1:]
            if l.lower().startswith("sec-websocket-accept:")]
        if accept != [want.decode()]:
            raise Failure(f"bad Sec-WebSocket-Accept {accept!r}")

    def send_frame(self, opcode, payload, fin=True, masked=True):
        """One frame, masked as a client must send it unless told not."""
        self.sock.sendall(self.frame(opcode, payload, fin, masked))

    @staticmethod
    def frame(opcode, payload, fin=True, masked=True):
        n = len(payload)
        m = 0x80 if masked else 0
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack("!H", n)
        else:
            head += bytes([m | 127]) + struct.pack("!Q", n)
        if masked:
            mask = os.urandom(4)
            head += mask
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + payload

    def send_json(self, obj):
        self.send_frame(1, json.dumps(obj).encode())

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self, timeout=5):
        """(opcode, payload) of the next frame; EOFError at EOF."""
        self.sock.settimeout(timeout)
        b0, b1 = self._need(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        mask = self._need(4) if b1 & 0x80 else None
        payload = self._need(n)
        if mask:
            payload = bytes(b ^ mask[i % 4]
                for i, b in enumerate(payload))
        return b0 & 0x0f, payload

    def recv_json(self, timeout=5):
        """The next text frame, parsed; raises Closed on a close frame."""
        while True:
            op, payload = self.recv_frame(timeout)
            if op == 1:
                return json.loads(payload)
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] \
                    if len(payload) >= 2 else 1005
                raise Closed(code)

    def close_code(self, timeout=5):
        """Read until the close frame; its code, 1006 at EOF or reset,
        None if the server neither closed nor went away in time."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                op, payload = self.recv_frame(
                    max(0.01, deadline - time.monotonic()))
                if op == 8:
                    if len(payload) >= 2:
                        return struct.unpack("!H",
                            payload[:2])[0]
                    return 1005
        except (EOFError, ConnectionResetError):
            return 1006
        except socket.timeout:
            pass
        return None

    def close(self):
        self.sock.close()
