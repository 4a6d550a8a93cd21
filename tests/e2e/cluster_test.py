"""
cluster_test.py: helpers for the tests of tickd on several nodes
(tickd-cluster(7)): a real redis-server on a free port, a small TCP proxy
between each node and Redis so that one node's link can be cut, and three
tickd nodes n1-n3, each with its own data_dir and cluster_url; or, with
RedisCluster, three redis-server masters joined in a Redis Cluster.

A script calls skip_unless_cluster() first: without redis-server, or with
a tickd built --without-hiredis, it is skipped (TAP skip, exit 77).
"""

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from tickd_test import (Daemon, Failure, VALGRIND, free_port, http_request,
    login, register)

REDIS_SERVER = shutil.which("redis-server")


def skip_unless_cluster():
    if os.environ.get("TICKD_CLUSTER", "yes") != "yes":
        print("1..0 # SKIP tickd built --without-hiredis")
        sys.exit(77)
    if REDIS_SERVER is None:
        print("1..0 # SKIP redis-server not found")
        sys.exit(77)


class TlsFiles:
    """A CA and a certificate it signs for san (subjectAltName), made with
    the openssl command in a temporary directory: ca, cert, key."""

    def __init__(self, san="IP:127.0.0.1,DNS:localhost"):
        self.dir = tempfile.mkdtemp(prefix="tickd-tls-")
        self.ca = os.path.join(self.dir, "ca.pem")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        cakey = os.path.join(self.dir, "ca.key")
        csr = os.path.join(self.dir, "cert.csr")
        ext = os.path.join(self.dir, "ext.cnf")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n")
        for cmd in (
                ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    "2", "-subj", "/CN=tickd test CA", "-keyout", cakey,
                    "-out", self.ca],
                ["req", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=localhost", "-keyout", self.key, "-out", csr],
                ["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey",
                    cakey, "-CAcreateserial", "-days", "2", "-extfile",
                    ext, "-out", self.cert]):
            subprocess.run(["openssl", *cmd], check=True,
                capture_output=True, timeout=60)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server on a free loopback port, without persistence, so that
    a restart comes back empty; args are more of its options.  With tls (a
    TlsFiles), it speaks TLS only, as rediss:// names it; with password,
    the default user needs it."""

    def __init__(self, args=(), tls=None, password=None):
        self.dir = tempfile.mkdtemp(prefix="tickd-redis-")
        self.port = free_port()
        self.proc = None
        self.args = list(args)
        self.tls = tls
        self.password = password
        if password is not None:
            self.args += ["--requirepass", password]

    def start(self):
        if self.tls is None:
            ports = ["--port", str(self.port)]
        else:
            ports = ["--port", "0", "--tls-port", str(self.port),
                "--tls-cert-file", self.tls.cert, "--tls-key-file",
                self.tls.key, "--tls-ca-cert-file", self.tls.ca,
                "--tls-auth-clients", "no"]
        self.proc = subprocess.Popen([REDIS_SERVER, *ports,
            "--bind", "127.0.0.1", "--save", "",
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
        tls = [] if self.tls is None else ["--tls", "--cacert",
            self.tls.ca]
        auth = [] if self.password is None else ["--no-auth-warning",
            "-a", self.password]
        p = subprocess.run(["redis-cli", "-p", str(self.port), *tls,
            *auth, *args],
            capture_output=True, timeout=10)
        if p.returncode != 0:
            raise OSError(p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace").strip()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def cluster_mode_ok():
    """Whether this redis-server can run a Redis Cluster as RedisCluster
    does: version 7 or later (cluster-port), and redis-cli."""
    try:
        p = subprocess.run([REDIS_SERVER, "--version"], capture_output=True,
            timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    v = p.stdout.decode(errors="replace")
    try:
        major = int(v.split("v=")[1].split(".")[0])
    except (IndexError, ValueError):
        return False
    return major >= 7 and shutil.which("redis-cli") is not None


class RedisCluster:
    """Three redis-server masters on free loopback ports, each with
    --cluster-enabled yes in a temporary directory, joined with
    redis-cli --cluster create ... --cluster-replicas 0; with replicas,
    a replica of each too (ports[3:])."""

    def __init__(self, n=3, replicas=False):
        self.dir = tempfile.mkdtemp(prefix="tickd-rcluster-")
        self.ports = []
        self.procs = {}
        self.replicas = replicas
        if replicas:
            n *= 2
        while len(self.ports) < n:
            p = free_port()
            if p not in self.ports:
                self.ports.append(p)
        self.bus = {}
        for p in self.ports:
            b = free_port()
            while b in self.ports or b in self.bus.values():
                b = free_port()
            self.bus[p] = b

    def start_one(self, port):
        d = os.path.join(self.dir, str(port))
        os.makedirs(d, exist_ok=True)
        self.procs[port] = subprocess.Popen([REDIS_SERVER, "--port",
            str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", d, "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf", "--cluster-port",
            str(self.bus[port]), "--cluster-node-timeout", "2000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.cmd_at(port, "PING") == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise Failure("redis-server --cluster-enabled did not start")

    def start(self):
        for p in self.ports:
            self.start_one(p)
        r = subprocess.run(["redis-cli", "--cluster", "create",
            *[f"127.0.0.1:{p}" for p in self.ports],
            "--cluster-replicas", "1" if self.replicas else "0",
            "--cluster-yes"],
            capture_output=True, timeout=60)
        if r.returncode != 0:
            raise Failure("redis-cli --cluster create: " +
                r.stdout.decode(errors="replace")[-500:])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in self.cmd_at(p, "CLUSTER", "INFO")
                    for p in self.ports) and all("master_link_status:up"
                    in self.cmd_at(p, "INFO", "replication") or
                    "role:master" in self.cmd_at(p, "INFO", "replication")
                    for p in self.ports):
                return self
            time.sleep(0.1)
        raise Failure("the Redis Cluster did not come up")

    def alive(self):
        """The ports of the servers running."""
        return [p for p in self.ports if self.procs[p].poll() is None]

    def kill(self, port):
        """SIGKILL of the server on port."""
        self.procs[port].kill()
        self.procs[port].wait()

    def cmd_at(self, port, *args):
        """One command to the master on port, redirections not followed."""
        p = subprocess.run(["redis-cli", "-p", str(port), *args],
            capture_output=True, timeout=10)
        if p.returncode != 0:
            raise OSError(p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace").strip()

    def cmd(self, *args):
        """One command through redis-cli -c, which follows redirections."""
        p = subprocess.run(["redis-cli", "-c", "-p", str(self.alive()[0]),
            *args], capture_output=True, timeout=10)
        if p.returncode != 0:
            raise OSError(p.stderr.decode(errors="replace"))
        return p.stdout.decode(errors="replace").strip()

    def node_id(self, port):
        return self.cmd_at(port, "CLUSTER", "MYID")

    def owner(self, key):
        """The port of the master that serves key's slot."""
        at = self.alive()[0]
        slot = int(self.cmd_at(at, "CLUSTER", "KEYSLOT", key))
        for line in self.cmd_at(at, "CLUSTER", "NODES").splitlines():
            f = line.split()
            if "master" not in f[2] or "fail" in f[2]:
                continue
            port = int(f[1].split(":")[1].split("@")[0])
            for r in f[8:]:
                if r.startswith("["):
                    continue
                a, _, b = r.partition("-")
                if int(a) <= slot <= int(b or a):
                    return port
        return None

    def migrate_slot(self, slot, src, dst, pause=0.0):
        """Moves slot from the master on src to the one on dst, as
        redis-cli --cluster reshard does: IMPORTING, MIGRATING, MIGRATE of
        its keys, a pause between each step, then SETSLOT NODE on every
        master."""
        self.migrate_begin(slot, src, dst, pause)
        self.migrate_end(slot, src, dst)

    def migrate_begin(self, slot, src, dst, pause=0.0):
        """migrate_slot up to the keys moved: the slot is left migrating,
        so that src answers ASK for its keys."""
        sid, did = self.node_id(src), self.node_id(dst)
        self.cmd_at(dst, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", sid)
        self.cmd_at(src, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", did)
        time.sleep(pause)
        while True:
            keys = self.cmd_at(src, "CLUSTER", "GETKEYSINSLOT", str(slot),
                "100").split()
            if not keys:
                break
            out = self.cmd_at(src, "MIGRATE", "127.0.0.1", str(dst), "", "0",
                "5000", "KEYS", *keys)
            if "OK" not in out:
                raise Failure(f"MIGRATE: {out}")
            time.sleep(pause)

    def migrate_end(self, slot, src, dst):
        """The end of migrate_slot: SETSLOT NODE on every master."""
        did = self.node_id(dst)
        for p in (dst, src, *[q for q in self.ports if q not in (src,
                dst)]):
            self.cmd_at(p, "CLUSTER", "SETSLOT", str(slot), "NODE", did)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """A TCP proxy from a free port to Redis; cut() drops every
    connection and refuses new ones until restore(); blackhole() keeps
    them but throws away what either side sends, until restore()."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.cut_now = False
        self.hole = False
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
                if not self.hole:
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

    def blackhole(self):
        self.hole = True

    def restore(self):
        self.cut_now = False
        self.hole = False

    def close(self):
        self.done = True
        self.cut()
        self.sock.close()


class Cluster:
    """Redis, three proxies and three nodes n1-n3; conf's keys (such as
    cluster_heartbeat) go into every node's configuration."""

    def __init__(self, n=3, rcluster=False, replicas=False, tls=None,
            **conf):
        """With rcluster, Redis is a RedisCluster (with replicas, if
        asked), which node i reaches without a proxy: n1 and n2 name every
        master as seeds, the others one, which INFO cluster tells is a
        Redis Cluster.  With tls (a TlsFiles), Redis speaks only TLS and
        the nodes name it rediss:// with tls.ca as cluster_redis_ca_file."""
        self.redis = (RedisCluster(replicas=replicas) if rcluster else
            Redis(tls=tls)).start()
        self.proxies = []
        self.nodes = []
        for i in range(1, n + 1):
            if rcluster:
                seeds = self.redis.ports[:3] if i < 3 else \
                    self.redis.ports[i % 3:i % 3 + 1]
                url = '"' + " ".join(f"redis://127.0.0.1:{q}"
                    for q in seeds) + '"'
            else:
                p = Proxy(self.redis.port)
                url = f"redis{'s' if tls else ''}://127.0.0.1:{p.port}"
                self.proxies.append(p)
                if tls is not None:
                    conf.setdefault("cluster_redis_ca_file", tls.ca)
            # Under valgrind the loop is many times slower: longer
            # heartbeats and timeouts, so that no node looks dead.
            c = {"cluster_retry": "2s",
                "cluster_heartbeat": "2s" if VALGRIND else "1s",
                "cluster_redis_timeout": "10s" if VALGRIND else "3s"}
            c.update(conf)
            d = Daemon(name=f"n{i}", node_name=f"n{i}", cluster_redis=url,
                **c)
            d.conf["cluster_url"] = f"http://127.0.0.1:{d.port}"
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


def upload_png(d, token, data):
    """POST data to /v1/media on d as image/png: the status and the ID
    (tickd-protocol(7) MEDIA)."""
    r = http_request(d, "POST", "/v1/media", body=data, token=token,
        headers={"Content-Type": "image/png"})
    return r.status, (r.json or {}).get("media", "")


def fetch(d, mid, token):
    """GET mid through node d with a bearer token, following a 307 to its
    owner as a browser does (tickd-cluster(7) MEDIA): the status and
    bytes at the end."""
    req = urllib.request.Request(f"http://127.0.0.1:{d.port}/v1/media/{mid}")
    req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def log_has(d, text):
    """Whether d's log holds text."""
    with open(d.log_path, errors="replace") as f:
        return text in f.read()


def name_held(d, user):
    """Whether d refuses user's logins, its account of the name held for a
    name conflict (tickd-cluster(7))."""
    r = login(d, user)
    return r.status == 409 and r.error == "name_taken"


async def name_conflict(t, cl, users, hook=None):
    """The name conflict of tickd-cluster(7), Name conflicts, for users
    with accounts on n1: n1 is cut from Redis (its proxy), Redis restarts
    empty, users register again on n2, hook() runs (and is awaited if it
    returns an awaitable), then n1's link comes back and n1 logs a
    conflict for each.  Four checks; hook's value is returned."""
    n1, n2 = cl.node(1), cl.node(2)
    cl.proxies[0].cut()
    t.ok(wait_for(lambda: cluster_metric(n1, "tickd_cluster_redis_up")
        == 0, 15), "n1 cut from Redis")
    cl.restart_redis()
    t.ok(wait_for(lambda: cl.redis.cmd("EXISTS", "tickd:alive:{n2}")
        == "1", 15), "Redis restarted empty; n2 is set up again")
    st = [register(n2, u).status for u in users]
    t.ok(st == [201] * len(users), f"{', '.join(users)}: registered "
        "again on n2, before n1 writes its names back", st)
    v = None
    if hook is not None:
        v = hook()
        if inspect.isawaitable(v):
            v = await v
    cl.proxies[0].restore()
    t.ok(wait_for(lambda: all(log_has(n1, f"name conflict: {u}, homed "
        "here, is registered to node n2") for u in users), 15),
        "n1 back: its write-back finds the name(s) n2's and logs each")
    return v


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


class Traffic:
    """alice (a) sends bob (b) n messages, ids prefix0, prefix1, ..., one
    every gap s, while bob acks each he gets; check() then says that what
    the test did meanwhile lost and doubled none."""

    def __init__(self, a, b, n, prefix, gap, w=1):
        self.a, self.b, self.n, self.w = a, b, n, w
        self.sent, self.got = {}, {}
        loop = asyncio.get_running_loop()
        self.rx = asyncio.ensure_future(self._receive(loop.time() + 90 * w))
        self.tx = asyncio.ensure_future(self._send(prefix, gap))

    async def _send(self, prefix, gap):
        for i in range(self.n):
            s = await self.a.request({"op": "send", "to": "bob",
                "id": f"{prefix}{i}", "body": i}, timeout=10 * self.w)
            if s is not None and s.get("op") == "sent":
                self.sent[f"{prefix}{i}"] = s["mid"]
            await asyncio.sleep(gap)

    async def _receive(self, deadline):
        loop = asyncio.get_running_loop()
        while len(self.got) < self.n and loop.time() < deadline:
            m = await self.b.recv_op("msg", 2 * self.w)
            if m is None:
                continue
            self.got.setdefault(m["id"], []).append(m["mid"])
            await self.b.send({"op": "ack", "mid": m["mid"]})

    async def check(self, t, nodes, rcpt_s, drain_s):
        """Four checks: each send sent, each message got once, a
        delivered receipt for each, and the outboxes of nodes empty."""
        await self.tx
        await self.rx
        n, sent, got = self.n, self.sent, self.got
        t.eq(len(sent), n, f"{n} sends, each sent")
        twice = [i for i, mids in got.items() if len(set(mids)) > 1]
        t.ok(set(got) == set(sent) and not twice,
            "bob got every message once, under one mid",
            [len(got), sorted(set(sent) - set(got))[:10], twice[:10]])
        loop = asyncio.get_running_loop()
        rcpt = set()
        deadline = loop.time() + rcpt_s * self.w
        while len(rcpt) < n and loop.time() < deadline:
            f = await self.a.recv_op("receipt", 2 * self.w)
            if f is None:
                continue
            await self.a.send({"op": "ack", "mid": f["mid"]})
            if f.get("status") == "delivered":
                rcpt.add(f["for"])
        t.eq(rcpt, set(sent.values()), "alice got a delivered receipt for "
            "each")
        ok = wait_for(lambda: all(cluster_metric(d, "tickd_cluster_outbox")
            == 0 for d in nodes), drain_s)
        t.ok(ok, "the outboxes drain to 0")


class RespClient:
    """A RESP2 connection of the test's own to one Redis server, as an
    outside client sees tickd's channels (tickd-cluster(7), Channels):
    Debian 12's redis-py knows no SSUBSCRIBE.  With tls (a TlsFiles), over
    TLS; with password, AUTH first."""

    def __init__(self, port, tls=None, password=None):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls is not None:
            import ssl
            ctx = ssl.create_default_context(cafile=tls.ca)
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        self.sock = s
        self.buf = b""
        if password is not None:
            self.call("AUTH", password)

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _parse(self, i):
        """One reply at buf[i:]: (value, next i), or None if incomplete.
        Strings decode to str; an error is an Exception."""
        end = self.buf.find(b"\r\n", i)
        if end < 0:
            return None
        kind, line, j = self.buf[i:i + 1], self.buf[i + 1:end], end + 2
        if kind == b"+":
            return line.decode(), j
        if kind == b"-":
            return Exception(line.decode()), j
        if kind == b":":
            return int(line), j
        n = int(line)
        if kind == b"$":
            if n < 0:
                return None, j
            if len(self.buf) < j + n + 2:
                return None
            return self.buf[j:j + n].decode(errors="replace"), j + n + 2
        if n < 0:
            return None, j
        v = []
        for _ in range(n):
            r = self._parse(j)
            if r is None:
                return None
            v.append(r[0])
            j = r[1]
        return v, j

    def read(self, timeout):
        """The next reply or push, or None after timeout s."""
        deadline = time.monotonic() + timeout
        while True:
            r = self._parse(0)
            if r is not None:
                self.buf = self.buf[r[1]:]
                return r[0]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            if not data:
                raise OSError("Redis closed the connection")
            self.buf += data

    def call(self, *args):
        self.send(*args)
        return self.read(10)

    def pushes(self, timeout):
        """What came within timeout s."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            r = self.read(max(0.0, deadline - time.monotonic()))
            if r is None:
                return got
            got.append(r)

    def close(self):
        self.sock.close()


def shard_numsub(port, channel, tls=None):
    """PUBSUB SHARDNUMSUB channel at the server on port: its count."""
    r = RespClient(port, tls=tls)
    try:
        v = r.call("PUBSUB", "SHARDNUMSUB", channel)
    finally:
        r.close()
    return v[1] if isinstance(v, list) and len(v) == 2 else None
