#!/usr/bin/python3
# The audit log in PostgreSQL, part 1: against a real PostgreSQL cluster
# made for the test, every kind of event (register, login, login_failed,
# connect, disconnect, logout, token_revoked, device_removed) arrives
# exactly once with its user, device, address and detail, in a table
# tickd created with its index, also from connections that follow each
# other closely, and a replaced connection's disconnect has the reason it
# was closed with; then, with PostgreSQL stopped, events wait in the
# spool, tickd is SIGKILLed, and after both come back every event arrives
# once, also when PostgreSQL had stored some of them already (a lost
# answer), which the resent batch must leave alone.

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from audit_pg import pg_cluster, skip_without_postgresql  # noqa: E402

KILLED = 12
ROUNDS = 15


def spool_ids(d):
    """The event ids in tickd's spool, read with mdb_dump (lmdb-utils)."""
    p = subprocess.run(["mdb_dump", "-s", "audit", d.data_dir],
        capture_output=True, timeout=10)
    if p.returncode != 0:
        raise Failure(f"mdb_dump: {p.stderr.decode(errors='replace')}")
    lines = p.stdout.decode().splitlines()
    data = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    return [int(k.strip(), 16) for k in data[0::2]]


def tickctl_audit(t, d, pg):
    """tickctl audit shows the state, the spool and the last event
    PostgreSQL confirmed (skipped without $TICKCTL)."""
    tickctl = os.environ.get("TICKCTL")
    if not tickctl or not os.access(tickctl, os.X_OK):
        t.n += 1
        print(f"ok {t.n} # SKIP TICKCTL is not set", flush=True)
        return
    p = subprocess.run([tickctl, "-s", d.conf["control_socket"], "-j",
        "audit"], capture_output=True, timeout=10)
    try:
        r = json.loads(p.stdout)
    except ValueError:
        r = None
    last = pg.query("SELECT max(event_id) FROM tickd_events WHERE "
        "device <> 'before'")[0][0]
    t.ok(isinstance(r, dict) and r.get("state") == "connected" and
        r.get("spool") == 0 and r.get("enabled") is True and
        isinstance(r.get("last_shipped"), dict) and
        str(r["last_shipped"].get("event_id")) == last,
        "tickctl audit: connected, spool empty, last event shipped",
        [p.stdout, p.stderr, last])


def wait_rows(pg, sql, want, timeout=15):
    """Poll sql (a count) until it reaches want; the last count."""
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        n = int(pg.query(sql)[0][0])
        if n >= want:
            break
        time.sleep(0.1)
    return n


async def main(t):
    with pg_cluster(t) as pg:
        await scenario(t, pg)


async def scenario(t, pg):
    d = Daemon(audit_pg=f'"{pg.conninfo()}"', audit_backoff_max="1s",
        audit_timeout="5s", login_rate="0")
    d.start()

    # Every kind of event, from real clients.
    t.eq(register(d, "alice").status, 201, "register alice")
    t.eq(register(d, "bob").status, 201, "register bob")
    r = login(d, "alice", device="phone")
    t.eq(r.status, 200, "login alice:phone")
    tok = r.json["token"]
    t.eq(login(d, "alice", password="wrong").status, 401,
        "wrong password refused")
    t.eq(login(d, "nobody").status, 401, "unknown user refused")
    c = await Client.connect(d, tok, name="alice")
    await asyncio.sleep(0.2)
    await c.close()
    await asyncio.sleep(0.3)
    t.eq(logout(d, tok).status, 204, "logout")

    want = {"register": 2, "login": 1, "login_failed": 2, "connect": 1,
        "disconnect": 1, "logout": 1, "token_revoked": 1,
        "device_removed": 1}
    total = sum(want.values())
    n = wait_rows(pg, "SELECT count(*) FROM tickd_events", total)
    time.sleep(0.5)     # anything extra would arrive now
    rows = pg.query("SELECT kind, count(*) FROM tickd_events "
        "GROUP BY kind ORDER BY kind")
    got = {k: int(v) for k, v in rows}
    t.eq(got, want, f"each event exactly once ({total} rows, saw {n})")

    rows = pg.query("SELECT kind, coalesce(username, ''), "
        "coalesce(device, ''), host(address), detail->>'reason', "
        "detail->>'by', detail->>'code', "
        "(detail->>'duration_ms')::bigint >= 200 "
        "FROM tickd_events ORDER BY event_id")
    t.eq([r[0] for r in rows], ["register", "register", "login",
        "login_failed", "login_failed", "connect", "disconnect", "logout",
        "token_revoked", "device_removed"],
        "events in event_id order are in the order they happened")
    by_kind = {}
    for r in rows:
        by_kind.setdefault(r[0], []).append(r[1:])
    t.eq(sorted(u for u, *_ in by_kind["register"]), ["alice", "bob"],
        "register rows name the users")
    t.eq([(u, dev) for u, dev, *_ in by_kind["login"]], [("alice",
        "phone")], "login row names user and device")
    t.eq(sorted((u, reason) for u, _, _, reason, *_ in
        by_kind["login_failed"]), [("alice", "bad_credentials"),
        ("nobody", "bad_credentials")],
        "login_failed rows carry the attempted name and the reason")
    t.ok(all(r[3] == "127.0.0.1" for r in rows),
        "every row has the client's address", rows)
    dis = by_kind["disconnect"][0]
    t.ok(dis[0:2] == ["alice", "phone"] and dis[3] == "peer closed" and
        dis[5] == "1000" and dis[6] == "t",
        "disconnect has duration and close reason", dis)
    t.ok(by_kind["device_removed"][0][4] == "user" and
        by_kind["token_revoked"][0][4] == "user",
        "logout removes the device and revokes the token, by the user",
        rows)
    rows = pg.query("SELECT count(*) FROM tickd_events WHERE "
        "at < now() - interval '1 minute' OR at > now() + "
        "interval '1 minute'")
    t.eq(rows, [["0"]], "every row has the time it happened")

    cols = pg.query("SELECT column_name, data_type FROM "
        "information_schema.columns WHERE table_name = 'tickd_events' "
        "ORDER BY ordinal_position")
    t.eq([tuple(c) for c in cols], [("event_id", "bigint"),
        ("at", "timestamp with time zone"), ("kind", "text"),
        ("username", "text"), ("device", "text"), ("address", "inet"),
        ("detail", "jsonb")], "tickd created the table")
    idx = pg.query("SELECT indexdef FROM pg_indexes WHERE "
        "tablename = 'tickd_events' ORDER BY indexname")
    t.ok(any("(event_id)" in i[0] and "UNIQUE" in i[0] for i in idx) and
        any("(username, at)" in i[0] for i in idx),
        "primary key on event_id, index on (username, at)", idx)
    m = metrics(d)
    t.ok(m.get("tickd_audit_spool_events") == 0 and
        m.get("tickd_audit_connected") == 1 and
        m.get("tickd_audit_shipped_total") == total,
        "metrics: spool empty, connected, all shipped",
        {k: v for k, v in m.items() if "audit" in k})

    # Connections opened and closed in quick succession: each event is
    # spooled while the one before it is being shipped or confirmed, and
    # must still reach PostgreSQL without waiting for a later one.
    r = login(d, "alice", device="quick")
    if r.status != 200:
        raise Failure(f"login alice:quick: {r!r}")
    total += 1
    late = []
    for i in range(ROUNDS):
        c = await Client.connect(d, r.json["token"], name=f"quick{i}")
        await c.close()
        total += 2
        n = wait_rows(pg, "SELECT count(*) FROM tickd_events", total, 5)
        if n < total:
            late.append((i, n, total))
    t.eq(late, [], f"{ROUNDS} connections one after another: every "
        "connect and disconnect arrives without a later event")

    # A connection replaced by a newer one of its device: its disconnect
    # gives the reason and code tickd closed it with.
    r = login(d, "alice", device="laptop")
    if r.status != 200:
        raise Failure(f"login alice:laptop: {r!r}")
    first = await Client.connect(d, r.json["token"], name="first")
    second = await Client.connect(d, r.json["token"], name="second")
    code = await first.wait_closed()
    await second.close()
    total += 5
    wait_rows(pg, "SELECT count(*) FROM tickd_events", total)
    rows = pg.query("SELECT kind, detail->>'conn', detail->>'reason', "
        "detail->>'code' FROM tickd_events WHERE device = 'laptop' AND "
        "kind IN ('connect', 'disconnect') ORDER BY event_id")
    conns = [r[1] for r in rows if r[0] == "connect"]
    dis = {r[1]: (r[2], r[3]) for r in rows if r[0] == "disconnect"}
    t.ok(code == 4000 and len(conns) == 2 and dis == {
        conns[0]: ("replaced by a newer connection", "4000"),
        conns[1]: ("peer closed", "1000")},
        "a replaced connection's disconnect has its reason and code 4000",
        [code, rows])

    # PostgreSQL away: events wait in the spool; SIGKILL; both come back.
    pg.stop()
    for i in range(KILLED):
        r = login(d, "bob", device=f"k{i}")
        if r.status != 200:
            raise Failure(f"login with PostgreSQL stopped: {r!r}")
    m = metrics(d)
    t.ok(m.get("tickd_audit_spool_events") == KILLED and
        m.get("tickd_audit_connected") == 0,
        f"with PostgreSQL stopped, {KILLED} events wait in the spool",
        {k: v for k, v in m.items() if "audit" in k})
    d.signal(signal.SIGKILL)
    d.wait()

    # As if PostgreSQL had stored the first half before the SIGKILL but
    # its answer was lost: rows with those ids are there already.  The
    # resent batch must leave them as they are and add only the rest.
    ids = spool_ids(d)
    t.eq(len(ids), KILLED, "mdb_dump shows the spooled events")
    pre = ids[:KILLED // 2]
    pg.start()
    pg.query("INSERT INTO tickd_events (event_id, at, kind, username, "
        "device) VALUES " + ", ".join(f"({i}, now(), 'login', 'bob', "
        "'before')" for i in pre))
    d.start()
    n = wait_rows(pg, "SELECT count(*) FROM tickd_events WHERE "
        "kind = 'login' AND username = 'bob'", KILLED)
    time.sleep(0.5)
    rows = pg.query("SELECT device, count(*) FROM tickd_events WHERE "
        "kind = 'login' AND username = 'bob' AND device <> 'before' "
        "GROUP BY device ORDER BY device")
    t.eq(len(rows), KILLED - len(pre), "after SIGKILL and restart the "
        f"other spooled events arrived (saw {n})")
    t.ok(all(c == "1" for _, c in rows), "each of them once", rows)
    got = pg.query("SELECT event_id, device FROM tickd_events WHERE "
        "event_id IN (" + ", ".join(str(i) for i in pre) + ")")
    t.eq(sorted(int(i) for i, dev in got if dev == "before"), sorted(pre),
        "rows already stored were left alone")
    t.eq(pg.query("SELECT count(*) FROM tickd_events")[0][0],
        str(total + KILLED), "and nothing else arrived")
    m = metrics(d)
    t.ok(m.get("tickd_audit_spool_events") == 0 and
        m.get("tickd_audit_dropped_total") == 0,
        "the spool is empty again and nothing was dropped",
        {k: v for k, v in m.items() if "audit" in k})
    tickctl_audit(t, d, pg)
    t.eq(d.stop(), 0, "tickd stops cleanly with the connection open")


if __name__ == "__main__":
    skip_without_postgresql()
    run(main, 29, timeout=55)
