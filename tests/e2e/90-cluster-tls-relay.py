#!/usr/bin/python3
# The TLS relay of rediss:// (tickd-cluster(7), TLS) against a "Redis"
# that accepts TCP and never answers the handshake, a plain socket server:
# each TLS connection not made within cluster_redis_timeout is given up,
# closed and logged, and tickd keeps running, Redis down, and connects
# again.  Then its bound, 256 KB waiting toward either side: n1 reaches a
# real Redis through a TLS proxy here, n2 reaches it directly.  With the
# proxy not reading from n1, alice on n1 sends bob on n2 a 4 MB message:
# once 256 KB wait toward Redis the relay stops reading hiredis, whose
# writes stay unread in the relay's socket (ss -x); when the proxy reads
# again the relay does too, and bob gets the message whole, with no
# reconnect meanwhile.

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1


class Silent:
    """A TCP server on a free loopback port that reads what each
    connection sends and answers nothing; conns holds, for each, the
    monotonic time of its accept, the seconds until the peer closed it
    (None while open) and the bytes it got."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = [time.monotonic(), None, b""]
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._read, args=(c, rec),
                daemon=True).start()

    def _read(self, c, rec):
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                rec[2] += data
        except OSError:
            pass
        rec[1] = time.monotonic() - rec[0]
        c.close()

    def snapshot(self):
        with self.lock:
            return [list(r) for r in self.conns]

    def close(self):
        self.sock.close()


class TlsPause:
    """A TLS proxy on a free loopback port to a plain Redis on target,
    with tls's certificate, run by an event loop of its own (the test's
    blocks in its HTTP requests); pause() stops its reading from the
    clients, resume() starts it again."""

    def __init__(self, target, tls):
        self.target, self.tls = target, tls
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self):
        self.go = asyncio.Event()
        self.go.set()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.tls.cert, self.tls.key)
        # A small receive buffer: what it does not read stays in tickd.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        self.port = s.getsockname()[1]
        self.srv = await asyncio.start_server(self._handle, sock=s,
            ssl=ctx, limit=16384)

    async def _pump(self, r, w, gated):
        try:
            while True:
                if gated:
                    await self.go.wait()
                data = await r.read(16384)
                if not data:
                    break
                w.write(data)
                await w.drain()
        except (OSError, ssl.SSLError):
            pass
        w.close()

    async def _handle(self, r, w):
        ur, uw = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(self._pump(r, uw, True),
            self._pump(ur, w, False))

    def pause(self):
        self.loop.call_soon_threadsafe(self.go.clear)

    def resume(self):
        self.loop.call_soon_threadsafe(self.go.set)

    def close(self):
        self.loop.call_soon_threadsafe(self.srv.close)


def unread(path):
    """The most bytes waiting unread in a connection accepted on the unix
    socket path (ss -x: its Recv-Q)."""
    out = subprocess.run(["ss", "-x", "-n"], capture_output=True,
        text=True, timeout=10).stdout
    most = 0
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == "ESTAB" and f[4] == path:
            most = max(most, int(f[2]))
    return most


async def bound(t, tls):
    """The relay's 256 KB bound: four checks."""
    redis = Redis().start()
    px = TlsPause(redis.port, tls)
    big = {"max_message_bytes": "8m", "max_frame_bytes": "9m",
        "max_output_bytes": "32m", "max_user_bytes": "0",
        "cluster_redis_timeout": "60s", "cluster_retry": "2s",
        "cluster_heartbeat": "2s" if VALGRIND else "1s"}
    n1 = Daemon(name="n1", node_name="n1", cluster_redis_ca_file=tls.ca,
        cluster_redis=f"rediss://127.0.0.1:{px.port}", **big)
    n2 = Daemon(name="n2", node_name="n2",
        cluster_redis=f"redis://127.0.0.1:{redis.port}", **big)
    try:
        for d in (n1, n2):
            d.conf["cluster_url"] = f"http://127.0.0.1:{d.port}"
            d.start()
        wait_for(lambda: all(cluster_metric(d, "tickd_cluster_redis_up")
            == 1 for d in (n1, n2)), 15)
        register(n1, "alice")
        register(n2, "bob")
        a = await Client.connect(n1, token_for(n1, "alice"), name="alice")
        b = await Client.connect(n2, token_for(n2, "bob"), name="bob")
        s = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": "hi"}, timeout=10 * W)
        m = await b.recv_op("msg", 10 * W) or {}
        t.ok((s or {}).get("op") == "sent" and m.get("body") == "hi",
            "n1 over the TLS proxy, n2 direct: alice's message reaches bob, "
            "whose home n1 caches", [s, m])
        await b.send({"op": "ack", "mid": m.get("mid", "")})

        path = os.path.join(n1.data_dir, "redis-tls", "s")
        body = "x" * 4000000
        px.pause()
        s = await a.request({"op": "send", "to": "bob", "id": "m2",
            "body": body}, timeout=20 * W)
        # Once hiredis wrote what the socket takes: not a passing peak
        # while the relay reads, but what stays.
        time.sleep(2 * W)
        left = []
        for _ in range(5):
            left.append(unread(path))
            time.sleep(0.2)
        t.ok((s or {}).get("op") == "sent" and min(left) >= 65536,
            "the proxy not reading, a 4 MB message: the relay stops "
            "reading hiredis, whose writes wait unread in its socket",
            [(s or {}).get("op"), left])
        px.resume()
        m = await b.recv_op("msg", 30 * W) or {}
        t.ok(m.get("id") == "m2" and m.get("body") == body, "the proxy "
            "reading again, so does the relay: bob gets it whole",
            [m.get("id"), len(m.get("body", ""))])
        t.ok(not log_has(n1, "reconnecting"), "with no reconnect "
            "meanwhile", n1.tail())
        await a.close()
        await b.close()
    finally:
        for d in (n1, n2):
            d.cleanup()
        px.close()
        redis.cleanup()


async def main(t):
    tls = TlsFiles()
    s = Silent()
    d = Daemon(name="n1", node_name="n1", cluster_redis_ca_file=tls.ca,
        cluster_redis=f"rediss://127.0.0.1:{s.port}",
        cluster_redis_timeout="1s", cluster_retry="2s",
        cluster_heartbeat="1s")
    d.conf["cluster_url"] = f"http://127.0.0.1:{d.port}"
    try:
        d.start()
        closed = wait_for(lambda: [r for r in s.snapshot()
            if r[1] is not None], 10)
        first = closed[0] if closed else [0, None, b""]
        t.ok(first[2][:1] == b"\x16" and first[1] is not None and
            0.8 <= first[1] <= 2.5 * W, "a connection to the silent "
            "server, its ClientHello unanswered: tickd closes it after "
            "cluster_redis_timeout, 1s", [(r[1], r[2][:3]) for r in
            closed])
        t.ok(wait_for(lambda: log_has(d, f"cluster: TLS to Redis "
            f"127.0.0.1:{s.port}: no connection or handshake within "
            "cluster_redis_timeout"), 5), "and logs it", d.tail())
        t0 = time.monotonic()
        again = wait_for(lambda: len([r for r in s.snapshot()
            if r[0] > t0]) >= 2, 15)
        t.ok(again and d.running() and
            cluster_metric(d, "tickd_cluster_redis_up") == 0,
            "tickd keeps running, Redis down, and connects again",
            [len(s.snapshot()), d.tail()])
        time.sleep(1.5 * W)
        left = [r for r in s.snapshot() if r[1] is None and
            time.monotonic() - r[0] > 2.5 * W]
        t.eq(left, [], "no connection outlives its timeout")
        d.stop()
        if shutil.which("ss") is None:
            for n in range(5, 9):
                t.skip(f"the bound, case {n}", "ss not found")
        else:
            await bound(t, tls)
    finally:
        d.cleanup()
        s.close()
        tls.cleanup()


run(main, 8, timeout=180)
