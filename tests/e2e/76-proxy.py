#!/usr/bin/env python3
# Behind a reverse proxy (tickd.conf(5) Reverse proxy): X-Forwarded-For and
# Forwarded from trusted_proxies only, so that login_rate counts real
# clients and the log names them; the PROXY protocol, v1 and v2, on the
# HTTP and RESP listeners, written by this script, with its bad inputs;
# and a real nginx from Debian in front, proxying HTTP and WebSocket with
# X-Forwarded-For (skipped when nginx is not installed).

import asyncio
import concurrent.futures
import http.client
import ipaddress
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
import audit_pg  # noqa: E402
import websockets  # noqa: E402

PROXY = "127.0.0.2"     # the trusted proxy, by its loopback source address
STRANGER = "127.0.0.3"  # a peer not in trusted_proxies
NGINX = shutil.which("nginx") or (
    "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def req(d, method, path, body=None, headers=None, source="127.0.0.1",
    port=None):
    """One request from a given loopback source address: (status, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port or d.port, timeout=10,
        source_address=(source, 0))
    hdrs = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        hdrs["Content-Type"] = "application/json"
    try:
        c.request(method, path, body, hdrs)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def v1(src, sport=40000, dst=None, dport=8080):
    """A PROXY protocol v1 header from src."""
    fam = "TCP6" if ":" in src else "TCP4"
    dst = dst or ("::1" if ":" in src else "127.0.0.1")
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, sport=40000, dst=None, dport=8080, cmd=0x21, tlv=b""):
    """A PROXY protocol v2 header from src, TLVs tlv after the addresses."""
    a = ipaddress.ip_address(src)
    b = ipaddress.ip_address(dst or ("127.0.0.1" if a.version == 4 else
        "::1"))
    fam = 0x11 if a.version == 4 else 0x21
    body = a.packed + b.packed + struct.pack("!HH", sport, dport) + tlv
    return V2SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body


class Proxied(http.client.HTTPConnection):
    """An HTTP connection from source that starts with a PROXY header."""

    def __init__(self, port, header, source=PROXY):
        super().__init__("127.0.0.1", port, timeout=10,
            source_address=(source, 0))
        self.header = header

    def connect(self):
        """Connect, then send the PROXY header."""
        super().connect()
        self.sock.sendall(self.header)


def proxied(port, header, method, path, body=None, source=PROXY):
    """One request after header: (status, body); raises if closed."""
    c = Proxied(port, header, source)
    try:
        c.request(method, path, json.dumps(body) if body is not None
            else None, {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def closed_silently(port, data, source=PROXY, timeout=8):
    """Sends data; True if the server closes without a byte of answer."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    got = b""
    try:
        if data:
            s.sendall(data)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        return False
    finally:
        s.close()
    return got == b""


def resp_ping(port, header, source=PROXY):
    """PING after a PROXY header on the RESP port; the reply line."""
    s = socket.socket()
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(header + b"*1\r\n$4\r\nPING\r\n")
        got = b""
        while not got.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got, s
    except OSError:
        s.close()
        raise


def log_has(d, text):
    """Whether d's log holds text."""
    with open(d.log_path, errors="replace") as f:
        return text in f.read()


def wait_log(d, text, timeout=5):
    """Whether d's log holds text within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_has(d, text):
            return True
        time.sleep(0.05)
    return False


def limited(sts):
    """25 statuses as login_rate 20 answers a burst from one address:
    20 accepted (21 if a token came back meanwhile), the rest 429."""
    return sts.count(201) in (20, 21) and \
        sts.count(201) + sts.count(429) == len(sts)


def registrations(d, prefix, n, headers_for=None, source="127.0.0.1",
    port=None):
    """n registrations of fresh names, all at once so that login_rate
    sees them together however slow the password hashing; their
    statuses, in order."""
    def one(i):
        """Registration i."""
        h = headers_for(i) if headers_for else None
        return req(d, "POST", "/v1/register", {"user": f"{prefix}{i}",
            "password": "pw-long-enough"}, h, source, port)[0]
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def part_headers(t):
    """X-Forwarded-For and Forwarded, from trusted and untrusted peers."""
    d = Daemon("xff", trusted_proxies=f"{PROXY},10.0.0.0/8", login_rate="20")
    d.start()
    sts = registrations(d, "fw", 25, lambda i: {"X-Forwarded-For":
        f"198.51.100.{i + 1}, 10.1.2.3"}, source=PROXY)
    t.ok(sts == [201] * 25, "25 registrations from 25 forwarded addresses "
        "behind a trusted proxy: none refused by login_rate", f"{sts}")
    sts = registrations(d, "direct", 25)
    t.ok(limited(sts), "25 direct "
        "registrations from one address: login_rate 20 refuses some",
        f"{sts}")
    sts = registrations(d, "spoof", 25, lambda i: {"X-Forwarded-For":
        f"203.0.113.{i + 1}"}, source=STRANGER)
    t.ok(limited(sts), "an untrusted peer's "
        "X-Forwarded-For is ignored: its 25 registrations are limited "
        "as one address", f"{sts}")
    sts = registrations(d, "fwd", 21, lambda i: {"Forwarded":
        f'for="[2001:db8::{i + 1:x}]:4711";proto=http'}, source=PROXY)
    t.ok(sts == [201] * 21, "Forwarded (RFC 7239) for= from a trusted "
        "proxy counts each client apart", f"{sts}")

    st, _ = req(d, "POST", "/v1/login", {"user": "fw0", "password":
        "wrong"}, {"X-Forwarded-For": "evil, 192.0.2.77"}, PROXY)
    t.ok(st == 401 and wait_log(d, "failed login for fw0 from 192.0.2.77"),
        "the failed-login log line names the forwarded client, not the "
        "proxy", f"{st}")
    st, _ = req(d, "POST", "/v1/login", {"user": "fw1", "password":
        "wrong"}, {"Forwarded": 'for="[2001:db8::99]"'}, PROXY)
    t.ok(st == 401 and wait_log(d, "failed login for fw1 from "
        "[2001:db8::99]"), "... and the Forwarded one in IPv6", f"{st}")
    st, _ = req(d, "POST", "/v1/login", {"user": "fw2", "password":
        "wrong"}, {"X-Forwarded-For": "192.0.2.78"}, "127.0.0.4")
    t.ok(st == 401 and wait_log(d, "failed login for fw2 from "
        "127.0.0.4:") and not log_has(d, "192.0.2.78"),
        "from an untrusted peer the log names the peer", f"{st}")
    for i, bad in enumerate(["not-an-address", "192.0.2.1, 10.0.0.1, junk, "
        "10.0.0.2", ""]):
        st, _ = req(d, "POST", "/v1/login", {"user": f"fw{3 + i}",
            "password": "wrong"}, {"X-Forwarded-For": bad}, PROXY)
        t.ok(st == 401 and wait_log(d, f"failed login for fw{3 + i} from "
            f"{PROXY}:"), f"a malformed X-Forwarded-For {bad!r} from a "
            "trusted proxy: the proxy's address is used", f"{st}")
    t.ok(log_has(d, "malformed X-Forwarded-For or Forwarded from trusted "
        f"proxy {PROXY}:"), "... and it is logged")
    st, _ = req(d, "POST", "/v1/login", {"user": "fw6", "password":
        "wrong"}, {"Forwarded": "for=unknown"}, PROXY)
    t.ok(st == 401 and wait_log(d, f"failed login for fw6 from {PROXY}:"),
        "Forwarded for=unknown from a trusted proxy: its address", f"{st}")
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10,
        source_address=(PROXY, 0))
    c.putrequest("POST", "/v1/login")
    c.putheader("X-Forwarded-For", "192.0.2.201")
    c.putheader("X-Forwarded-For", "192.0.2.202")
    body = json.dumps({"user": "fw7", "password": "wrong"}).encode()
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    r = c.getresponse()
    r.read()
    c.close()
    t.ok(r.status == 401 and wait_log(d, f"failed login for fw7 from "
        f"{PROXY}:"), "X-Forwarded-For given twice: the proxy's address",
        f"{r.status}")
    d.stop()


def part_proxy_protocol(t):
    """PROXY v1 and v2 on the HTTP and RESP listeners, good and bad."""
    d = Daemon("pp", trusted_proxies=PROXY, listen_proxy_protocol="yes",
        resp_listen=f"127.0.0.1:{free_port()}", resp_proxy_protocol="yes",
        login_rate="3", max_connections_per_ip="1",
        handshake_timeout="1s")
    rport = int(d.conf["resp_listen"].rsplit(":", 1)[1])
    d.start(ready=False)
    deadline = time.monotonic() + 10
    st = None
    while time.monotonic() < deadline:
        try:
            st, _ = proxied(d.port, v1("192.0.2.1", 1), "GET", "/healthz")
            if st == 200:
                break
        except OSError:
            time.sleep(0.05)
    t.ok(st == 200, "HTTP after a PROXY v1 header from a trusted proxy",
        f"{st}")
    if st != 200:
        raise Failure("the PROXY listener never answered:\n" + d.tail())
    st, _ = proxied(d.port, v2("192.0.2.2", 2), "GET", "/healthz")
    t.ok(st == 200, "HTTP after a PROXY v2 header (IPv4)", f"{st}")
    st, _ = proxied(d.port, v2("192.0.2.3", 3, tlv=b"\x04\x00\x02ab"),
        "GET", "/healthz")
    t.ok(st == 200, "... with a TLV after the addresses", f"{st}")
    st, _ = proxied(d.port, V2SIG + b"\x20\x00\x00\x00", "GET", "/healthz")
    t.ok(st == 200, "... a v2 LOCAL header (the proxy's own check)", f"{st}")
    st, _ = proxied(d.port, b"PROXY UNKNOWN\r\n", "GET", "/healthz")
    t.ok(st == 200, "... a v1 UNKNOWN header", f"{st}")

    st, _ = proxied(d.port, v1("192.0.2.10", 1234), "POST", "/v1/login",
        {"user": "nobody", "password": "wrong"})
    t.ok(st == 401 and wait_log(d, "failed login for nobody from "
        "192.0.2.10:1234"), "the log names the v1 source address and port",
        f"{st}")
    st, _ = proxied(d.port, v2("2001:db8::5", 4321), "POST", "/v1/login",
        {"user": "nobody2", "password": "wrong"})
    t.ok(st == 401 and wait_log(d, "failed login for nobody2 from "
        "[2001:db8::5]:4321"), "... and the v2 IPv6 one", f"{st}")

    # login_rate 3 per address: one source on one kept-alive connection,
    # then another source.
    c = Proxied(d.port, v1("192.0.2.20", 20))
    sts = []
    for i in range(4):
        c.request("POST", "/v1/login", json.dumps({"user": f"x{i}",
            "password": "wrong"}), {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        sts.append(r.status)
    c.close()
    st, _ = proxied(d.port, v2("192.0.2.21", 21), "POST", "/v1/login",
        {"user": "y", "password": "wrong"})
    t.ok(sts == [401, 401, 401, 429] and st == 401, "login_rate counts "
        "each PROXY source address apart", f"{sts} {st}")

    # max_connections_per_ip 1 counts the source address.
    a = Proxied(d.port, v1("192.0.2.30", 30))
    a.connect()
    time.sleep(0.2)
    second = closed_silently(d.port, v1("192.0.2.30", 31) +
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    st, _ = proxied(d.port, v1("192.0.2.31", 32), "GET", "/healthz")
    a.close()
    t.ok(second and st == 200, "max_connections_per_ip 1 counts the "
        "PROXY source: a second connection from it is refused, another "
        "source's is not", f"{second} {st}")

    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    bad = [
        ("no PROXY header", get),
        ("a v1 header with a bad address", b"PROXY TCP4 192.0.2.300 "
            b"127.0.0.1 1 2\r\n" + get),
        ("a v1 header with a bad port", b"PROXY TCP4 192.0.2.1 127.0.0.1 "
            b"65536 2\r\n" + get),
        ("a v1 header ending in LF only", b"PROXY TCP4 192.0.2.1 "
            b"127.0.0.1 1 2\n" + get),
        ("a v1 header longer than 107 bytes", b"PROXY TCP4 " + b"1" * 120 +
            b"\r\n" + get),
        ("a v2 header of version 1", V2SIG + b"\x11\x11\x00\x0c" +
            b"\x00" * 12 + get),
        ("a v2 header with a short address", V2SIG + b"\x21\x11\x00\x04" +
            b"\x00" * 4 + get),
        ("a v2 header of a UDP connection", V2SIG + b"\x21\x12\x00\x0c" +
            b"\x00" * 12 + get),
        ("a v2 header longer than 536 bytes", V2SIG + b"\x21\x11\x02\x10" +
            b"\x00" * 528 + get),
        ("a truncated v1 header, then silence", b"PROXY TCP4 192.0.2.1"),
        ("a truncated v2 header, then silence", v2("192.0.2.1")[:20]),
        ("a bare TCP connection that sends nothing", b""),
    ]
    for desc, data in bad:
        t.ok(closed_silently(d.port, data), f"HTTP: {desc}: closed "
            "without an answer")
    t.ok(closed_silently(d.port, v1("192.0.2.40") + get, source=STRANGER),
        "HTTP: a good PROXY header from a peer not in trusted_proxies: "
        "closed")
    st, _ = proxied(d.port, v1("192.0.2.41"), "GET", "/healthz")
    t.ok(st == 200 and log_has(d, f"{STRANGER} is not in trusted_proxies"),
        "the server still serves, and logged the refusal", f"{st}")

    # RESP.
    got, s = resp_ping(rport, v1("192.0.2.50", 50))
    t.ok(got == b"+PONG\r\n", "RESP PING after a PROXY v1 header", f"{got}")
    got2, s2 = resp_ping(rport, v1("192.0.2.50", 51))
    t.ok(got2.startswith(b"-ERR max number of clients"), "RESP: "
        "max_connections_per_ip counts the v1 source address", f"{got2}")
    s2.close()
    got3, s3 = resp_ping(rport, v2("2001:db8::50", 52))
    t.ok(got3 == b"+PONG\r\n", "RESP PING after a PROXY v2 header (IPv6), "
        "another source", f"{got3}")
    s.close()
    s3.close()
    ping = b"*1\r\n$4\r\nPING\r\n"
    for desc, data in [("no PROXY header", ping),
            ("a bad v1 header", b"PROXY TCP9 x\r\n" + ping),
            ("a bad v2 header", V2SIG + b"\x21\x11\x00\x01x" + ping),
            ("a truncated header, then silence", V2SIG[:7])]:
        t.ok(closed_silently(rport, data), f"RESP: {desc}: closed "
            "without an answer")
    t.ok(closed_silently(rport, v1("192.0.2.51") + ping, source=STRANGER),
        "RESP: a PROXY header from a peer not in trusted_proxies: closed")
    rc = d.stop()
    t.ok(rc == 0, "tickd stops cleanly", f"{rc}")

    bad_conf = Daemon("ppconf", listen_proxy_protocol="yes")
    bad_conf.write_conf()
    rc, err = bad_conf.check_config()
    t.ok(rc != 0 and "needs trusted_proxies" in err, "a PROXY listener "
        "without trusted_proxies is a configuration error", err)


def tls_get(port, header, body):
    """After header, TLS from PROXY, then one request; the answer."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.socket()
    s.settimeout(10)
    s.bind((PROXY, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(header)
    with ctx.wrap_socket(s) as ts:
        ts.sendall(body)
        got = b""
        while True:
            chunk = ts.recv(4096)
            if not chunk:
                break
            got += chunk
    return got


def part_tls(t):
    """A TLS listener with the PROXY protocol."""
    d = Daemon("pptls", trusted_proxies=PROXY, listen_proxy_protocol="yes")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout",
        "key.pem", "-out", "cert.pem"], cwd=d.dir, check=True,
        capture_output=True, timeout=60)
    d.conf["tls_cert"] = os.path.join(d.dir, "cert.pem")
    d.conf["tls_key"] = os.path.join(d.dir, "key.pem")
    d.start(ready=False)
    login = json.dumps({"user": "tlsuser", "password": "wrong"})
    req_bytes = ("POST /v1/login HTTP/1.1\r\nHost: x\r\nConnection: close"
        "\r\nContent-Type: application/json\r\nContent-Length: "
        f"{len(login)}\r\n\r\n{login}").encode()
    deadline = time.monotonic() + 10
    got = b""
    while time.monotonic() < deadline:
        try:
            got = tls_get(d.port, v2("192.0.2.60", 6060), req_bytes)
            break
        except (OSError, ssl.SSLError):
            time.sleep(0.1)
    t.ok(got.startswith(b"HTTP/1.1 401"), "TLS after a PROXY v2 header: "
        "the header is read before the handshake", f"{got[:100]!r}")
    t.ok(wait_log(d, "failed login for tlsuser from 192.0.2.60:6060"),
        "... and the log names the PROXY source")
    d.stop()


def audit_skip_reason():
    """Why the audit rows cannot be checked here, or None."""
    if audit_pg.built_without_postgresql(os.environ["TICKD"]):
        return "tickd was built without PostgreSQL support"
    if audit_pg.pg_bindir() is None:
        return "no PostgreSQL server binaries (Debian package postgresql)"
    if os.geteuid() == 0:
        try:
            audit_pg.pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no user postgres"
    return None


async def part_audit(t):
    """Audit rows (tickd-audit(7)) hold the client behind the proxy."""
    with audit_pg.pg_cluster(t) as pg:
        plain = free_port()
        d = Daemon("ppaudit", audit_pg=f'"{pg.conninfo()}"',
            audit_backoff_max="1s", audit_timeout="5s",
            trusted_proxies=PROXY, listen_plain=f"127.0.0.1:{plain}",
            listen_plain_proxy_protocol="yes")
        d.start()
        st, _ = req(d, "POST", "/v1/register", {"user": "au", "password":
            "pw-long-enough"}, {"X-Forwarded-For": "192.0.2.90"}, PROXY)
        st2, body = req(d, "POST", "/v1/login", {"user": "au", "password":
            "pw-long-enough"}, {"X-Forwarded-For": "192.0.2.91"}, PROXY)
        tok = json.loads(body)["token"] if st2 == 200 else ""
        ws = await websockets.connect(f"ws://127.0.0.1:{d.port}/v1/ws",
            extra_headers={"Authorization": f"Bearer {tok}",
            "X-Forwarded-For": "2001:db8::92"}, local_addr=(PROXY, 0),
            compression=None, ping_interval=None, close_timeout=2)
        await asyncio.wait_for(ws.recv(), 5)
        await ws.close()
        st3, _ = proxied(plain, v1("192.0.2.93", 9393), "POST",
            "/v1/login", {"user": "au", "password": "wrong"})
        n = 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and n < 5:
            n = int(pg.query("SELECT count(*) FROM tickd_events")[0][0])
            time.sleep(0.1)
        rows = pg.query("SELECT kind, host(address), "
            "coalesce(detail->>'port', '') FROM tickd_events "
            "ORDER BY event_id")
        kinds = {(r[0], r[1]) for r in rows}
        t.ok(st == 201 and st2 == 200 and ("register", "192.0.2.90") in
            kinds and ["login", "192.0.2.91", ""] in [list(r) for r in rows],
            "audit rows of a registration and a login behind a trusted "
            "proxy hold the X-Forwarded-For client, and no port",
            f"{st} {st2} {rows}")
        t.ok(("connect", "2001:db8::92") in kinds, "... and the WebSocket "
            "connect row", f"{rows}")
        t.ok(st3 == 401 and ["login_failed", "192.0.2.93", "9393"] in
            [list(r) for r in rows], "the login_failed row of a PROXY "
            "protocol connection holds its source address and port",
            f"{st3} {rows}")
        d.stop()


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{tickd};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Forwarded "";
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


async def part_nginx(t):
    """A real nginx in front, HTTP and WebSocket, X-Forwarded-For."""
    d = Daemon("behind-nginx", trusted_proxies="127.0.0.1", login_rate="20")
    d.start()
    ndir = tempfile.mkdtemp(prefix="tickd-nginx-")
    port = free_port()
    conf = os.path.join(ndir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=ndir, port=port, tickd=d.port))
    ng = subprocess.Popen([NGINX, "-p", ndir, "-c", conf, "-e",
        os.path.join(ndir, "error.log")], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        st = None
        while time.monotonic() < deadline and ng.poll() is None:
            try:
                st, _ = req(d, "GET", "/healthz", port=port)
                break
            except OSError:
                time.sleep(0.05)
        if st != 200:
            raise Failure(f"nginx did not come up ({st}): " +
                (ng.stderr.read().decode(errors="replace")
                 if ng.poll() is not None else "running"))
        t.ok(True, "nginx proxies GET /healthz to tickd")
        def one(i):
            """Registration i, from its own client address."""
            return req(d, "POST", "/v1/register", {"user": f"ng{i}",
                "password": "pw-long-enough"}, None, f"127.0.1.{i + 1}",
                port)[0]
        with concurrent.futures.ThreadPoolExecutor(25) as pool:
            sts = list(pool.map(one, range(25)))
        t.ok(sts == [201] * 25, "through nginx, 25 registrations from 25 "
            "client addresses: none refused by login_rate", f"{sts}")
        sts = registrations(d, "ngone", 25, lambda i: {"X-Forwarded-For":
            f"203.0.113.{i + 1}"}, source="127.0.2.1", port=port)
        t.ok(limited(sts), "through nginx, "
            "25 from one client forging X-Forwarded-For: login_rate "
            "refuses some (the forgery is left of nginx's hop)", f"{sts}")
        st, _ = req(d, "POST", "/v1/login", {"user": "ng0", "password":
            "wrong"}, {"X-Forwarded-For": "198.51.100.9"}, "127.0.3.7", port)
        t.ok(st == 401 and wait_log(d, "failed login for ng0 from "
            "127.0.3.7") and not log_has(d, "from 198.51.100.9"),
            "the failed-login line names the client nginx saw", f"{st}")

        st, body = req(d, "POST", "/v1/login", {"user": "ng1", "password":
            "pw-long-enough"}, None, "127.0.4.1", port)
        tok = json.loads(body).get("token") if st == 200 else None
        st2, body2 = req(d, "POST", "/v1/login", {"user": "ng2",
            "password": "pw-long-enough"}, None, "127.0.4.2", port)
        tok2 = json.loads(body2).get("token") if st2 == 200 else None
        t.ok(tok and tok2 and wait_log(d, "from 127.0.4.1"),
            "logins through nginx are logged with the client address",
            f"{st} {st2}")
        proxied_d = type("D", (), {"port": port})()
        a = await Client.connect(proxied_d, tok, name="ng1")
        b = await Client.connect(proxied_d, tok2, name="ng2")
        r = await a.request({"op": "send", "to": "ng2", "id": "n1",
            "body": "through nginx", "ref": 1})
        got = await b.collect("msg", quiet=0.5)
        t.ok(r.get("op") == "sent" and [m.get("body") for m in got] ==
            ["through nginx"], "WebSocket upgrade through nginx: a message "
            "goes from one client to the other", f"{r!r} {got!r}")
        p = await a.request({"op": "ping", "ref": "p"})
        t.ok(p.get("op") == "pong", "... and a ping is answered", f"{p!r}")
        await a.close()
        await b.close()
    finally:
        ng.terminate()
        try:
            ng.wait(10)
        except subprocess.TimeoutExpired:
            ng.kill()
            ng.wait()
        if not os.environ.get("TICKD_KEEP_TMP"):
            shutil.rmtree(ndir, ignore_errors=True)
    d.stop()


NGINX_TESTS = 7


HEADER_TESTS = 13
SLOW = "under valgrind: about a hundred password hashes take too long"


async def main(t):
    """Every part, nginx's only where nginx is installed; under valgrind
    only the PROXY protocol parts, which hash few passwords."""
    if VALGRIND:
        for _ in range(HEADER_TESTS):
            t.skip("forwarded headers", SLOW)
    else:
        part_headers(t)
    part_proxy_protocol(t)
    part_tls(t)
    if VALGRIND:
        for _ in range(3 + NGINX_TESTS):
            t.skip("audit rows and nginx", SLOW)
        return
    why = audit_skip_reason()
    if why is not None:
        for _ in range(3):
            t.skip("audit rows behind a proxy", why)
    else:
        await part_audit(t)
    if NGINX is None:
        for _ in range(NGINX_TESTS):
            t.skip("nginx in front", "nginx is not installed (Debian: "
                "apt-get install nginx-light)")
    else:
        await part_nginx(t)


run(main, 58, timeout=170)
