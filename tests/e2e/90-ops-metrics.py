#!/usr/bin/python3
# tickd.conf(5) Metrics: /metrics only to loopback clients by default, the
# client's address taken after trusted_proxies, so a proxied request from
# elsewhere is refused; with metrics_listen, a port of its own that serves
# /metrics and /healthz only, and listen answers /metrics 404.

import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


async def main(t):
    with Daemon("loop", trusted_proxies="127.0.0.1") as d:
        st, body = get(d.port, "/metrics")
        t.ok(st == 200 and b"tickd_connections " in body,
            "a loopback client gets /metrics", (st, body[:100]))
        st, body = get(d.port, "/metrics",
            {"X-Forwarded-For": "203.0.113.7"})
        t.eq(st, 403, "a client behind the trusted proxy, from elsewhere: "
            "403")
        t.ok(b"forbidden" in body and b"metrics_listen" in body,
            "the answer says why and what to set", body)
        st, body = get(d.port, "/metrics",
            {"X-Forwarded-For": "127.0.0.1"})
        t.eq(st, 200, "a loopback client behind the proxy gets it")
        st, _ = get(d.port, "/healthz",
            {"X-Forwarded-For": "203.0.113.7"})
        t.eq(st, 200, "/healthz stays open to everyone")

    with Daemon("untrusted") as d:
        st, _ = get(d.port, "/metrics", {"X-Forwarded-For": "203.0.113.7"})
        t.eq(st, 200, "without trusted_proxies the header is ignored: the "
            "peer is loopback")

    mport = free_port()
    with Daemon("sep", metrics_listen=f"127.0.0.1:{mport}") as d:
        st, body = get(mport, "/metrics")
        t.ok(st == 200 and b"tickd_connections " in body,
            "metrics_listen serves /metrics", (st, body[:100]))
        st, body = get(mport, "/healthz")
        t.ok(st == 200 and body == b"ok\n", "and /healthz", (st, body))
        st, _ = get(mport, "/v1/info")
        t.eq(st, 404, "and nothing else")
        st, _ = get(mport, "/v1/register")
        t.eq(st, 404, "not even POST routes")
        st, _ = get(d.port, "/metrics")
        t.eq(st, 404, "listen then answers /metrics 404, loopback or not")
        st, _ = get(d.port, "/v1/info")
        t.eq(st, 200, "listen serves the rest as before")

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    d = Daemon("busy", metrics_listen=f"127.0.0.1:{busy.getsockname()[1]}")
    d.start(ready=False)
    rc = d.wait(10)
    t.ok(rc == 1 and "cannot listen on 127.0.0.1:" in d.tail(3),
        "a metrics_listen that cannot be bound stops the start",
        (rc, d.tail(3)))
    busy.close()
    d.cleanup()


run(main, 13)
