#!/usr/bin/python3
# tickctl(8) and push: push show of a user and of a device (endpoint,
# failures, the pending notification), push del, stats with the push
# figures; verify finds a pending notification and an endpoint of devices
# that do not exist (written into a backup with mdb_load), repair drops
# them.

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403


def add_copy(path, db, key, new_key):
    """Add to database db of a backup file the value of key under
    new_key, with mdb_dump and mdb_load, as a damaged store would hold
    it."""
    out = subprocess.run(["mdb_dump", "-n", "-s", db, path],
        capture_output=True, check=True, timeout=20).stdout.decode()
    lines = out.splitlines()
    hexkey = key.encode().hex()
    for i, line in enumerate(lines):
        if line.strip() == hexkey:
            value = lines[i + 1]
            break
    else:
        raise Failure(f"{key!r} not in {db}")
    end = lines.index("DATA=END")
    lines[end:end] = [" " + new_key.encode().hex(), value]
    subprocess.run(["mdb_load", "-n", "-s", db, path],
        input=("\n".join(lines) + "\n").encode(), check=True,
        capture_output=True, timeout=20)


async def main(t):
    # push_delay 1h: the notification stays pending for the whole test.
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay="1h", push_timeout="2s") as d:
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", "phone", new=True)
        token_for(d, "bob", "tablet")
        b = await Client.connect(d, tb, name="bob")
        rep = await b.request({"op": "push_register",
            "endpoint": r.url("/bob"), "ref": 1})
        await b.close()
        if rep != {"op": "ok", "ref": 1}:
            raise Failure(f"push_register: {rep!r}")
        a = await Client.connect(d, ta, name="alice")
        sent = await a.request({"op": "send", "to": "bob", "id": "m1",
            "body": "x"})
        await a.close()

        c = tickctl(d, "push", "show", "bob:phone")
        devs = c.get("devices") or []
        dev = devs[0] if len(devs) == 1 else {}
        p = dev.get("pending") or {}
        t.ok(c.ok and dev.get("device") == "phone" and
            dev.get("endpoint") == r.url("/bob") and
            dev.get("kind") == "unifiedpush" and dev.get("failures") == 0
            and dev.get("device_exists") is True and
            p.get("mid") == (sent or {}).get("mid") and p.get("tries") == 0,
            "push show bob:phone: endpoint, kind, failures and the "
            "pending notification of the newest message", c)
        c = tickctl(d, "push", "show", "bob")
        t.ok(c.ok and [x.get("device") for x in c.get("devices", [])] ==
            ["phone"], "push show bob: the one device with an endpoint",
            c)
        c = tickctl(d, "push", "show", "bob:tablet")
        devs = c.get("devices") or [{}]
        t.ok(c.ok and devs[0].get("endpoint") is None and
            devs[0].get("pending") is None, "push show of a device "
            "without endpoint: endpoint and pending null", c)
        c = tickctl(d, "push", "show", "bob:phone", json_out=False)
        t.ok(c.ok and f"endpoint:        {r.url('/bob')}" in c.out and
            "pending:         " + (sent or {}).get("mid", "?") in c.out,
            "push show prints a table", c)
        errs = [tickctl(d, "push", "show", "nobody"),
            tickctl(d, "push", "show", "bob:ghost"),
            tickctl(d, "push", "show", "Bad!"),
            tickctl(d, "push", "del", "bob"),
            tickctl(d, "push", "del", "bob:tablet")]
        t.ok(errs[0].one_error_line("no such user") and
            errs[1].one_error_line("no such user or device") and
            errs[2].one_error_line("bad user name") and
            errs[3].one_error_line("user:device") and
            errs[4].one_error_line("no push endpoint"),
            "push show of no user, of no device, of a bad name, push del "
            "without device or of a device without endpoint: one error "
            "line each", errs)

        c = tickctl(d, "stats")
        pp = c.get("push_posts") or {}
        t.ok(c.ok and c.get("push") is True and c.get("push_pending") == 1
            and pp == {"ok": 0, "retry": 0, "gone": 0, "dropped": 0},
            "stats: push on, one pending, no POST yet", c)
        c = tickctl(d, "stats", json_out=False)
        t.ok(c.ok and "push:            on; 1 pending" in c.out,
            "stats prints the push line", c)
        c = tickctl(d, "verify")
        t.ok(c.ok and c.get("consistent") is True and
            c.get("push_endpoints") == 1 and c.get("push_pending") == 1,
            "verify: one endpoint, one pending notification, consistent",
            c)

        # A notification and an endpoint of devices that do not exist.
        broken = os.path.join(d.dir, "broken.mdb")
        c = tickctl(d, "backup", broken)
        if not c.ok:
            raise Failure(f"backup: {c!r}")
        add_copy(broken, "push_notes", "bob\0phone", "bob\0ghost")
        add_copy(broken, "push_endpoints", "bob\0phone", "zed\0x")
        c = tickctl(d, "-d", broken, "verify", how="none")
        rep = "\n".join(c.get("report") or [])
        t.ok(c.rc == 1 and c.get("consistent") is False and
            c.get("problems") == 2 and
            "pending push notification of bob:ghost: no such device" in rep
            and "push endpoint of zed:x: no such device" in rep,
            "verify finds the notification and the endpoint of devices "
            "that do not exist", c)
        fixdir = os.path.join(d.dir, "fix")
        os.mkdir(fixdir, 0o700)
        shutil.copy(broken, os.path.join(fixdir, "data.mdb"))
        with Daemon("fix", data_dir=fixdir, push_allow_hosts="127.0.0.1",
                push_allow_http="yes", push_allow_private="yes",
                push_delay="1h") as d3:
            c = tickctl(d3, "repair")
            t.ok(c.ok and c.get("problems") == 2 and
                c.get("repaired") == 2 and c.get("consistent") is True,
                "repair drops both", c)
            c = tickctl(d3, "verify")
            t.ok(c.ok and c.get("problems") == 0 and
                c.get("push_pending") == 1 and c.get("push_endpoints") == 1,
                "verify after repair: bob:phone's are kept", c)

        c = tickctl(d, "push", "del", "bob:phone")
        t.ok(c.ok and c.get("endpoint") == r.url("/bob") and
            c.get("pending") is True, "push del bob:phone: its endpoint "
            "and pending notification", c)
        c = tickctl(d, "push", "show", "bob:phone")
        devs = c.get("devices") or [{}]
        t.ok(c.ok and devs[0].get("endpoint") is None and
            devs[0].get("pending") is None and
            tickctl(d, "stats").get("push_pending") == 0,
            "after push del: no endpoint, nothing pending", c)
        b = await Client.connect(d, tb, name="bob")
        await b.send({"op": "push_status"})
        st = await b.recv_op("push_status")
        await b.close()
        t.ok(st.get("endpoint") is None, "the device's push_status says "
            "no endpoint", st)
        t.eq(r.to("/bob"), [], "no POST was made")


need_push()
need_tickctl()
run(main, 15, timeout=150)
