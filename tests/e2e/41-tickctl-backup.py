#!/usr/bin/python3
# tickctl backup, verify, dump and repair: a hot backup taken while a
# stream of sends goes on is consistent, opens, verifies and serves its
# messages when restored; verify and dump work next to the daemon and on a
# stopped data_dir (-d); an inconsistency made with LMDB's own tools
# (mdb_dump, mdb_load) is found by verify and fixed by repair.

import asyncio
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403

PRELOAD = 1200
BODY = "b" * 1000


async def preload(c, n, tag):
    """n sends pipelined on one connection; their sent replies."""
    for i in range(n):
        await c.send({"op": "send", "to": "alice", "id": f"{tag}{i}",
            "body": {"text": BODY, "n": i}})
    sent = await c.collect("sent", quiet=2, limit=30)
    if len(sent) != n:
        raise Failure(f"preload: {len(sent)} of {n} sent")


def corrupt_device_count(path, count):
    """Rewrite alice:default's item count in a backup file with mdb_dump
    and mdb_load, as a damaged store would hold it."""
    out = subprocess.run(["mdb_dump", "-n", "-s", "devices", path],
        capture_output=True, check=True, timeout=20).stdout.decode()
    lines = out.splitlines()
    key = "alice\0default".encode().hex()
    for i, line in enumerate(lines):
        if line.strip() == key:
            v = bytearray.fromhex(lines[i + 1].strip())
            v[25:33] = count.to_bytes(8, sys.byteorder)
            lines[i + 1] = " " + v.hex()
            break
    else:
        raise Failure("alice:default not in the dump")
    subprocess.run(["mdb_load", "-n", "-s", "devices", path],
        input=("\n".join(lines) + "\n").encode(), check=True,
        capture_output=True, timeout=20)


async def main(t):
    # send_rate 0: the preload is faster than one user may send by default.
    with Daemon(send_rate=0) as d:
        register(d, "alice")
        tb = token_for(d, "bob", new=True)
        bob = await Client.connect(d, tb, name="bob")
        await preload(bob, PRELOAD, "p")

        # A stream of sends from a second client while the backup runs.
        stop = asyncio.Event()
        stream = {"sent": 0}
        tb2 = token_for(d, "bob", device="tab")
        bob2 = await Client.connect(d, tb2, name="bob/tab")

        async def sender():
            i = 0
            while not stop.is_set():
                r = await bob2.request({"op": "send", "to": "alice",
                    "id": f"s{i}", "body": {"text": "during", "n": i}})
                if not r or r.get("op") != "sent":
                    raise Failure(f"stream send: {r!r}")
                stream["sent"] += 1
                i += 1

        task = asyncio.create_task(sender())
        await asyncio.sleep(0.3)
        before = stream["sent"]
        file = os.path.join(d.dir, "backup.mdb")
        r = await asyncio.to_thread(tickctl, d, "backup", file)
        during = stream["sent"]
        await asyncio.sleep(0.3)
        stop.set()
        await task
        t.ok(r.ok and r.get("file") == file and os.path.isfile(file) and
            r.get("users") == 2 and r.get("bytes") == os.path.getsize(file),
            "backup while the daemon serves a stream of sends", r)
        t.ok(before > 0 and stream["sent"] > during,
            "sends went on before and after the backup",
            f"{before} before, {during} by its end, {stream['sent']} in all")
        t.ok(not [f for f in os.listdir(d.dir) if f.startswith(
            "backup.mdb.")], "no temporary file is left beside the backup")

        r = tickctl(d, "-d", file, "verify", how="none")
        t.ok(r.ok and r.get("consistent") is True and
            r.get("problems") == 0 and r.get("users") == 2 and
            r.get("items", 0) >= PRELOAD, "the backup opens and passes "
            "verify -d", r)
        r = tickctl(d, "-d", file, "dump", "alice", how="none")
        backup_items = sum(dv.get("items", 0)
            for dv in (r.json or {}).get("devices", []))
        t.ok(r.ok and PRELOAD + before <= backup_items <=
            PRELOAD + stream["sent"], "the backup holds the preload and "
            "part of the stream", f"{backup_items} items; {r!r}"[:800])

        r = tickctl(d, "backup", file)
        t.ok(r.one_error_line("exists"), "backup never replaces a file", r)

        # A progress line on a terminal (script(1) gives one).
        file2 = os.path.join(d.dir, "backup2.mdb")
        p = subprocess.run(["script", "-qec", f"{TICKCTL} -c "
            f"{d.conf_path} backup {file2}", "/dev/null"],
            capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        out = p.stdout.decode(errors="replace")
        t.ok(p.returncode == 0 and "backup: " in out and "of at most" in
            out and "\r" in out and "backup written to" in out,
            "on a terminal backup shows a progress line", repr(out[-400:]))

        # verify and dump next to the running daemon.
        r = tickctl(d, "verify")
        t.ok(r.ok and r.get("consistent") is True and
            r.get("messages", 0) >= PRELOAD, "verify of the live store", r)
        r2 = tickctl(d, "verify", json_out=False)
        t.ok(r2.ok and r2.out.startswith("consistent: 2 users"),
            "verify prints one summary line", r2)
        r = tickctl(d, "dump", "alice")
        dv = (r.json or {}).get("devices", [{}])[0]
        items = dv.get("queue_items", [])
        t.ok(r.ok and r.get("user") == "alice" and
            len(items) == dv.get("items") and items and
            items[0].get("kind") == "msg" and
            items[0].get("frame", {}).get("body", {}).get("n") == 0 and
            len(r.get("received", [])) == len(items),
            "dump alice: devices, queued frames, received messages", r)
        t.ok("hash" not in r.out and "salt" not in r.out and
            "password" not in r.out, "the dump holds no password hash")
        r = tickctl(d, "dump", "bob")
        t.ok(r.ok and len(r.get("sent", [])) >= PRELOAD and
            len(r.get("client_ids", [])) >= PRELOAD and
            len(r.get("tokens", [])) == 2 and
            all("device" in x and "valid" in x for x in r.get("tokens")),
            "dump bob: sent messages, client ids, tokens without values",
            {k: len(v) if isinstance(v, list) else v
                for k, v in (r.json or {}).items()})
        r = tickctl(d, "dump", "zed")
        t.ok(r.one_error_line("no such user: zed"), "dump of an unknown "
            "user", r)
        await bob.close()
        await bob2.close()

        # On a stopped data_dir, with -d.
        t.eq(d.stop(), 0, "the daemon stops")
        r = tickctl(d, "-d", d.data_dir, "verify", how="none")
        t.ok(r.ok and r.get("consistent") is True, "verify -d on the "
            "stopped data_dir", r)
        r = tickctl(d, "-d", d.data_dir, "dump", "alice", how="none")
        t.ok(r.ok and r.get("user") == "alice", "dump -d on the stopped "
            "data_dir", r)
        file3 = os.path.join(d.dir, "backup3.mdb")
        r = tickctl(d, "-d", d.data_dir, "backup", file3, how="none")
        t.ok(r.ok and os.path.isfile(file3), "backup -d of the stopped "
            "data_dir", r)
        r = tickctl(d, "user", "list")
        t.ok(r.one_error_line("is tickd running?"), "a daemon command "
            "with no daemon: one error line", r)

        # Restore: the backup serves its messages.
        restore = os.path.join(d.dir, "restore")
        os.mkdir(restore, 0o700)
        shutil.copy(file, os.path.join(restore, "data.mdb"))
        with Daemon("restored", data_dir=restore) as d2:
            ta = login(d2, "alice").json["token"]
            a = await Client.connect(d2, ta, name="alice", timeout=10)
            got = []
            while True:
                batch = await a.collect("msg", quiet=1, limit=20)
                if not batch:
                    break
                got += batch
                await a.send({"op": "ack", "mids": [m["mid"] for m in
                    batch]})
            t.ok(len(got) == backup_items and
                increasing([m["mid"] for m in got]),
                "the restored backup delivers every item it holds, in "
                "order", f"{len(got)} of {backup_items}")
            await a.close()

        # verify finds what mdb_load broke; repair fixes it.
        broken = os.path.join(d.dir, "broken.mdb")
        shutil.copy(file3, broken)
        corrupt_device_count(broken, 7)
        r = tickctl(d, "-d", broken, "verify", how="none")
        rep = r.get("report") or []
        t.ok(r.rc == 1 and r.get("consistent") is False and
            r.get("problems") == 1 and len(rep) == 1 and
            "alice:default counts 7 items" in rep[0] and
            "inconsistent" in r.err, "verify finds a wrong item count", r)
        fixdir = os.path.join(d.dir, "fix")
        os.mkdir(fixdir, 0o700)
        shutil.copy(broken, os.path.join(fixdir, "data.mdb"))
        with Daemon("fix", data_dir=fixdir) as d3:
            r = tickctl(d3, "repair")
            t.ok(r.ok and r.get("problems") == 1 and
                r.get("repaired") == 1 and r.get("consistent") is True,
                "repair fixes it in the running daemon", r)
            r = tickctl(d3, "verify")
            t.ok(r.ok and r.get("problems") == 0, "verify after repair",
                r)


need_tickctl()
run(main, 22)
