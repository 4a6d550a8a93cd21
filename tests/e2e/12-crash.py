#!/usr/bin/python3
# The crash test: five cycles of the crash-consistency harness
# (crashlib.py says what a cycle does and checks; tests/crash-loop -n N runs
# as many as asked).  Each cycle is one TAP line: sends, acks, reads and
# fetches of one-time keys from several clients, SIGKILL at a random
# moment, tickctl verify when it is built, restart, and every promise
# checked.  TICKD_SEED=N replays a run.

import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
import crashlib  # noqa: E402

CYCLES = 5


async def main(t):
    seed = int(os.environ.get("TICKD_SEED") or random.randrange(1 << 30))
    t.diag(f"seed {seed} (TICKD_SEED={seed} replays it)")
    if crashlib.tickctl_path() is None:
        t.diag("no tickctl beside tickd: the store is not verified")
    h = crashlib.Harness(seed)
    try:
        h.start()
        for n in range(CYCLES):
            probs, summary = await h.cycle(n)
            t.ok(not probs, f"cycle {n + 1}: {summary}: every promise "
                "kept", probs[:20])
        t.eq(h.stop(), 0, "tickd exits 0 on SIGTERM after the crashes")
    finally:
        h.cleanup()


run(main, CYCLES + 1)
