#!/usr/bin/python3
# tickd-protocol(7) /metrics for operators: error frames by code,
# WebSocket close codes tickd sent, login failures by reason (rate-limit
# refusals apart), the delivery latency and event loop lag histograms, RESP
# clients and commands; and the exposition stays in the text format with
# Prometheus's naming (_total counters, _seconds, _bytes).

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

import redis  # noqa: E402


def hist_ok(m, name):
    """A histogram's buckets are cumulative and end in +Inf == _count."""
    b = sorted(((float(k.split('le="')[1].rstrip('"}')) if "+Inf" not in k
        else float("inf")), v) for k, v in m.items()
        if k.startswith(name + "_bucket{"))
    counts = [v for _, v in b]
    return (len(b) >= 2 and b[-1][0] == float("inf") and
        counts == sorted(counts) and counts[-1] == m.get(name + "_count"))


async def main(t):
    rport = free_port()
    with Daemon("counters", resp_listen=f"127.0.0.1:{rport}") as d:
        m0 = metrics(d)
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")
        b = await Client.connect(d, tb, name="bob")
        await a.send({"op": "frobnicate"})
        await a.recv_op("error")
        await a.send({"op": "send", "to": "nobody-here", "id": "x1",
            "body": "hi"})
        await a.recv_op("error")
        sent = await a.request({"op": "send", "to": "bob", "id": "x2",
            "body": "hi"})
        msg = await b.recv_op("msg")
        t.ok(sent and msg, "a message is sent and delivered")
        m = metrics(d)
        t.eq(m.get('tickd_ws_errors_total{code="unknown_op"}', 0), 1,
            "an unknown op counts under code unknown_op")
        t.eq(m.get('tickd_ws_errors_total{code="no_such_user"}', 0), 1,
            "a send to nobody under no_such_user")
        t.ok(m.get("tickd_delivery_seconds_count", 0) >=
            m0.get("tickd_delivery_seconds_count", 0) + 1 and
            hist_ok(m, "tickd_delivery_seconds"),
            "the delivery histogram counts the push",
            {k: v for k, v in m.items() if "delivery" in k})
        await a.close()
        await b.close()

        raw = RawWS(d, ta)
        raw.send_frame(2, b"\x00binary")
        code = raw.close_code()
        raw.close()
        t.eq(code, 1003, "a binary frame: tickd closes with 1003")
        m = metrics(d)
        t.eq(m.get('tickd_ws_closes_total{code="1003"}'), 1,
            "tickd_ws_closes_total{code=\"1003\"} counts it")

        st = [login(d, "mallory", "wrong").status for _ in range(20)]
        bad, limited = st.count(401), st.count(429)
        t.ok(bad > 0 and limited > 0 and bad + limited == 20,
            "bad passwords, then login_rate (20 a minute from one address) "
            "refuses", st)
        m = metrics(d)
        t.eq((m.get('tickd_login_failures_total{reason="bad_credentials"}'),
            m.get('tickd_login_failures_total{reason="rate_limited"}')),
            (bad, limited), "login failures: bad credentials and "
            "rate-limited apart")

        r = redis.Redis(host="127.0.0.1", port=rport)
        r.ping()
        r.set("k", "v")
        r.get("k")
        m = metrics(d)
        t.eq(m.get("tickd_resp_clients"), 1, "one RESP client")
        t.ok(m.get("tickd_resp_commands_total", 0) >= 3,
            "its commands are counted", m.get("tickd_resp_commands_total"))
        r.close()

        time.sleep(1.2)
        m = metrics(d)
        t.ok(m.get("tickd_event_loop_lag_seconds_count", 0) >= 3 and
            hist_ok(m, "tickd_event_loop_lag_seconds"),
            "the loop lag probe runs every 250 ms",
            m.get("tickd_event_loop_lag_seconds_count"))

        text = http_request(d, "GET", "/metrics").raw.decode()
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        bad = [n for n, ty in types.items() if
            (ty == "counter") != n.endswith("_total") and
            not n.startswith("process_")]
        t.eq(bad, [], "counters, and only counters, end in _total")
        bad = [n for n in types if re.search(r"_(ms|msec|kb|mb|bytes_total"
            r"_bytes)$", n)]
        t.eq(bad, [], "units are seconds and bytes")


run(main, 13)
