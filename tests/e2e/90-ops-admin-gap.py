#!/usr/bin/python3
# Admin commands against a big store while a client pings (issue: admin
# must not freeze the server).  100,000 accounts are seeded with
# tickd-bench seed, and the item counts of BROKEN of their devices are
# made wrong with mdb_dump and mdb_load, so that repair has something to
# fix and the daemon, not tickctl's own read-only check, runs it; then
# tickctl user list (walked in slices between turns of the loop,
# tickctl(8)), tickctl repair and tickctl dump run one after the other
# while a WebSocket client sends a ping every 10 ms.  The longest wait for
# a pong during each is printed as a benchmark figure (TAP comments,
# bench/README), never asserted: the machine is shared.  What is asserted
# is that each command answers rightly.

import asyncio
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, TICKCTL  # noqa: E402

N = 100000
BROKEN = 100
BENCH = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "bench",
    "tickd-bench")


async def pinger(client, stop, gaps):
    """Pings until stop is set; the longest round trip into gaps[0]."""
    while not stop.is_set():
        t0 = time.monotonic()
        await client.send({"op": "ping"})
        await client.recv_op("pong", timeout=60)
        gaps[0] = max(gaps[0], time.monotonic() - t0)
        await asyncio.sleep(0.01)


async def timed(t, client, d, *args):
    """Runs tickctl args while pinging; (returncode, stdout, longest gap)."""
    stop = asyncio.Event()
    gaps = [0.0]
    task = asyncio.create_task(pinger(client, stop, gaps))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    p = await asyncio.create_subprocess_exec(TICKCTL, "-c", d.conf_path,
        *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await p.communicate()
    took = time.monotonic() - t0
    await asyncio.sleep(0.1)
    stop.set()
    await task
    t.diag(f"bench: tickctl {' '.join(args)} on {N} accounts: "
        f"{took:.2f} s; longest ping round trip meanwhile "
        f"{gaps[0] * 1000:.1f} ms")
    return p.returncode, out, err


def break_counts(data_dir, every):
    """Sets the item count of every every-th device to 7 (their queues
    are empty), rewriting those records with mdb_dump and mdb_load; how
    many it changed."""
    out = subprocess.run(["mdb_dump", "-s", "devices", data_dir],
        capture_output=True, check=True, timeout=120).stdout.decode()
    lines = out.splitlines()
    end = lines.index("HEADER=END") + 1
    load = lines[:end]
    pairs = lines[end:lines.index("DATA=END")]
    for i in range(0, len(pairs) - 1, 2 * every):
        v = bytearray.fromhex(pairs[i + 1].strip())
        v[25:33] = (7).to_bytes(8, sys.byteorder)
        load += [pairs[i], " " + v.hex()]
    subprocess.run(["mdb_load", "-s", "devices", data_dir],
        input=("\n".join(load + ["DATA=END"]) + "\n").encode(),
        check=True, capture_output=True, timeout=120)
    return (len(load) - end) // 2


async def main(t):
    if not os.access(BENCH, os.X_OK):
        for _ in range(5):
            t.skip("admin on a big store", "tickd-bench is not built")
        return
    d = Daemon("admin-gap")
    tokens = os.path.join(d.dir, "tokens")
    p = subprocess.run([BENCH, "seed", "-D", d.data_dir, "-n", str(N),
        "-T", tokens, "-u", "u-"], capture_output=True, timeout=300)
    t.ok(p.returncode == 0, f"tickd-bench seeds {N} accounts", p)
    broken = break_counts(d.data_dir, N // BROKEN)
    d.start()
    ta = token_for(d, "pinger", new=True)
    c = await Client.connect(d, ta, name="pinger")

    rc, out, err = await timed(t, c, d, "-j", "user", "list")
    users = json.loads(out).get("users", []) if rc == 0 else []
    t.ok(rc == 0 and len(users) == N + 1 and
        [u["user"] for u in users] == sorted(u["user"] for u in users),
        "user list: every account, in name order", (rc, err, len(users)))
    rc, out, err = await timed(t, c, d, "-j", "repair")
    r = json.loads(out) if rc == 0 else {}
    t.ok(rc == 0 and broken == BROKEN and r.get("problems") == BROKEN and
        r.get("repaired") == BROKEN and r.get("consistent") is True and
        all("counts 7 items" in x and "(repaired)" in x
        for x in r.get("report", [])),
        f"repair: the {BROKEN} wrong counts, repaired by the daemon",
        (rc, broken, out[-300:], err))
    p = subprocess.run([TICKCTL, "-j", "-c", d.conf_path, "verify"],
        capture_output=True, timeout=300)
    t.ok(p.returncode == 0 and json.loads(p.stdout).get("problems") == 0,
        "verify after repair: consistent", p)
    rc, out, err = await timed(t, c, d, "-j", "dump", "u-1")
    t.ok(rc == 0 and json.loads(out).get("user") == "u-1",
        "dump of one account", (rc, out[:300], err))
    await c.close()
    d.cleanup()


need_tickctl()
run(main, 5, timeout=600)
