#!/usr/bin/python3
# The audit log in PostgreSQL, part 2: outages.  PostgreSQL is stopped in
# the middle of a burst of logins and started again: the logins go on, and
# every event arrives exactly once, through a user allowed nothing but
# INSERT (and SELECT on event_id) on a table made beforehand.  Then a "PostgreSQL" that accepts the
# connection and never answers: message latency through a tickd pointed at
# it is of the same order of magnitude as through a tickd without an audit
# log, measured the same way in this same test.

import asyncio
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from audit_pg import Silent, pg_cluster, skip_without_postgresql  # noqa: E402

BURST = 45
MESSAGES = 150


async def main(t):
    silent = Silent()
    try:
        with pg_cluster(t) as pg:
            await outage(t, pg)
            await never_answers(t, silent)
    finally:
        silent.close()


async def outage(t, pg):
    # The table made beforehand as tickd-audit(7) shows it, and a user
    # allowed nothing but INSERT on it, and SELECT on event_id, which ON
    # CONFLICT needs.
    pg.query("CREATE TABLE tickd_events (event_id bigint PRIMARY KEY, "
        "at timestamptz NOT NULL, kind text NOT NULL, username text, "
        "device text, address inet, detail jsonb NOT NULL DEFAULT '{}'); "
        "CREATE INDEX tickd_events_username_at ON tickd_events "
        "(username, at); CREATE ROLE writer LOGIN; "
        "GRANT INSERT, SELECT (event_id) ON tickd_events TO writer")
    conninfo = pg.conninfo().replace("user=postgres", "user=writer")
    d = Daemon(audit_pg=f'"{conninfo}"', audit_backoff_max="500ms",
        audit_timeout="5s", login_rate="0")
    d.start()
    if register(d, "carol").status != 201:
        raise Failure("register carol")
    ok = []
    slow = []
    for i in range(BURST):
        if i == BURST // 3:
            pg.stop()
        if i == 2 * BURST // 3:
            pg.start()
        t0 = time.monotonic()
        r = login(d, "carol", device=f"d{i}")
        slow.append(time.monotonic() - t0)
        if r.status == 200:
            ok.append(f"d{i}")
    t.eq(len(ok), BURST, "every login of the burst succeeded while "
        "PostgreSQL was stopped and started")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if metrics(d).get("tickd_audit_spool_events") == 0:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    rows = pg.query("SELECT device, count(*) FROM tickd_events WHERE "
        "kind = 'login' GROUP BY device")
    got = {dev: int(n) for dev, n in rows}
    t.eq(got, {dev: 1 for dev in ok}, f"each of the {BURST} login events "
        "arrived exactly once")
    t.eq(pg.query("SELECT count(*), count(DISTINCT event_id) FROM "
        "tickd_events"), [[str(BURST + 1), str(BURST + 1)]],
        "and the register event; nothing else")
    m = metrics(d)
    t.ok(m.get("tickd_audit_failures_total", 0) >= 1 and
        m.get("tickd_audit_connected") == 1,
        "tickd saw the outage and reconnected",
        {k: v for k, v in m.items() if "audit" in k})
    t.eq(d.stop(), 0, "tickd stops cleanly")
    d.cleanup()


class Pair:
    """alice and bob connected to one tickd, to time messages."""

    async def open(self, d, tag):
        self.d = d
        self.tag = tag
        self.times = []
        for u in ("alice", "bob"):
            if register(d, u).status != 201:
                raise Failure(f"{tag}: register {u}")
        self.a = await Client.connect(d, token_for(d, "alice"),
            name="alice")
        self.b = await Client.connect(d, token_for(d, "bob"), name="bob")
        return self

    async def one(self, i):
        """Time message i from send to bob's msg; every 25, a login and
        a connection add audit events in between."""
        if i % 25 == 0:
            c = await Client.connect(self.d, token_for(self.d, "alice",
                device=f"x{i}"), name="extra")
            await c.close()
        t0 = time.monotonic()
        await self.a.send({"op": "send", "to": "bob",
            "id": f"{self.tag}-{i}", "body": {"n": i}})
        f = await self.b.recv_op("msg", 5)
        if f is None:
            raise Failure(f"{self.tag}: message {i} never arrived")
        self.times.append(time.monotonic() - t0)
        await self.b.send({"op": "ack", "mid": f["mid"]})
        if await self.a.recv_op("sent", 5) is None:
            raise Failure(f"{self.tag}: no sent for message {i}")

    async def close(self):
        await self.a.close()
        await self.b.close()


async def never_answers(t, silent):
    """Both daemons run at once and take turns, so that whatever else
    the machine does slows both alike."""
    base = Daemon(name="base", login_rate="0")
    base.start()
    d = Daemon(name="silent", audit_pg=f'"host=127.0.0.1 '
        f'port={silent.port} dbname=x user=x"',
        audit_timeout="200ms", audit_backoff_max="300ms",
        login_rate="0")
    d.start()
    p0 = await Pair().open(base, "base")
    p1 = await Pair().open(d, "silent")
    for i in range(MESSAGES):
        await p0.one(i)
        await p1.one(i)
    await p0.close()
    await p1.close()
    deadline = time.monotonic() + 5
    while silent.accepted < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    m = metrics(d)
    without, with_silent = p0.times, p1.times
    med0 = statistics.median(without)
    med1 = statistics.median(with_silent)
    p90_0 = sorted(without)[int(0.9 * len(without))]
    p90_1 = sorted(with_silent)[int(0.9 * len(with_silent))]
    t.diag(f"median latency without audit {med0 * 1000:.2f} ms, with a "
        f"silent PostgreSQL {med1 * 1000:.2f} ms; 90th percentile "
        f"{p90_0 * 1000:.2f} ms and {p90_1 * 1000:.2f} ms")
    t.ok(silent.accepted >= 2 and m.get("tickd_audit_connected") == 0 and
        m.get("tickd_audit_spool_events", 0) > 0 and
        m.get("tickd_audit_failures_total", 0) >= 1,
        "tickd kept trying the silent server; events wait in the spool",
        [f"accepted {silent.accepted}"] +
        [f"{k} {v}" for k, v in m.items() if "audit" in k])
    t.ok(med1 < 10 * med0 and p90_1 < 10 * p90_0,
        "message latency with a silent PostgreSQL is of the same order "
        "of magnitude as without an audit log",
        f"median {med0:.6f} s vs {med1:.6f} s, "
        f"p90 {p90_0:.6f} s vs {p90_1:.6f} s")
    t.eq(d.stop(), 0, "tickd stops cleanly while connecting")


if __name__ == "__main__":
    skip_without_postgresql()
    run(main, 8, timeout=58)
