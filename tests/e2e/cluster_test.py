"""
cluster_test.py: helpers for the tests of tickd on several nodes
(tickd-cluster(7)): a real redis-server on a free port, a small TCP proxy
between each node and Redis so that one node's link can be cut, and three
tickd nodes n1-n3, each with its own data_dir and cluster_url.

A script calls skip_unless_cluster() first: without redis-server, or with
a tickd built --without-hiredis, it is skipped (TAP skip, exit 77).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from tickd_test import Daemon, Failure, VALGRIND, free_port, http_request

REDIS_SERVER = shutil.which("redis-server")


def skip_unless_cluster():
    if os.environ.get("TICKD_CLUSTER", "yes") != "yes":
        print("1..0 # SKIP tickd built --without-hiredis")
        sys.exit(77)
    if REDIS_SERVER is None:
        print("1..0 # SKIP redis-server not found")
        sys.exit(77)


class Redis:
    """A redis-server on a free loopback port, without persistence, so that
    a restart comes back empty; args are more of its options."""

    def __init__(self, args=()):
        self.dir = tempfile.mkdtemp(prefix="tickd-redis-")
        self.port = free_port()
        self.proc = None
        self.args = list(args)

    def start(self):
        self.proc = subprocess.Popen([REDIS_SERVER, "--port",
            str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self.dir, *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.cmd("PING") == "PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise Failure("redis-server did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cmd(self, *args):
        """One command through redis-cli; its output, stripped."""
        p = subprocess.run(["redis-cli", "-p", str(self.port), *args],
            capture_output=True, timeout=10)
        if p.returncode != 0:
            raise OSError(p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace").strip()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """A TCP proxy from a free port to Redis; cut() drops every
    connection and refuses new ones until restore()."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.cut_now = False
        self.conns = []
        self.lock = threading.Lock()
        self.done = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.cut_now:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target),
                    timeout=2)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            with self.lock:
                self.conns += [c, u]
            threading.Thread(target=self._pipe, args=(c, u),
                daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c),
                daemon=True).start()

    def _pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _drop_all(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        self.cut_now = True
        self._drop_all()

    def restore(self):
        self.cut_now = False

    def close(self):
        self.done = True
        self.cut()
        self.sock.close()


class Cluster:
    """Redis, three proxies and three nodes n1-n3; conf's keys (such as
    cluster_heartbeat) go into every node's configuration."""

    def __init__(self, n=3, **conf):
        self.redis = Redis().start()
        self.proxies = []
        self.nodes = []
        for i in range(1, n + 1):
            p = Proxy(self.redis.port)
            # Under valgrind the loop is many times slower: longer
            # heartbeats and timeouts, so that no node looks dead.
            c = {"cluster_retry": "2s",
                "cluster_heartbeat": "2s" if VALGRIND else "1s",
                "cluster_redis_timeout": "10s" if VALGRIND else "3s"}
            c.update(conf)
            d = Daemon(name=f"n{i}", node_name=f"n{i}",
                cluster_redis=f"redis://127.0.0.1:{p.port}", **c)
            d.conf["cluster_url"] = f"http://127.0.0.1:{d.port}"
            self.proxies.append(p)
            self.nodes.append(d)

    def start(self):
        for d in self.nodes:
            d.start()
        self.wait_up()
        return self

    def node(self, i):
        return self.nodes[i - 1]

    def wait_up(self, timeout=None):
        """Until every running node is set up in Redis and has seen the
        others alive: each node's alive key exists and each reports
        tickd_cluster_redis_up 1, then two heartbeats more."""
        timeout = timeout or (60 if VALGRIND else 15)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = True
            for d in self.nodes:
                if not d.running():
                    continue
                if self.redis.cmd("EXISTS",
                        f"tickd:alive:{{{d.conf['node_name']}}}") != "1":
                    ok = False
                    break
                if cluster_metric(d, "tickd_cluster_redis_up") != 1:
                    ok = False
                    break
            if ok:
                time.sleep(6 if VALGRIND else 1.5)
                return
            time.sleep(0.1)
        raise Failure("the cluster did not come up")

    def restart_redis(self):
        """Kill Redis and start it empty on the same port."""
        self.redis.stop()
        self.redis.start()

    def cleanup(self):
        for d in self.nodes:
            d.cleanup()
        for p in self.proxies:
            p.close()
        self.redis.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def cluster_metric(d, name):
    """One metric of d's /metrics, or None."""
    try:
        r = http_request(d, "GET", "/metrics", timeout=2)
    except OSError:
        return None
    for line in r.raw.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def wait_for(pred, timeout):
    """Poll pred() until it is true or timeout s pass; its last value."""
    if VALGRIND:
        timeout *= 4
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(0.1)
