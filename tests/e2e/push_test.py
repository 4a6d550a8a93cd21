"""
push_test.py: a real HTTP receiver on loopback for the push tests
(80-push-*.py), standing for a UnifiedPush distributor (ntfy, NextPush)
and for a webhook receiver: Python's http.server in a thread.

Each path has a script of answers: a list of statuses (or ("hang", s),
("trickle", status), ("huge", status), (status, {headers})) used one per
POST, the last repeated.  GET answers the UnifiedPush discovery unless
the path's discovery is set otherwise.  Every POST is recorded with its
time, headers and body.
"""

import http.server
import json
import os
import socket
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DISCOVERY = b'{"unifiedpush":{"version":1}}'


class Post:
    def __init__(self, path, headers, body):
        self.at = time.monotonic()
        self.path = path
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Receiver:
    """The receiver; a context manager.  url(path) is an endpoint."""

    def __init__(self):
        self.posts = []
        self.gets = []
        self.script = {}
        self.discovery = {}
        self.lock = threading.Lock()
        self.open = 0
        self.max_open = 0
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                with rec.lock:
                    rec.open += 1
                    rec.max_open = max(rec.max_open, rec.open)

            def finish(self):
                try:
                    super().finish()
                finally:
                    with rec.lock:
                        rec.open -= 1

            def reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with rec.lock:
                    rec.gets.append(self.path)
                    how = rec.discovery.get(self.path, (200, DISCOVERY))
                if how == "hang":
                    time.sleep(30)
                    return
                self.reply(how[0], how[1])

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with rec.lock:
                    rec.posts.append(Post(self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body))
                    steps = rec.script.get(self.path, [200])
                    step = steps.pop(0) if len(steps) > 1 else steps[0]
                self.act(step)

            def act(self, step):
                if isinstance(step, int):
                    self.reply(step)
                elif step[0] == "hang":
                    time.sleep(step[1])
                    self.close_connection = True
                elif step[0] == "trickle":
                    # The answer itself, a byte at a time.
                    head = (f"HTTP/1.1 {step[1]} OK\r\nContent-Length: "
                        f"0\r\n\r\n").encode()
                    try:
                        for i in range(len(head)):
                            self.wfile.write(head[i:i + 1])
                            self.wfile.flush()
                            time.sleep(0.5)
                    except OSError:
                        pass
                    self.close_connection = True
                elif step[0] == "huge":
                    self.send_response(step[1])
                    self.send_header("Content-Length", str(1 << 30))
                    self.end_headers()
                    chunk = b"y" * 65536
                    try:
                        for _ in range((1 << 30) // len(chunk)):
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                    self.close_connection = True
                else:
                    self.reply(step[0], b"", step[1])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
            Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
            daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path, *steps):
        with self.lock:
            self.script[path] = list(steps)

    def to(self, path):
        with self.lock:
            return [p for p in self.posts if p.path == path]

    def wait(self, path, n, timeout=5.0):
        """POSTs to path once there are n (or at timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(path)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        return self.to(path)


def wait_idle(d, timeout=10):
    """Waits until tickd has no notification pending: a message that
    arrives while a POST is under way joins that POST (tickd-protocol(7)
    PUSH), so a test wanting a POST of its own waits for this first."""
    from tickd_test import metrics
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics(d).get("tickd_push_pending") == 0:
            return True
        time.sleep(0.05)
    return False


async def push_setup(d, r, user, device, path, new=False, **extra):
    """Registers user:device (user first if new) on the receiver's path,
    then leaves it offline: its token."""
    from tickd_test import Client, Failure, token_for
    tok = token_for(d, user, device, new=new)
    c = await Client.connect(d, tok, name=f"{user}/{device}")
    rep = await c.request(dict({"op": "push_register",
        "endpoint": r.url(path), "ref": 1}, **extra))
    await c.close()
    if rep != {"op": "ok", "ref": 1}:
        raise Failure(f"push_register of {user}:{device}: {rep!r}")
    return tok


def need_push():
    """Exit 77 (skip) in a tickd configured --without-push (TICKD_PUSH
    "no", set by make check)."""
    if os.environ.get("TICKD_PUSH") == "no":
        print("1..0 # SKIP tickd was built without push")
        raise SystemExit(77)


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UA:
    """A user agent's RFC 8291 keys: p256dh and auth, and decryption."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pub = self.key.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)

    def p256dh(self):
        return b64u(self.pub)

    def auth64(self):
        return b64u(self.auth)

    def decrypt(self, body):
        """RFC 8291 / RFC 8188 aes128gcm, one record: the plaintext."""
        salt, rs = body[:16], int.from_bytes(body[16:20], "big")
        idlen = body[20]
        as_pub = body[21:21 + idlen]
        rec = body[21 + idlen:]
        if rs < len(rec):
            raise ValueError("more than one record")
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
            as_pub)
        ecdh = self.key.exchange(ec.ECDH(), peer)
        ikm = HKDF(hashes.SHA256(), 32, self.auth,
            b"WebPush: info\0" + self.pub + as_pub).derive(ecdh)
        cek = HKDF(hashes.SHA256(), 16, salt,
            b"Content-Encoding: aes128gcm\0").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt,
            b"Content-Encoding: nonce\0").derive(ikm)
        plain = AESGCM(cek).decrypt(nonce, rec, None)
        plain = plain.rstrip(b"\0")
        if not plain.endswith(b"\2"):
            raise ValueError("no last-record delimiter")
        return plain[:-1]


def b64u(b):
    import base64
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
