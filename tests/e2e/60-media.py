#!/usr/bin/python3
# Media by HTTP upload, tickd-protocol(7) MEDIA:
# upload, download with every header of rule 6 and the ranges of rule 7
# (http.client and curl), DELETE, quota, references by send and msg with
# expiry after media_ttl, every bad-input row, the head checks of rule 8
# (100-continue, 413 unread, media_timeout), sizes 0, 1, max and max + 1,
# and tickd's memory during a large upload.

import hashlib
import os
import socket
import ssl
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

CSP = "default-src 'none'; sandbox"


def upload(d, token, data, ctype="image/png", headers=None):
    h = dict(headers or {})
    if ctype is not None:
        h["Content-Type"] = ctype
    return http_request(d, "POST", "/v1/media", body=data, token=token,
        headers=h)


def get(d, token, mid, method="GET", headers=None, query=False):
    path = f"/v1/media/{mid}"
    if query:
        path += f"?token={token}"
        token = None
    return http_request(d, method, path, token=token, headers=headers)


def raw(d, head, body=b"", read_timeout=5, wait_close=True):
    """Send bytes on a new connection; (all bytes read until close or
    timeout, whether the server closed)."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(head + body)
    s.settimeout(read_timeout)
    got, closed = b"", False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got += b
            if not wait_close and b"\r\n\r\n" in got:
                break
    except (socket.timeout, ConnectionResetError):
        closed = closed or False
    s.close()
    return got, closed


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def asan_build():
    """Whether tickd is built with AddressSanitizer, whose quarantine keeps
    freed memory and so makes heap growth meaningless."""
    with open(TICKD, "rb") as f:
        return b"__asan_init" in f.read()


def media_files(d):
    mdir = os.path.join(d.data_dir, "media")
    return sorted(f for f in os.listdir(mdir) if f != "tmp")


def tmp_files(d):
    return os.listdir(os.path.join(d.data_dir, "media", "tmp"))


def wait_for(cond, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


async def main(t):
    with Daemon(max_media_bytes="1m", media_quota="3m", media_min_free="0",
            media_ttl="1h", message_ttl="30d", media_rate="1000") as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        data = os.urandom(100000)
        sha = hashlib.sha256(data).hexdigest()

        # Upload and its 201 (the table of tickd-protocol(7) MEDIA).
        r = upload(d, ta, data)
        t.eq(r.status, 201, "upload: 201")
        j = r.json or {}
        mid = j.get("media", "")
        t.ok(isinstance(mid, str) and re.fullmatch(r"[A-Za-z0-9_-]{22}",
            mid) is not None, "the ID is 22 base64url characters", j)
        t.ok(j.get("url") == f"/v1/media/{mid}" and j.get("size") ==
            len(data) and j.get("type") == "image/png" and
            j.get("sha256") == sha and isinstance(j.get("ts"), int) and
            abs(j["ts"] - now_ms()) < 60000, "201 carries url, size, type, "
            "sha256, ts", j)
        t.eq(media_files(d), [sha], "the file is named by its SHA-256")

        # Rule 6: every header, bearer header or ?token=.
        r = get(d, tb, mid)
        h = r.headers
        t.ok(r.status == 200 and r.raw == data, "GET by anyone with the "
            "ID: 200 and the bytes", r.status)
        t.ok(h.get("Content-Type") == "image/png" and
            h.get("Content-Length") == str(len(data)) and
            h.get("ETag") == f'"{sha}"' and
            h.get("Cache-Control") ==
            "private, max-age=31536000, immutable" and
            h.get("Accept-Ranges") == "bytes" and
            h.get("X-Content-Type-Options") == "nosniff" and
            h.get("Content-Security-Policy") == CSP,
            "rule 6: every header", dict(h))
        r = get(d, tb, mid, query=True)
        t.ok(r.status == 200 and r.raw == data, "GET with ?token=")
        r = get(d, tb, mid, method="HEAD")
        t.ok(r.status == 200 and r.raw == b"" and
            r.headers.get("Content-Length") == str(len(data)) and
            r.headers.get("ETag") == f'"{sha}"', "HEAD: headers, no body")

        # Rule 7: ranges.
        r = get(d, tb, mid, headers={"Range": "bytes=10-19"})
        t.ok(r.status == 206 and r.raw == data[10:20] and
            r.headers.get("Content-Range") == f"bytes 10-19/{len(data)}",
            "Range a-b: 206 with Content-Range", r)
        r = get(d, tb, mid, headers={"Range": "bytes=99990-"})
        t.ok(r.status == 206 and r.raw == data[99990:] and
            r.headers.get("Content-Range") ==
            f"bytes 99990-99999/{len(data)}", "Range a-: 206")
        r = get(d, tb, mid, headers={"Range": "bytes=-5"})
        t.ok(r.status == 206 and r.raw == data[-5:], "Range -n: 206")
        r = get(d, tb, mid, headers={"Range": "bytes=0-0,5-9"})
        t.ok(r.status == 200 and r.raw == data, "several ranges: 200, "
            "whole file")
        r = get(d, tb, mid, headers={"Range": f"bytes={len(data)}-"})
        t.ok(r.status == 416 and r.error == "bad_range" and
            r.headers.get("Content-Range") == f"bytes */{len(data)}",
            "range beyond the end: 416 bad_range, Content-Range */SIZE", r)
        r = get(d, tb, mid, headers={"Range": "bytes=0-3",
            "If-Range": f'"{sha}"'})
        t.ok(r.status == 206 and r.raw == data[:4], "If-Range equal to the "
            "ETag keeps the range")
        r = get(d, tb, mid, headers={"Range": "bytes=0-3",
            "If-Range": '"other"'})
        t.ok(r.status == 200 and r.raw == data, "another If-Range: 200 "
            "whole")
        r = get(d, tb, mid, headers={"If-None-Match": f'"{sha}"'})
        t.ok(r.status == 304 and r.raw == b"", "If-None-Match naming the "
            "ETag: 304")
        r = get(d, tb, mid, headers={"If-None-Match": '"x"'})
        t.eq(r.status, 200, "If-None-Match naming another: 200")
        # curl, an independent client, for a range.
        url = f"http://127.0.0.1:{d.port}/v1/media/{mid}"
        cp = subprocess.run(["curl", "-s", "-f", "-r", "100-199", "-H",
            f"Authorization: Bearer {tb}", url], capture_output=True,
            timeout=20)
        t.ok(cp.returncode == 0 and cp.stdout == data[100:200],
            "curl -r 100-199 gets those bytes", cp.returncode)

        # Identical bytes: stored once, own ID, counted in full.
        r2 = upload(d, tb, data, ctype=None)
        j2 = r2.json or {}
        t.ok(r2.status == 201 and j2.get("media") != mid and
            j2.get("type") == "application/octet-stream" and
            media_files(d) == [sha], "same bytes by another user: new ID, "
            "default type, one file", r2)
        m = metrics(d)
        t.ok(m.get("tickd_media_files") == 1 and
            m.get("tickd_media_bytes") == len(data) and
            m.get("tickd_media_uploads_total") == 2, "metrics: files, "
            "bytes, uploads", {k: v for k, v in m.items() if "media" in k})

        # Bad input rows.
        r = upload(d, None, b"x")
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "upload without a token: 401 not_authenticated", r)
        r = upload(d, "0" * 64, b"x")
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "upload with a bad token: 401", r)
        r = get(d, None, mid)
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "GET without a token: 401", r)
        auth = f"Authorization: Bearer {ta}\r\n".encode()
        got, _ = raw(d, b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" + auth +
            b"Content-Type: image/png\r\n\r\n")
        t.ok(status_of(got) == 400 and b"bad_request" in got,
            "no Content-Length: 400 bad_request", got[:200])
        got, _ = raw(d, b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" + auth +
            b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n0\r\n\r\n")
        t.ok(status_of(got) == 400 and b"bad_request" in got,
            "chunked body: 400 bad_request", got[:200])
        r = upload(d, ta, b"")
        t.ok(r.status == 400 and r.error == "bad_request",
            "0 bytes (Content-Length: 0): 400 bad_request", r)
        for ct in ("image", "image/", "/png", "image/png x", "a" * 250 +
                "/" + "b" * 5):
            r = upload(d, ta, b"x", ctype=ct)
            t.ok(r.status == 400 and r.error == "bad_request",
                f"Content-Type {ct[:20]!r}: 400 bad_request", r)
        r = upload(d, ta, b"x", ctype="text/plain; charset=utf-8")
        t.ok(r.status == 201 and (r.json or {}).get("type") ==
            "text/plain; charset=utf-8", "type with parameters kept", r)
        for bad in ("x", "A" * 23, "AAAAAAAAAAAAAAAAAAAAAA", "%2e%2e"):
            r = get(d, ta, bad)
            t.ok(r.status == 404 and r.error == "no_such_media",
                f"ID {bad!r}: 404 no_such_media", r)

        # Sizes: 1 byte, exactly max_media_bytes, one over.
        r = upload(d, ta, b"\x00")
        one = (r.json or {}).get("media")
        t.ok(r.status == 201 and (r.json or {}).get("size") == 1 and
            get(d, ta, one).raw == b"\x00", "1 byte: 201 and back")
        big = os.urandom(1 << 20)
        r = upload(d, ta, big)
        bigid = (r.json or {}).get("media")
        t.ok(r.status == 201 and get(d, ta, bigid).raw == big,
            "exactly max_media_bytes: 201 and back", r)
        got, closed = raw(d, b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" +
            auth + b"Content-Length: %d\r\n\r\n" % ((1 << 20) + 1))
        t.ok(status_of(got) == 413 and b"too_large" in got and closed,
            "max_media_bytes + 1: 413 too_large before the body, closed",
            got[:200])

        # Rule 8: Expect: 100-continue.
        got, _ = raw(d, b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" + auth +
            b"Content-Length: 3\r\nExpect: 100-continue\r\n\r\n",
            wait_close=False)
        t.ok(got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"),
            "100-continue: 100 when the head passes", got[:100])
        got, _ = raw(d, b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" + auth +
            b"Content-Length: 99999999\r\nExpect: 100-continue\r\n\r\n")
        t.ok(status_of(got) == 413 and b"100 Continue" not in got,
            "100-continue over max: 413 and no 100", got[:100])
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" + auth +
            b"Content-Length: 3\r\nContent-Type: a/b\r\n"
            b"Expect: 100-continue\r\n\r\n")
        first = s.recv(100)
        s.sendall(b"abc")
        rest = b""
        while b"\r\n\r\n" not in rest or not rest.rstrip().endswith(b"}"):
            b = s.recv(4096)
            if not b:
                break
            rest += b
        s.close()
        t.ok(first.startswith(b"HTTP/1.1 100") and status_of(rest) == 201,
            "100-continue, then the body: 201", rest[:200])

        # Quota (3m): alice holds 100000 + 1 + 1 MiB + 3 + 1 bytes.
        r = upload(d, ta, os.urandom(1 << 20))
        t.eq(r.status, 201, "upload within media_quota: 201")
        r = upload(d, ta, os.urandom(1 << 20))
        t.ok(r.status == 403 and r.error == "quota_exceeded",
            "upload beyond media_quota: 403 quota_exceeded", r)
        # DELETE: another user 404, the uploader 204, then 404; quota back.
        r = http_request(d, "DELETE", f"/v1/media/{bigid}", token=tb)
        t.ok(r.status == 404 and r.error == "no_such_media",
            "DELETE by another user: 404 no_such_media", r)
        r = http_request(d, "DELETE", f"/v1/media/{bigid}", token=ta)
        t.eq(r.status, 204, "DELETE by the uploader: 204")
        t.eq(get(d, ta, bigid).status, 404, "deleted: 404")
        r = upload(d, ta, os.urandom(1 << 20))
        t.eq(r.status, 201, "DELETE freed quota at once")

        # Rule 3: send with media, msg carries it; bad shapes.
        wa = await Client.connect(d, ta, name="alice")
        wb = await Client.connect(d, tb, name="bob")
        for n, bad in enumerate(([], "x", [1], [mid] * 17, None)):
            rep = await wa.request({"op": "send", "to": "bob",
                "id": f"b-{n}", "body": "x", "media": bad})
            t.ok(rep and rep.get("op") == "error" and
                rep.get("code") == "bad_request" and rep.get("id") ==
                f"b-{n}", f"media {bad!r:.20}: bad_request", rep)
        rep = await wa.request({"op": "send", "to": "bob", "id": "n-1",
            "body": "x", "media": [mid, "AAAAAAAAAAAAAAAAAAAAAA"]})
        t.ok(rep and rep.get("code") == "no_such_media",
            "an ID not live: no_such_media", rep)
        t.eq(await wb.expect_nothing(0.3, op="msg"), [],
            "no_such_media stored nothing")
        rep = await wa.request({"op": "send", "to": "bob", "id": "m-1",
            "body": {"key": "k"}, "media": [mid]})
        t.eq((rep or {}).get("op"), "sent", "send with media: sent")
        msg = await wb.recv_op("msg")
        t.ok(msg and msg.get("media") == [mid], "msg carries media", msg)

        # Rule 5: deleted media is 404 even where still referenced, and
        # no longer referable.
        r = upload(d, ta, b"to be deleted")
        gone = (r.json or {}).get("media")
        rep = await wa.request({"op": "send", "to": "bob", "id": "d-1",
            "body": "x", "media": [gone]})
        t.eq((rep or {}).get("op"), "sent", "send referencing media")
        dm = await wb.recv_op("msg")
        t.eq(http_request(d, "DELETE", f"/v1/media/{gone}",
            token=ta).status, 204, "DELETE of referenced media: 204")
        t.eq(get(d, tb, gone).status, 404, "deleted media is 404 even "
            "where still referenced")
        rep = await wa.request({"op": "send", "to": "bob", "id": "d-2",
            "body": "x", "media": [gone]})
        t.eq((rep or {}).get("code"), "no_such_media", "deleted media is "
            "not referable")
        await wb.send({"op": "ack", "mid": (dm or {}).get("mid", "0-0")})

        # Rule 4: referenced media outlives media_ttl (1s, by SIGHUP);
        # after the last ack it expires one media_ttl later, file and all.
        d.conf["media_ttl"] = "1s"
        d.write_conf()
        d.signal(signal.SIGHUP)
        await asyncio.sleep(1.6)
        t.eq(get(d, tb, mid).status, 200, "referenced: live past "
            "media_ttl")
        t.eq(get(d, tb, j2["media"]).status, 404,
            "unreferenced past media_ttl: 404")
        await wb.send({"op": "ack", "mid": msg["mid"]})
        await asyncio.sleep(0.3)
        t.eq(get(d, tb, mid).status, 200, "just released: still live")
        await asyncio.sleep(1.5)
        t.eq(get(d, tb, mid).status, 404, "media_ttl after the last "
            "reference: 404")
        rep = await wa.request({"op": "send", "to": "bob", "id": "m-2",
            "body": "x", "media": [mid]})
        t.eq((rep or {}).get("code"), "no_such_media", "expired: not "
            "referable")
        t.ok(wait_for(lambda: sha not in media_files(d)), "the sweep "
            "removed the file once no ID named it", media_files(d))
        t.ok(metrics(d).get("tickd_media_expired_total", 0) >= 2,
            "tickd_media_expired_total counts them")
        await wa.close()
        await wb.close()

    # Rate, free space, media_timeout and memory, on other daemons.
    with Daemon(media_rate="2", media_min_free="0", login_rate="0") as d:
        ta = token_for(d, "alice", new=True)
        st = [upload(d, ta, b"x").status for _ in range(3)]
        t.eq(st, [201, 201, 429], "media_rate 2: the third is 429")
        t.eq(upload(d, ta, b"x").error, "rate_limited", "429 "
            "rate_limited")
        # Each uploader has a count of its own: 40 of them in a minute
        # once grew that table past any memory and ended tickd.
        st = [upload(d, token_for(d, f"u{i}", new=True), b"%d" % i).status
            for i in range(40)]
        t.ok(st == [201] * 40 and d.running(), "40 more uploaders in the "
            "minute: each counted apart, tickd still serving", st)
        # A count made after them is still kept: one more uploader's
        # third upload in its minute is refused (its token first: under
        # valgrind the logins above can outlast alice's minute).
        tz = token_for(d, "zed", new=True)
        st = [upload(d, tz, b"z").status for _ in range(3)]
        t.eq(st, [201, 201, 429], "and the 42nd uploader's third upload "
            "is 429")
    with Daemon(media_min_free="1024g") as d:
        ta = token_for(d, "alice", new=True)
        r = upload(d, ta, b"x")
        t.ok(r.status == 503 and r.error == "unavailable",
            "below media_min_free: 503 unavailable", r)
    with Daemon(media_min_free="0", media_timeout="1s",
            max_media_bytes="128m") as d:
        ta = token_for(d, "alice", new=True)
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" +
            f"Authorization: Bearer {ta}\r\n".encode() +
            b"Content-Length: 1000\r\n\r\n" + b"y" * 500)
        time.sleep(0.3)
        t.eq(len(tmp_files(d)), 1, "an upload under way has its "
            "temporary file")
        s.settimeout(5)
        try:
            closed = s.recv(100) == b""
        except (socket.timeout, ConnectionResetError):
            closed = False
        s.close()
        t.ok(closed, "a stalled upload is closed after media_timeout")
        t.ok(wait_for(lambda: tmp_files(d) == []), "and leaves no "
            "temporary file", tmp_files(d))
        t.eq(media_files(d), [], "and no file")

    with Daemon(media_min_free="0", max_media_bytes="128m") as d:
        ta = token_for(d, "alice", new=True)
        # 64 MiB streamed: tickd's heap grows by far less than that.
        before = d.rss_anon()
        size = 64 << 20
        s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
        s.sendall(b"POST /v1/media HTTP/1.1\r\nHost: x\r\n" +
            f"Authorization: Bearer {ta}\r\n".encode() +
            f"Content-Length: {size}\r\n\r\n".encode())
        chunk = os.urandom(1 << 20)
        peak = 0
        h = hashlib.sha256()
        for i in range(64):
            s.sendall(chunk)
            h.update(chunk)
            if i % 8 == 7:
                rss = d.rss_anon()
                if rss is not None:
                    peak = max(peak, rss)
        resp = b""
        s.settimeout(30)
        while b"}" not in resp:
            b = s.recv(4096)
            if not b:
                break
            resp += b
        s.close()
        t.ok(status_of(resp) == 201 and h.hexdigest().encode() in resp,
            "a 64 MiB upload: 201 with its sha256", resp[:200])
        t.diag(f"RssAnon before {before}, peak during the upload {peak}")
        if before is None:
            t.skip("RSS bounded during a 64 MiB upload", "no RssAnon "
                "(valgrind)")
        elif asan_build():
            t.skip("RSS bounded during a 64 MiB upload", "AddressSanitizer's "
                "quarantine holds freed memory")
        else:
            t.ok(peak - before < 16 << 20, "tickd's heap grew by less "
                "than 16 MiB during a 64 MiB upload",
                f"before {before}, peak {peak}")

        # A restart keeps media; ranges work after it.
        mid = re.search(rb'"media":"([^"]+)"', resp).group(1).decode()
        d.restart()
        r = get(d, ta, mid, headers={"Range": "bytes=1048576-1048579"})
        t.ok(r.status == 206 and r.raw == chunk[:4], "after a restart: "
            "Range on the upload", r.status)

    # tickd -t refuses a media_dir its user cannot create files in.
    d = Daemon(media_min_free="0")
    mdir = os.path.join(d.dir, "m")
    os.makedirs(mdir, mode=0o700)
    d.conf["media_dir"] = mdir
    d.write_conf()
    rc, err = d.check_config()
    t.ok(rc == 0, "tickd -t accepts a media_dir it can write", err)
    if os.geteuid() == 0:
        d.conf["user"] = "nobody"
        d.write_conf()
        rc, err = d.check_config()
        t.ok(rc != 0 and "media_dir" in err, "tickd -t refuses a "
            "media_dir user nobody cannot create files in", err)
    else:
        os.chmod(mdir, 0o500)
        rc, err = d.check_config()
        os.chmod(mdir, 0o700)
        t.ok(rc != 0 and "media_dir" in err, "tickd -t refuses a "
            "read-only media_dir", err)
    d.cleanup()

    # Over TLS the same: upload, whole file and a range.
    tdir = tempfile.mkdtemp(prefix="tickd-media-tls-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
        "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out",
        "cert.pem"], cwd=tdir, check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=os.path.join(tdir, "cert.pem"))
    plain = free_port()
    d = Daemon(media_min_free="0", tls_cert=os.path.join(tdir, "cert.pem"),
        tls_key=os.path.join(tdir, "key.pem"),
        listen_plain=f"127.0.0.1:{plain}")
    tls_port, d.port = d.port, plain
    with d:
        ta = token_for(d, "alice", new=True)
        data = os.urandom(3 << 20)
        hc = http.client.HTTPSConnection("127.0.0.1", tls_port,
            context=ctx, timeout=20)
        hc.request("POST", "/v1/media", body=data, headers={
            "Authorization": f"Bearer {ta}", "Content-Type": "a/b"})
        r = hc.getresponse()
        j = json.loads(r.read() or b"{}")
        t.ok(r.status == 201 and j.get("sha256") ==
            hashlib.sha256(data).hexdigest(), "TLS: upload 201", j)
        hc.request("GET", f"/v1/media/{j.get('media')}", headers={
            "Authorization": f"Bearer {ta}"})
        r = hc.getresponse()
        t.ok(r.status == 200 and r.read() == data and
            r.getheader("Content-Security-Policy") == CSP,
            "TLS: GET the whole file on the same connection")
        hc.request("GET", f"/v1/media/{j.get('media')}", headers={
            "Authorization": f"Bearer {ta}", "Range": "bytes=-7"})
        r = hc.getresponse()
        t.ok(r.status == 206 and r.read() == data[-7:], "TLS: a range")
        hc.close()
    shutil.rmtree(tdir, ignore_errors=True)


run(main, 85, timeout=120)
