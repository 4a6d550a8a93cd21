#!/usr/bin/python3
# The TLS relay of rediss:// (tickd-cluster(7), TLS) against a "Redis"
# that accepts TCP and never answers the handshake, a plain socket server:
# each TLS connection not made within cluster_redis_timeout is given up,
# closed and logged, and tickd keeps running, Redis down, and connects
# again.

import os
import socket
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
    finally:
        d.cleanup()
        s.close()
        tls.cleanup()


run(main, 4, timeout=90)
