#!/usr/bin/python3
# Static files of web_root, tickd-protocol(7) WEB CLIENT: content types, ETag
# and 304, the security headers, HEAD, index.html, no listing, and every way
# out of web_root refused: ".." raw and percent-encoded, NUL, symbolic links.

import hashlib
import http.client
import os
import socket
import ssl
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

CSP = ("default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; "
    "frame-ancestors 'none'")
TYPES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "mod.mjs": "text/javascript",
    "style.css": "text/css",
    "data.json": "application/json",
    "pic.svg": "image/svg+xml",
    "pic.png": "image/png",
    "pic.jpg": "image/jpeg",
    "pic.webp": "image/webp",
    "favicon.ico": "image/x-icon",
    "code.wasm": "application/wasm",
    "font.woff2": "font/woff2",
    "notes.txt": "text/plain",
    "thing.xyz": "application/octet-stream",
    "noext": "application/octet-stream",
    "UPPER.HTML": "text/html",
}
SECRET = b"outside web_root\n"


def make_tree(base):
    """web_root with one file per type, a subdirectory with index.html, one
    without, a big file, and symbolic links in and out."""
    root = os.path.join(base, "www")
    out = os.path.join(base, "outside")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(root, "nolist"))
    os.makedirs(out)
    for name in TYPES:
        with open(os.path.join(root, name), "wb") as f:
            f.write(f"file {name}\n".encode())
    with open(os.path.join(root, "sub", "index.html"), "wb") as f:
        f.write(b"<p>sub index</p>\n")
    with open(os.path.join(root, "nolist", "a.txt"), "wb") as f:
        f.write(b"a\n")
    with open(os.path.join(root, "empty.txt"), "wb"):
        pass
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 7))
    with open(os.path.join(base, "secret.txt"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(out, "secret.txt"), "wb") as f:
        f.write(SECRET)
    os.symlink("../secret.txt", os.path.join(root, "link-out.txt"))
    os.symlink(out, os.path.join(root, "dir-out"))
    os.symlink("/etc/passwd", os.path.join(root, "passwd"))
    os.symlink("index.html", os.path.join(root, "link-in.html"))
    os.symlink("sub", os.path.join(root, "sub-link"))
    return root


def get(d, path, method="GET", headers=None):
    """One request with the path sent exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return Resp(r.status, r.read(), r.headers)
    finally:
        conn.close()


def raw_request(d, line):
    """Sends bytes as a request line (NUL included); the status code."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
        s.sendall(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else None
    return status, body


def is_refusal(r):
    return r.status == 404 and r.error == "bad_request"


def header_problems(r):
    probs = []
    if not (r.headers.get("ETag") or "").startswith('"'):
        probs.append(f"ETag {r.headers.get('ETag')!r}")
    if r.headers.get("Cache-Control") != "no-cache":
        probs.append(f"Cache-Control {r.headers.get('Cache-Control')!r}")
    if r.headers.get("X-Content-Type-Options") != "nosniff":
        probs.append("X-Content-Type-Options "
            f"{r.headers.get('X-Content-Type-Options')!r}")
    if r.headers.get("Content-Security-Policy") != CSP:
        probs.append("Content-Security-Policy "
            f"{r.headers.get('Content-Security-Policy')!r}")
    return probs


async def main(t):
    base = tempfile.mkdtemp(prefix="tickd-web-")
    root = make_tree(base)
    try:
        await checks(t, base, root)
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def checks(t, base, root):
    with Daemon(web_root=f'"{root}"') as d:
        r = get(d, "/")
        with open(os.path.join(root, "index.html"), "rb") as f:
            index = f.read()
        t.ok(r.status == 200 and r.raw == index and
            r.headers.get("Content-Type", "").startswith("text/html"),
            "GET / serves web_root/index.html as text/html", repr(r))

        bad = []
        for name, want in TYPES.items():
            r = get(d, "/" + name)
            ctype = r.headers.get("Content-Type", "")
            if r.status != 200 or ctype.split(";")[0].strip() != want or \
                    r.raw != f"file {name}\n".encode():
                bad.append(f"{name}: {r.status} {ctype!r} {r.raw[:40]!r}")
        t.ok(not bad, "Content-Type follows the extension, any other is "
            "application/octet-stream", bad)

        r = get(d, "/app.js")
        t.ok(r.status == 200 and not header_problems(r),
            "a file carries ETag, Cache-Control no-cache, nosniff and the "
            "exact CSP", header_problems(r))
        etag = r.headers.get("ETag")

        r304 = get(d, "/app.js", headers={"If-None-Match": etag})
        t.ok(r304.status == 304 and r304.raw == b"" and
            r304.headers.get("ETag") == etag and not header_problems(r304),
            "If-None-Match naming the ETag is 304 without a body, with the "
            "same headers", f"{r304!r} {dict(r304.headers)!r}")
        rl = get(d, "/app.js", headers={"If-None-Match":
            f'"nope", W/{etag}'})
        rs = get(d, "/app.js", headers={"If-None-Match": "*"})
        ro = get(d, "/app.js", headers={"If-None-Match": '"other"'})
        t.ok(rl.status == 304 and rs.status == 304 and ro.status == 200 and
            ro.raw == b"file app.js\n",
            "If-None-Match: a list naming it or * is 304, another tag 200",
            f"list {rl!r} star {rs!r} other {ro!r}")

        os.utime(os.path.join(root, "app.js"), (1, 1))
        rc = get(d, "/app.js", headers={"If-None-Match": etag})
        t.ok(rc.status == 200 and rc.headers.get("ETag") != etag,
            "a changed file gets a new ETag and the old one gets 200", rc)

        rh = get(d, "/index.html", method="HEAD")
        t.ok(rh.status == 200 and rh.raw == b"" and
            rh.headers.get("Content-Length") == str(len(index)) and
            rh.headers.get("Content-Type", "").startswith("text/html") and
            not header_problems(rh),
            "HEAD answers the headers and Content-Length of GET, no body",
            f"{rh!r} {dict(rh.headers)!r}")
        rh = get(d, "/missing.html", method="HEAD")
        t.eq(rh.status, 404, "HEAD of a missing file is 404")

        r = get(d, "/sub/")
        r2 = get(d, "/sub-link/")
        t.ok(r.status == 200 and r.raw == b"<p>sub index</p>\n" and
            r.headers.get("Content-Type", "").startswith("text/html") and
            r2.status == 200 and r2.raw == r.raw,
            "a path ending in / serves that directory's index.html",
            f"{r!r} {r2!r}")

        rd, rn, rm = get(d, "/nolist/"), get(d, "/nolist"), get(d, "/sub")
        t.ok(is_refusal(rd) and is_refusal(rn) and is_refusal(rm) and
            b"a.txt" not in rd.raw + rn.raw,
            "no directory listing: a directory without index.html, or named "
            "without /, is 404 bad_request", f"{rd!r} {rn!r} {rm!r}")

        r = get(d, "/no-such-file.js")
        t.ok(is_refusal(r) and isinstance(r.json.get("message"), str),
            "a missing file is 404 bad_request", r)

        raw = ["/../secret.txt", "/../../../../../../etc/passwd",
            "/sub/../../secret.txt", "/sub/../index.html", "/..",
            "/sub/..", "/dir-out/../index.html"]
        bad = [f"{p}: {r!r}" for p in raw
            if not is_refusal(r := get(d, p)) or SECRET in r.raw]
        t.ok(not bad, "a raw .. segment is 404 bad_request, even one that "
            "stays inside", bad)

        enc = ["/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
            "/%2e%2e%2fsecret.txt", "/sub/%2e%2e/%2e%2e/secret.txt",
            "/..%2fsecret.txt", "/%2e./secret.txt", "/.%2e/secret.txt",
            "/sub%2f..%2f..%2fsecret.txt", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd"]
        bad = [f"{p}: {r!r}" for p in enc
            if not is_refusal(r := get(d, p)) or SECRET in r.raw]
        t.ok(not bad, "a percent-encoded .. is 404 bad_request", bad)

        nul = ["/index.html%00", "/index.html%00.txt", "/%00"]
        bad = [f"{p}: {r!r}" for p in nul if not is_refusal(r := get(d, p))]
        st, body = raw_request(d, b"GET /index.html\x00.txt HTTP/1.1")
        if st not in (400, 404):
            bad.append(f"raw NUL: {st} {body[:80]!r}")
        for p in ["/%zz", "/%2", "/a%"]:
            if not is_refusal(r := get(d, p)):
                bad.append(f"{p}: {r!r}")
        t.ok(not bad, "a NUL, raw or %00, and a bad escape are refused",
            bad)

        ro, rd, rp = (get(d, "/link-out.txt"), get(d, "/dir-out/secret.txt"),
            get(d, "/passwd"))
        t.ok(is_refusal(ro) and is_refusal(rd) and is_refusal(rp) and
            SECRET not in ro.raw + rd.raw and b"root:" not in rp.raw,
            "a symbolic link out of web_root (file or directory) is 404 "
            "bad_request", f"{ro!r} {rd!r} {rp!r}")
        r = get(d, "/link-in.html")
        t.ok(r.status == 200 and r.raw == index,
            "a symbolic link that stays inside web_root is served", r)

        r = get(d, "/%69ndex.%68tml")
        t.ok(r.status == 200 and r.raw == index and
            r.headers.get("Content-Type", "").startswith("text/html"),
            "a percent-encoded ordinary path is decoded, its type too", r)

        with open(os.path.join(root, "big.bin"), "rb") as f:
            big = f.read()
        r = get(d, "/big.bin")
        t.ok(r.status == 200 and
            hashlib.sha256(r.raw).digest() == hashlib.sha256(big).digest()
            and r.headers.get("Content-Length") == str(len(big)),
            "a 3 MB file arrives whole with its Content-Length",
            f"{r.status} {len(r.raw)} of {len(big)}")
        r = get(d, "/empty.txt")
        t.ok(r.status == 200 and r.raw == b"" and
            r.headers.get("Content-Length") == "0",
            "an empty file is 200 with Content-Length 0", r)

        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        got = []
        try:
            for p, h in (("/app.js", {}), ("/style.css", {}),
                    ("/app.js", {"If-None-Match": rc.headers["ETag"]}),
                    ("/nope", {}), ("/index.html", {})):
                conn.request("GET", p, headers=h)
                x = conn.getresponse()
                got.append((x.status, x.read()))
        finally:
            conn.close()
        t.ok([s for s, _ in got] == [200, 200, 304, 404, 200] and
            got[1][1] == b"file style.css\n" and got[4][1] == index,
            "five requests on one kept-alive connection are answered in "
            "order", got)

        # A logout's answer waits for its commit; a file asked for behind
        # it on the same connection must not overtake it.
        tok = token_for(d, "alice", new=True)
        with socket.create_connection(("127.0.0.1", d.port), timeout=10) \
                as sk:
            sk.sendall(f"POST /v1/logout HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {tok}\r\nContent-Length: 0\r\n"
                f"\r\nGET /style.css HTTP/1.1\r\nHost: x\r\n"
                f"Connection: close\r\n\r\n".encode())
            data = b""
            while (chunk := sk.recv(65536)):
                data += chunk
        first, second = data.find(b"HTTP/1.1 204"), data.find(b"HTTP/1.1 200")
        t.ok(0 == first < second and data.endswith(b"file style.css\n"),
            "a file asked for behind a logout on one connection comes after "
            "the logout's 204", data[:400])

        rp = get(d, "/index.html", method="POST")
        t.ok(rp.status == 405 and rp.error == "bad_request",
            "POST to a web path is 405 bad_request", rp)
        rv = get(d, "/v1/index.html")
        rz = get(d, "/healthz")
        rm = get(d, "/metrics")
        t.ok(is_refusal(rv) and rz.status == 200 and rz.raw == b"ok\n" and
            rm.status == 200 and b"# TYPE" in rm.raw and
            rv.headers.get("Content-Security-Policy") is None,
            "/v1/, /healthz and /metrics stay the API", f"{rv!r} {rz!r}")

    # Over TLS the file segments go through OpenSSL, not sendfile.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", "tls.key",
        "-out", "tls.pem"], cwd=base, check=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    ctx = ssl.create_default_context(cafile=os.path.join(base, "tls.pem"))
    d = Daemon("tls", web_root=f'"{root}"',
        tls_cert=os.path.join(base, "tls.pem"),
        tls_key=os.path.join(base, "tls.key"))
    d.start(ready=False)
    try:
        got = None
        for _ in range(200):
            try:
                c = http.client.HTTPSConnection("127.0.0.1", d.port,
                    context=ctx, timeout=10)
                c.request("GET", "/big.bin")
                r = c.getresponse()
                got = (r.status, r.read())
                c.close()
                break
            except OSError:
                time.sleep(0.05)
        t.ok(got is not None and got[0] == 200 and
            hashlib.sha256(got[1]).digest() == hashlib.sha256(big).digest(),
            "over TLS the 3 MB file arrives whole",
            f"{got[0] if got else None} {len(got[1]) if got else 0}")
    finally:
        d.cleanup()

    with Daemon() as d:
        ri, rf = get(d, "/"), get(d, "/index.html")
        t.ok(is_refusal(ri) and is_refusal(rf),
            "without web_root every such path is 404 bad_request",
            f"{ri!r} {rf!r}")

    d = Daemon(web_root=f'"{os.path.join(base, "nonexistent")}"')
    d.start(ready=False)
    rc = d.wait(10)
    t.ok(rc not in (0, "hung") and "web_root" in d.tail(),
        "tickd refuses to start with a web_root that does not exist",
        f"exit {rc}\n{d.tail()}")
    d.cleanup()


run(main, 26)
