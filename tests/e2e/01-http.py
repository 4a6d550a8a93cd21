#!/usr/bin/python3
# The HTTP side of tickd-protocol(7) TRANSPORT: register, login, logout,
# last-seen, healthz, metrics, and the error bodies of each.

import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

MAX_REQUEST = 8192
TOKEN_TTL = 3600 * 1000

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{\s*(?:[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*"(?:\\.|[^"\\])*"\s*,?\s*)*\}'
VALUE = r"(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)"
SAMPLE = re.compile(rf"^({NAME})(?:{LABELS})?[ \t]+{VALUE}(?:[ \t]+-?\d+)?$")
TYPE = re.compile(
    rf"^# TYPE {NAME} (counter|gauge|histogram|summary|untyped)$")
HELP = re.compile(rf"^# HELP {NAME}( .*)?$")


def error_is(r, status, code):
    """True if r is `status {"error":code,"message":<string>}`."""
    return (r.status == status and r.error == code and
        isinstance(r.json.get("message"), str))


def prometheus_problems(r):
    probs = []
    if r.status != 200:
        return [f"status {r.status}"]
    ctype = r.headers.get("Content-Type", "")
    if not ctype.startswith("text/plain"):
        probs.append(f"Content-Type {ctype!r} is not text/plain")
    samples = 0
    for line in r.raw.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE"):
            ok = TYPE.match(line)
        elif line.startswith("# HELP"):
            ok = HELP.match(line)
        elif line.startswith("#"):
            ok = True
        else:
            ok = SAMPLE.match(line)
            samples += 1
        if not ok:
            probs.append(f"not exposition format: {line!r}")
    if samples == 0:
        probs.append("no samples at all")
    return probs


def oversized(d, size):
    """POST a body of size bytes; the parsed response or a reason."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    head = ("POST /v1/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n")
    body = b'{"user":"big","password":"'
    body += b"x" * (size - len(body) - 2) + b'"}'
    data = b""
    try:
        s.sendall(head.encode())
        # A server may answer from the head alone; send the body only
        # when it did not, so that a reset cannot eat its answer.
        s.settimeout(1)
        try:
            data = s.recv(65536)
        except socket.timeout:
            s.sendall(body)
        s.settimeout(5)
        while True:
            if b"\r\n\r\n" in data:
                h, b = data.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", h)
                if m and len(b) >= int(m.group(1)):
                    break
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        if not data:
            return None, f"no response: {e}"
    finally:
        s.close()
    if b"\r\n\r\n" not in data:
        return None, f"incomplete response {data[:200]!r}"
    h, b = data.split(b"\r\n\r\n", 1)
    try:
        status = int(h.split()[1])
    except (IndexError, ValueError):
        return None, f"bad status line {h[:100]!r}"
    return Resp(status, b, {}), None


async def main(t):
    with Daemon(token_ttl="1h", max_request_bytes=MAX_REQUEST) as d:
        r = register(d, "alice")
        t.ok(r.status == 201 and r.json == {"user": "alice"},
            "register answers 201 {user}", f"got {r!r}")

        r = register(d, "alice", "another-password")
        t.ok(error_is(r, 409, "name_taken"),
            "registering a taken name answers 409 name_taken", f"got {r!r}")

        probs = []
        for name in ["+4915112345678", "a", "x" * 64, "a.b_c+d-9"]:
            r = register(d, name)
            if r.status != 201 or r.json != {"user": name}:
                probs.append(f"{name!r}: {r!r}")
        t.ok(not probs, "valid user names are accepted", probs)

        probs = []
        for name in ["", "Alice", "a b", "x" * 65, "#team", "al/ice",
                "\u00e9t\u00e9", "al:ice", 5, None, ["a"]]:
            r = http_request(d, "POST", "/v1/register",
                {"user": name, "password": "secret"})
            if not error_is(r, 400, "bad_request"):
                probs.append(f"{name!r}: {r!r}")
        t.ok(not probs, "bad user names answer 400 bad_request", probs)

        probs = []
        for body in [{"user": "carol"}, {"user": "carol", "password": 5},
                {"password": "secret"}]:
            r = http_request(d, "POST", "/v1/register", body)
            if not error_is(r, 400, "bad_request"):
                probs.append(f"{body!r}: {r!r}")
        t.ok(not probs, "missing or mistyped members answer 400 bad_request",
            probs)

        probs = []
        for path in ["/v1/register", "/v1/login"]:
            for body in ['{"user":', "user=alice&password=x", "{}}"]:
                r = http_request(d, "POST", path, body)
                if not error_is(r, 400, "bad_json"):
                    probs.append(f"{path} {body!r}: {r!r}")
        t.ok(not probs, "bodies that are not JSON answer 400 bad_json", probs)

        before = now_ms()
        r = login(d, "alice")
        after = now_ms()
        j = r.json if isinstance(r.json, dict) else {}
        probs = []
        if r.status != 200:
            probs.append(f"status {r.status}")
        if not isinstance(j.get("token"), str) or not j.get("token"):
            probs.append("no token string")
        if j.get("user") != "alice" or j.get("device") != "default":
            probs.append("user/device not alice/default")
        exp = j.get("expires")
        lo, hi = before + TOKEN_TTL - 60000, after + TOKEN_TTL + 60000
        if not isinstance(exp, int) or not lo <= exp <= hi:
            probs.append(f"expires {exp!r} is not now + token_ttl (1h) "
                f"in Unix ms (now {before})")
        t.ok(not probs, "login answers 200 {token,user,device,expires}",
            probs + [f"got {r!r}"])

        bad_pw = login(d, "alice", "wrong-password")
        no_user = login(d, "nobody", "wrong-password")
        t.ok(error_is(bad_pw, 401, "bad_credentials") and
            error_is(no_user, 401, "bad_credentials") and
            bad_pw.raw == no_user.raw,
            "wrong password and unknown user: 401 bad_credentials, "
            "identical bodies",
            f"wrong password: {bad_pw!r}\nunknown user:   {no_user!r}")

        probs = []
        for dev in ["", "Phone", "x" * 33, "a/b", "a+b", "#x", 7]:
            r = login(d, "alice", device=dev)
            if not error_is(r, 400, "bad_request"):
                probs.append(f"{dev!r}: {r!r}")
        r = login(d, "alice", device="x" * 32)
        if r.status != 200 or (r.json or {}).get("device") != "x" * 32:
            probs.append(f"32-byte device refused: {r!r}")
        t.ok(not probs, "bad device names answer 400 bad_request", probs)

        r = http_request(d, "GET", "/healthz")
        t.eq(r.status, 200, "healthz answers 200")

        r = http_request(d, "GET", "/metrics")
        probs = prometheus_problems(r)
        t.ok(not probs, "metrics is Prometheus text", probs +
            [f"got {r.raw[:500]!r}"])

        r, why = oversized(d, 2 * MAX_REQUEST)
        t.ok(r is not None and error_is(r, 413, "too_large"),
            "a body over max_request_bytes answers 413 too_large",
            why or f"got {r!r}")

        r = http_request(d, "GET", "/v1/no-such-path")
        t.eq(r.status, 404, "an unknown path answers 404")

        # logout: 204, and the token dies at once, open connection too
        tok = token_for(d, "alice", "tablet")
        c = await Client.connect(d, tok, name="tablet")
        r = logout(d, tok)
        t.eq(r.status, 204, "logout answers 204")
        code = await c.wait_closed(3)
        t.ok(code is not None,
            "logout closes the device's open WebSocket at once",
            f"still open 3 s after logout; frames {c.pending!r}")

        c = await Client.connect(d, tok, ready=False, name="after-logout")
        f = await c.recv_op(("error", "ready"), 3)
        code = await c.wait_closed(3)
        t.ok(f is not None and f.get("op") == "error" and
            f.get("code") == "bad_token" and code == 1008,
            "a logged-out token gets error bad_token, then close 1008",
            f"frame {f!r}, close code {code!r}")

        r1 = logout(d, tok)
        r2 = http_request(d, "POST", "/v1/logout")
        r3 = logout(d, "0" * 64)
        t.ok(all(error_is(r, 401, "not_authenticated") for r in (r1, r2, r3)),
            "logout with a dead, missing or bad token: 401 not_authenticated",
            f"dead {r1!r}\nmissing {r2!r}\nbad {r3!r}")

        # last-seen, tickd-protocol(7) TRANSPORT and BLOCKING, PRESENCE AND
        # TYPING
        ta = token_for(d, "alice")
        token_for(d, "bob", new=True)
        r1 = http_request(d, "GET", "/v1/users/bob/last-seen")
        r2 = http_request(d, "GET", "/v1/users/bob/last-seen", token="0" * 64)
        r3 = http_request(d, "GET", "/v1/users/nobody/last-seen", token=ta)
        r4 = http_request(d, "GET", "/v1/users/bob/last-seen", token=ta)
        t.ok(error_is(r1, 401, "not_authenticated") and
            error_is(r2, 401, "not_authenticated") and
            error_is(r3, 404, "no_such_user") and r4.status == 200 and
            r4.json == {"user": "bob", "online": False, "last_seen": None},
            "last-seen: 401 without token, 404 no_such_user, "
            "null for a user never seen",
            f"no token {r1!r}\nbad token {r2!r}\nunknown {r3!r}\n"
            f"never seen {r4!r}")

        tb = token_for(d, "bob")
        cb = await Client.connect(d, tb, name="bob")
        online = http_request(d, "GET", "/v1/users/bob/last-seen", token=ta)
        closed_at = now_ms()
        await cb.close()
        offline = None
        for _ in range(30):
            offline = http_request(d, "GET", "/v1/users/bob/last-seen",
                token=ta)
            if isinstance(offline.json, dict) and \
                    offline.json.get("online") is False:
                break
            time.sleep(0.1)
        oj = offline.json if isinstance(offline.json, dict) else {}
        ls = oj.get("last_seen")
        t.ok(online.json == {"user": "bob", "online": True,
            "last_seen": None} and offline.status == 200 and
            oj.get("online") is False and isinstance(ls, int) and
            closed_at - 1000 <= ls <= now_ms() + 1000,
            "last-seen: online with null while connected, "
            "then the time it went offline",
            f"online: {online!r}\nafter close at {closed_at}: {offline!r}")

        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")

    with Daemon(name="closed", registration="closed") as d2:
        r = register(d2, "dave")
        r2 = login(d2, "dave")
        t.ok(error_is(r, 403, "registration_closed") and
            error_is(r2, 401, "bad_credentials"),
            "registration closed: 403 registration_closed, no account made",
            f"register {r!r}\nlogin {r2!r}")


run(main, 21)
