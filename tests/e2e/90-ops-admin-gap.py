#!/usr/bin/python3
# Admin commands against a big store while a client pings (issue: admin
# must not freeze the server).  100,000 accounts are seeded with
# tickd-bench seed; mdb_dump and mdb_load queue an item for each of their
# devices and make the item counts of BROKEN of them wrong, so that repair
# has something to fix and the daemon, not tickctl's own read-only check,
# runs it.  Then tickctl user list (walked in slices between turns of the
# loop, tickctl(8)), tickctl repair (in steps between turns, while another
# client sends messages to a user registered meanwhile and to a seeded
# one, which repair must leave consistent) and tickctl dump run one after
# the other while a WebSocket client sends a ping every 10 ms.  The longest wait for a pong during each is printed as a
# benchmark figure (TAP comments, bench/README), never asserted: the
# machine is shared.  What is asserted is that each command answers
# rightly.

import asyncio
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, TICKCTL  # noqa: E402
from bigstore import queue_and_break  # noqa: E402

N = 100000
BROKEN = 100
TRAFFIC_USER = 20	# messages sent meanwhile for each new user
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


async def traffic(d, sender, p, sent):
    """Until tickctl p exits: messages to u-99999 and to users made
    meanwhile, sorting before every seeded one, a new one every
    TRAFFIC_USER sends; their count into sent[0]."""
    late = None
    while p.returncode is None:
        if sent[0] % TRAFFIC_USER == 0:
            late = f"a-late-{sent[0] // TRAFFIC_USER}"
            # In a thread: the HTTP calls block, and the pings must not.
            await asyncio.get_running_loop().run_in_executor(None,
                lambda: token_for(d, late, new=True))
        to = late if sent[0] % 2 == 0 else "u-99999"
        s = await sender.request({"op": "send", "to": to,
            "id": f"m{sent[0]}", "body": "meanwhile"})
        if not s or s.get("op") != "sent":
            raise Failure(f"send to {to}: {s!r}")
        sent[0] += 1
        # Below send_rate, 200 a second.
        await asyncio.sleep(0.006)


async def timed(t, client, d, *args, meanwhile=None):
    """Runs tickctl args while pinging, and the coroutine meanwhile if
    given; (returncode, stdout, longest gap)."""
    stop = asyncio.Event()
    gaps = [0.0]
    task = asyncio.create_task(pinger(client, stop, gaps))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    p = await asyncio.create_subprocess_exec(TICKCTL, "-c", d.conf_path,
        *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    if meanwhile is not None:
        task2 = asyncio.create_task(meanwhile(p))
    out, err = await p.communicate()
    if meanwhile is not None:
        await task2
    took = time.monotonic() - t0
    await asyncio.sleep(0.1)
    stop.set()
    await task
    t.diag(f"bench: tickctl {' '.join(args)} on {N} accounts: "
        f"{took:.2f} s; longest ping round trip meanwhile "
        f"{gaps[0] * 1000:.1f} ms")
    return p.returncode, out, err


async def main(t):
    if not os.access(BENCH, os.X_OK):
        for _ in range(6):
            t.skip("admin on a big store", "tickd-bench is not built")
        return
    # The traffic during repair registers a user every TRAFFIC_USER
    # sends, more of them the longer repair takes (under ThreadSanitizer,
    # past login_rate's 20 a minute from one address): no limit here.
    d = Daemon("admin-gap", login_rate="0")
    tokens = os.path.join(d.dir, "tokens")
    p = subprocess.run([BENCH, "seed", "-D", d.data_dir, "-n", str(N),
        "-T", tokens, "-u", "u-"], capture_output=True, timeout=300)
    t.ok(p.returncode == 0, f"tickd-bench seeds {N} accounts", p)
    items, broken = queue_and_break(d.data_dir, N // BROKEN)
    t.ok(items == N and broken == BROKEN, f"{N} items queued, {BROKEN} "
        "device counts made wrong", (items, broken))
    d.start()
    ta = token_for(d, "pinger", new=True)
    c = await Client.connect(d, ta, name="pinger")
    sender = await Client.connect(d, token_for(d, "sender", new=True),
        name="sender")

    rc, out, err = await timed(t, c, d, "-j", "user", "list")
    users = json.loads(out).get("users", []) if rc == 0 else []
    t.ok(rc == 0 and len(users) == N + 2 and
        [u["user"] for u in users] == sorted(u["user"] for u in users),
        "user list: every account, in name order", (rc, err, len(users)))
    sent = [0]
    rc, out, err = await timed(t, c, d, "-j", "repair",
        meanwhile=lambda p: traffic(d, sender, p, sent))
    r = json.loads(out) if rc == 0 else {}
    t.ok(rc == 0 and r.get("problems") == BROKEN and
        r.get("repaired") == BROKEN and r.get("consistent") is True and
        all("counts 7 items" in x and "(repaired)" in x
        for x in r.get("report", [])),
        f"repair: the {BROKEN} wrong counts, repaired by the daemon",
        (rc, broken, out[-300:], err))
    p = subprocess.run([TICKCTL, "-j", "-c", d.conf_path, "verify"],
        capture_output=True, timeout=300)
    r = json.loads(p.stdout) if p.returncode == 0 else {}
    t.ok(sent[0] > 0 and r.get("problems") == 0 and
        r.get("items") == N + sent[0], f"verify after repair: consistent, "
        f"the {N} items kept and those sent meanwhile", (sent, p))
    t.diag(f"{sent[0]} messages sent during repair")
    rc, out, err = await timed(t, c, d, "-j", "dump", "u-1")
    t.ok(rc == 0 and json.loads(out).get("user") == "u-1",
        "dump of one account", (rc, out[:300], err))
    await c.close()
    await sender.close()
    d.cleanup()


need_tickctl()
run(main, 6, timeout=600)
