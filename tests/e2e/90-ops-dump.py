#!/usr/bin/python3
# tickctl(8) dump streams: a user with thousands of queued items is dumped
# as one JSON object, written as the store is read (with -j and without),
# whose items and message records are all there and whose keys are not
# given twice.  tickctl's peak memory is printed (not asserted).

import json
import os
import resource
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, TICKCTL  # noqa: E402

N = 3000


def no_dups(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys {keys}")
    return dict(pairs)


async def main(t):
    with Daemon("dump", send_rate=100000, send_burst=100000,
        max_queue=100000) as d:
        ta = token_for(d, "alice", new=True)
        token_for(d, "bob", new=True)
        a = await Client.connect(d, ta, name="alice")
        for i in range(N):
            await a.send({"op": "send", "to": "bob", "id": f"m{i}",
                "body": f"message {i}"})
        sent = 0
        while sent < N:
            f = await a.recv_op(("sent", "error"), timeout=30)
            if f is None or f.get("op") != "sent":
                raise Failure(f"send: {f!r}")
            sent += 1
        await a.close()
        for args in (["dump", "bob"], ["-j", "dump", "bob"]):
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            p = subprocess.run([TICKCTL, "-c", d.conf_path, *args],
                capture_output=True, timeout=120)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            try:
                dump = json.loads(p.stdout, object_pairs_hook=no_dups)
            except ValueError as e:
                dump = {"error": str(e)}
            items = sum(len(dv.get("queue_items", []))
                for dv in dump.get("devices", []))
            t.ok(p.returncode == 0 and items == N and
                len(dump.get("received", [])) == N,
                f"tickctl {' '.join(args)}: one JSON object, {N} items and "
                f"{N} received records, no key twice",
                (p.returncode, items, p.stderr[-300:], dump.get("error")))
            t.diag(f"bench: tickctl {' '.join(args)}: {len(p.stdout)} "
                f"bytes; peak RSS of the children so far {peak} KiB "
                f"(before: {before} KiB)")
        p = subprocess.run([TICKCTL, "-c", d.conf_path, "dump", "nobody"],
            capture_output=True, timeout=60)
        t.ok(p.returncode == 1 and p.stdout == b"" and
            b"no such user: nobody" in p.stderr,
            "an unknown user: an error and nothing on standard output", p)


need_tickctl()
run(main, 3, timeout=180)
