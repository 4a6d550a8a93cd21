#!/usr/bin/python3
# The audit log in PostgreSQL, part 3: the bound of the spool.  With
# PostgreSQL stopped and audit_spool_max 10, connections go on being
# served past the bound; the first 10 events are kept, the rest counted
# (metrics, log), and once PostgreSQL is back the 10 arrive followed by one
# events_dropped event with the count, and later events flow again.  Last,
# a device removed by device_ttl is recorded as removed by expiry.

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from audit_pg import pg_cluster, skip_without_postgresql  # noqa: E402

MAX = 10
CONNECTIONS = 8         # a connect and a disconnect event each


def audit_metrics(d):
    return {k: v for k, v in metrics(d).items() if "audit" in k}


async def main(t):
    with pg_cluster(t) as pg:
        await scenario(t, pg)


async def scenario(t, pg):
    # A host name would need a blocking lookup: tickd -t refuses it.
    c = Daemon(name="names", audit_pg='"host=db.example.org dbname=x"')
    c.write_conf()
    rc, err = c.check_config()
    t.ok(rc == 1 and "is a name" in err, "tickd -t refuses a host name "
        "in audit_pg", [rc, err])
    c.cleanup()

    d = Daemon(audit_pg=f'"{pg.conninfo()}"', audit_backoff_max="300ms",
        audit_spool_max=str(MAX), login_rate="0")
    d.start()
    if register(d, "dave").status != 201:
        raise Failure("register dave")
    tok = token_for(d, "dave")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and \
            audit_metrics(d).get("tickd_audit_shipped_total") != 2:
        time.sleep(0.05)
    pg.stop()

    served = 0
    for i in range(CONNECTIONS):
        c = await Client.connect(d, tok, name=f"c{i}")
        served += c.ready is not None
        await c.close()
    await asyncio.sleep(0.3)
    total = 2 * CONNECTIONS
    m = audit_metrics(d)
    t.eq(served, CONNECTIONS, "connections are served past the bound")
    t.ok(m.get("tickd_audit_spool_events") == MAX and
        m.get("tickd_audit_spool_full") == 1 and
        m.get("tickd_audit_dropped_total") == total - MAX,
        f"{MAX} events kept, {total - MAX} counted", m)
    t.ok("spool full" in d.tail(30), "the full spool is logged")

    pg.start()
    deadline = time.monotonic() + 15
    n = 0
    while time.monotonic() < deadline:
        n = int(pg.query("SELECT count(*) FROM tickd_events")[0][0])
        if n >= 2 + MAX + 1:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    rows = pg.query("SELECT kind, count(*) FROM tickd_events "
        "GROUP BY kind ORDER BY kind")
    t.eq(dict((k, int(v)) for k, v in rows), {"register": 1, "login": 1,
        "connect": MAX // 2, "disconnect": MAX // 2, "events_dropped": 1},
        "the kept events arrived, and one events_dropped")
    gap = pg.query("SELECT detail->>'dropped', detail->>'first_at' <= "
        "detail->>'last_at', username IS NULL FROM tickd_events WHERE "
        "kind = 'events_dropped'")
    t.eq(gap, [[str(total - MAX), "t", "t"]],
        "events_dropped has the count and the time span")
    last = pg.query("SELECT kind FROM tickd_events ORDER BY event_id "
        "DESC LIMIT 1")
    t.eq(last, [["events_dropped"]], "it comes after the kept events")

    c = await Client.connect(d, tok, name="after")
    await c.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        n = int(pg.query("SELECT count(*) FROM tickd_events")[0][0])
        if n >= 2 + MAX + 1 + 2:
            break
        time.sleep(0.1)
    m = audit_metrics(d)
    t.ok(n == 2 + MAX + 1 + 2 and m.get("tickd_audit_spool_full") == 0 and
        m.get("tickd_audit_spool_events") == 0,
        "later events flow again", [n, m])
    t.ok("spool has room again" in d.tail(30), "and that is logged")
    t.eq(d.stop(), 0, "tickd stops cleanly")

    # A device idle for device_ttl is removed by the sweep: by "expiry".
    e = Daemon(name="expiry", audit_pg=f'"{pg.conninfo()}"',
        device_ttl="1s", login_rate="0")
    e.start()
    if register(e, "erin").status != 201:
        raise Failure("register erin")
    token_for(e, "erin", device="idle")
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = pg.query("SELECT username, device, address IS NULL, "
            "detail->>'by' FROM tickd_events WHERE kind = "
            "'device_removed'")
        time.sleep(0.2)
    t.eq(rows, [["erin", "idle", "t", "expiry"]],
        "a device removed after device_ttl is recorded, by expiry")


if __name__ == "__main__":
    skip_without_postgresql()
    run(main, 11, timeout=50)
