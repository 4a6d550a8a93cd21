#!/usr/bin/python3
# Group traffic under SIGKILL, three cycles of tests/e2e/crashgroups.py:
# group sends, adds and
# removes while tickd is killed at a random moment; after the restart
# every device that was a member when a message was committed has it, no
# other device does, events come in version order with no gap, nothing
# acked comes back, and `tickctl verify` finds every killed store clean.

import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
import crashgroups  # noqa: E402

CYCLES = 3


async def main(t):
    seed = int(os.environ.get("TICKD_SEED") or random.randrange(1 << 30))
    t.diag(f"seed {seed} (TICKD_SEED={seed} replays it)")

    def report(n, probs, summary):
        t.ok(not probs, f"cycle {n + 1}: {summary}", probs[:20])

    await crashgroups.run_group_cycles(CYCLES, seed, report)


run(main, CYCLES, timeout=150)
