#!/usr/bin/python3
# Media on several nodes (tickd-cluster(7) Home nodes): an ID begins with
# its uploader's node name and "."; a GET, HEAD or DELETE of it on another
# node is a 307 to the owner with the same path and query, which a client
# follows to the same bytes; an upload with another node's token is a 307
# to its home; the owner takes the ID with or without its prefix, and no
# node takes another node's prefix; a user homed on another node asks its
# home, which checks its token, writes a grant in Redis and redirects to
# the owner with ?grant=, which the owner takes instead of a token (and
# refuses forged, expired or misdirected, 503 without Redis); the owner
# still refuses another node's token; tickctl spells IDs as clients see
# them.

import re
import time

import hashlib
import os
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()
need_tickctl()


def follow(url, token=None, method="GET"):
    """urllib follows a 307 for GET and HEAD as a browser does; the
    status, headers and bytes at the end, and the URL it ended at."""
    req = urllib.request.Request(url, method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read(), r.geturl()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read(), e.geturl()


async def main(t):
    with Cluster() as cl:
        n1, n2, n3 = cl.node(1), cl.node(2), cl.node(3)
        ta = token_for(n1, "alice", "phone", new=True)
        tc = token_for(n1, "carol", "phone", new=True)
        tb = token_for(n2, "bob", "laptop", new=True)
        data = os.urandom(70000)
        r = http_request(n1, "POST", "/v1/media", body=data, token=ta,
            headers={"Content-Type": "image/png"})
        mid = (r.json or {}).get("media", "")
        t.ok(r.status == 201 and mid.startswith("n1.") and
            len(mid) == 3 + 22 and r.json.get("url") == f"/v1/media/{mid}"
            and r.json.get("sha256") == hashlib.sha256(data).hexdigest(),
            "an upload on n1: its ID begins with n1.", r)
        bare = mid[3:]

        path = f"/v1/media/{mid}"
        r = http_request(n2, "GET", path, token=ta)
        want = f"http://127.0.0.1:{n1.port}{path}"
        t.ok(r.status == 307 and r.headers.get("Location") == want and
            r.json == {"error": "wrong_node", "node": "n1", "url": want},
            "GET on n2: 307 to n1's same path, before any token check", r)
        r = http_request(n3, "GET", path + f"?token={ta}")
        t.eq(r.headers.get("Location"), want + f"?token={ta}",
            "the query (?token=) goes along")
        r = http_request(n2, "HEAD", path)
        t.ok(r.status == 307 and r.headers.get("Location") == want,
            "HEAD on n2 without a token: 307 to n1 too", r)

        st, h, body, end = follow(f"http://127.0.0.1:{n2.port}{path}", ta)
        t.ok(st == 200 and body == data and end == want and
            h.get("Content-Type") == "image/png",
            "GET via n2, following the 307: the same bytes from n1",
            [st, end, len(body)])
        st, h, body, end = follow(f"http://127.0.0.1:{n3.port}{path}"
            f"?token={ta}")
        t.ok(st == 200 and body == data,
            "GET via n3 with ?token=, following: the same bytes",
            [st, end, len(body)])
        # bob, homed on n2, asks n2: a grant, and n1 takes it.
        st, h, body, end = follow(f"http://127.0.0.1:{n2.port}{path}", tb)
        t.ok(st == 200 and body == data and end.startswith(want +
            "?grant=") and h.get("Content-Type") == "image/png",
            "bob's n2 token via n2, following: the bytes from n1 with a "
            "grant (his bearer header, which urllib keeps, is not looked "
            "at)", [st, end, len(body)])
        r = http_request(n2, "GET", path, token=tb)
        loc = r.headers.get("Location") or ""
        m = re.fullmatch(re.escape(want) + r"\?grant=([0-9a-f]{32})", loc)
        t.ok(r.status == 307 and m is not None and r.json == {"error":
            "wrong_node", "node": "n1", "url": loc},
            "GET on n2 with bob's n2 token: 307 to n1 with ?grant=", r)
        g = m.group(1) if m else "0" * 32
        key = f"tickd:mg:{{{g}}}"
        pttl = int(cl.redis.cmd("PTTL", key) or -2)
        t.ok(cl.redis.cmd("GET", key) == mid and 0 < pttl <= 60000,
            "the grant: tickd:mg:{GRANT} names the ID, for 60 s at most",
            pttl)
        r = http_request(n1, "GET", f"{path}?grant={g}",
            headers={"Range": "bytes=10-19"})
        t.ok(r.status == 206 and r.raw == data[10:20] and
            r.headers.get("Content-Range") == "bytes 10-19/70000",
            "the grant again on n1, no token, a range: 206 (a grant lasts "
            "its 60 s)", r.status)
        r = http_request(n1, "HEAD", f"{path}?grant={g}")
        t.ok(r.status == 200 and r.headers.get("Content-Length") ==
            "70000", "HEAD on n1 with the grant: 200", r.status)
        r = http_request(n2, "GET", f"{path}?token={tb}")
        t.ok(r.status == 307 and (r.headers.get("Location") or "")
            .startswith(want + "?grant=") and tb not in
            r.headers.get("Location", ""), "bob's ?token= on n2: a grant, "
            "and his token does not go to n1", r)
        r = http_request(n2, "HEAD", path, token=tb)
        t.ok(r.status == 307 and (r.headers.get("Location") or "")
            .startswith(want + "?grant="), "HEAD on n2: a grant too", r)
        r = http_request(n1, "GET", path, token=tb)
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "bob's n2 token straight at n1: still 401", r)
        r = http_request(n1, "GET", f"{path}?grant={'ab' * 16}")
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "a forged grant: 401", r)
        r = http_request(n1, "GET", f"{path}?grant=xyz", token=ta)
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "a malformed grant: 401, even beside a good token", r)
        r = http_request(n1, "POST", "/v1/media", body=b"other", token=tc,
            headers={"Content-Type": "text/plain"})
        other = (r.json or {}).get("media", "")
        r = http_request(n1, "GET", f"/v1/media/{other}?grant={g}")
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "bob's grant for another ID of n1: 401", r)
        cl.redis.cmd("PEXPIRE", key, "1")
        time.sleep(0.05)
        r = http_request(n1, "GET", f"{path}?grant={g}")
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "an expired grant: 401", r)
        r = http_request(n2, "GET", path, token=tb + "x")
        t.ok(r.status == 401 and r.error == "not_authenticated",
            "a bad n2 token on n2: 401, no grant", r)
        r = http_request(n2, "GET", f"/v1/media/n1.{'!' * 22}", token=tb)
        t.ok(r.status == 404 and r.error == "no_such_media",
            "a malformed ID on n2: 404, no grant", r)

        # Without Redis neither a grant nor its check: 503.
        r = http_request(n2, "GET", path, token=tb)
        g2 = (r.headers.get("Location") or "").partition("?grant=")[2]
        cl.proxies[0].cut()
        cl.proxies[1].cut()
        down = wait_for(lambda: cluster_metric(n1,
            "tickd_cluster_redis_up") == 0 and cluster_metric(n2,
            "tickd_cluster_redis_up") == 0, 10)
        r = http_request(n2, "GET", path, token=tb)
        t.ok(down and r.status == 503 and r.error == "unavailable",
            "n2 cut off from Redis: 503 unavailable for a grant", r)
        r = http_request(n1, "GET", f"{path}?grant={g2}")
        t.ok(r.status == 503 and r.error == "unavailable",
            "n1 cut off from Redis: 503 unavailable for a grant", r)
        cl.proxies[0].restore()
        cl.proxies[1].restore()
        cl.wait_up()
        r = http_request(n1, "GET", f"{path}?grant={g2}")
        t.ok(r.status == 200 and r.raw == data,
            "Redis back: the grant written before is taken", r.status)
        r = http_request(n1, "GET", f"/v1/media/{bare}", token=ta)
        t.ok(r.status == 200 and r.raw == data,
            "n1 takes its ID without the prefix as well", r.status)
        r = http_request(n1, "GET", f"/v1/media/n2.{bare}", token=ta)
        t.ok(r.status == 307 and (r.headers.get("Location") or "")
            .startswith(f"http://127.0.0.1:{n2.port}/v1/media/n2.{bare}"
            "?grant="), "n1's ID respelled n2.: n1 sends alice to n2 with "
            "a grant, never serves it", r)
        r = http_request(n1, "GET", f"/v1/media/zz.{bare}", token=ta)
        t.ok(r.status == 503 and r.error == "unavailable",
            "a node nobody knows: 503 unavailable", r)
        r = http_request(n1, "GET", f"/v1/media/{bare}", token=tc)
        t.eq(r.status, 200, "any user of n1 may download (a capability)")

        r = http_request(n1, "POST", "/v1/media", b"x", token=tb,
            headers={"Content-Type": "image/png"})
        t.ok(r.status == 307 and r.headers.get("Location") ==
            f"http://127.0.0.1:{n2.port}/v1/media" and
            r.error == "wrong_node", "bob's upload on n1: 307 to n2", r)
        r = http_request(n2, "POST", "/v1/media", b"bob's", token=tb,
            headers={"Content-Type": "text/plain"})
        bm = (r.json or {}).get("media", "")
        t.ok(r.status == 201 and bm.startswith("n2."),
            "bob's upload on n2: an n2. ID", r)
        r = http_request(n1, "GET", f"/v1/media/n1.{bm[3:]}", token=ta)
        t.eq(r.status, 404, "n2's ID respelled with n1.: 404 on n1")

        # A local send on n1 names the ID as uploaded.
        a = await Client.connect(n1, ta, name="alice")
        c = await Client.connect(n1, tc, name="carol")
        s = await a.request({"op": "send", "to": "carol", "id": "m1",
            "body": "see", "media": [mid]})
        t.ok(s is not None and s.get("op") == "sent",
            "alice sends carol (both on n1) the n1. ID: sent", s)
        m = await c.recv_op("msg", 10)
        t.ok(m is not None and m.get("media") == [mid],
            "carol's msg carries the ID as sent", m)
        s = await a.request({"op": "send", "to": "carol", "id": "m2",
            "body": "see", "media": [f"n2.{bare}"]})
        t.ok(s is not None and s.get("op") == "error" and
            s.get("code") == "no_such_media",
            "the ID with n2.'s prefix on n1: no_such_media", s)
        await a.close()
        await c.close()

        r = tickctl(n1, "media", "list", "alice")
        t.ok(r.ok and [x.get("media") for x in r.get("media", [])] ==
            [mid], "tickctl media list on n1: the n1. ID", r)
        r = tickctl(n1, "media", "show", mid)
        t.ok(r.ok and r.get("media") == mid and r.get("refs") == 1,
            "tickctl media show takes the n1. ID; carol's item holds it",
            r)

        r = http_request(n3, "DELETE", path, token=ta)
        t.ok(r.status == 307 and r.headers.get("Location") == want,
            "DELETE on n3: 307 to n1", r)
        r = http_request(n1, "DELETE", path, token=ta)
        t.eq(r.status, 204, "DELETE on n1 by alice: 204")
        st, _, _, _ = follow(f"http://127.0.0.1:{n2.port}{path}", ta)
        t.eq(st, 404, "then GET via n2, following: 404")


run(main, 38, timeout=90)
