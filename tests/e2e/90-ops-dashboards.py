#!/usr/bin/python3
# contrib/prometheus/tickd-alerts.yml and contrib/grafana/
# tickd-dashboard.json: every tickd_ and process_ metric they name is one a
# running tickd serves in /metrics (a histogram by its _bucket, _sum and
# _count), the rules have what Prometheus needs, and promtool, when it is
# installed, accepts the rules and the exposition.

import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
try:
    import yaml
except ImportError:
    print("1..0 # SKIP python3-yaml is not installed")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

TOP = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
RULES = os.path.join(TOP, "contrib", "prometheus", "tickd-alerts.yml")
DASH = os.path.join(TOP, "contrib", "grafana", "tickd-dashboard.json")
NAME = re.compile(r"\b((?:tickd|process)_[a-z_]+)")


def served(text):
    """The metric names of an exposition, histograms' series included."""
    names = set()
    for name, ty in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(name)
        if ty == "histogram":
            names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


async def main(t):
    with open(RULES) as f:
        rules = yaml.safe_load(f)
    with open(DASH) as f:
        dash = json.load(f)
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    t.ok(alerts and all({"alert", "expr"} <= set(r) and
        r.get("labels", {}).get("severity") and
        r.get("annotations", {}).get("summary") for r in alerts),
        "every rule has alert, expr, a severity and a summary")
    exprs = [r["expr"] for r in alerts]
    panels = [x["expr"] for p in dash["panels"] for x in p["targets"]]
    t.ok(len({p["id"] for p in dash["panels"]}) == len(dash["panels"]),
        "the dashboard's panel ids are unique")
    want = {"tickd_store_used_bytes", "tickd_commit_seconds_bucket",
        "tickd_audit_spool_events", "tickd_tls_cert_expiry_timestamp_seconds",
        "tickd_queue_oldest_age_seconds"}
    named = set(NAME.findall(" ".join(exprs)))
    t.ok(want <= named, "the rules cover store fill, commit latency, the "
        "audit spool, certificate expiry and the oldest queued item",
        want - named)
    t.ok("TickdQueueOld" in {r["alert"] for r in alerts} and
        "tickd_queue_oldest_age_seconds" in " ".join(panels),
        "TickdQueueOld, and a panel of the oldest queued item's age")

    with Daemon("dash") as d:
        text = http_request(d, "GET", "/metrics").raw.decode()
    have = served(text)
    missing = sorted(set(NAME.findall(" ".join(exprs))) - have)
    t.eq(missing, [], "every metric of the alert rules is served")
    missing = sorted(set(NAME.findall(" ".join(panels))) - have)
    t.eq(missing, [], "every metric of the dashboard is served")

    promtool = shutil.which("promtool")
    if promtool is None:
        t.skip("promtool check rules", "promtool is not installed "
            "(Debian: prometheus)")
        t.skip("promtool check metrics", "promtool is not installed")
        return
    p = subprocess.run([promtool, "check", "rules", RULES],
        capture_output=True, timeout=60)
    t.ok(p.returncode == 0, "promtool check rules", p)
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
        capture_output=True, timeout=60)
    t.ok(p.returncode == 0, "promtool check metrics", p)


run(main, 8)
