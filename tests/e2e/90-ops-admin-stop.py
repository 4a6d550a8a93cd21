#!/usr/bin/python3
# tickd stopped while a control command answered in steps between turns
# of the loop is under way (tickctl(8) user list, repair): it stops at
# once, exits 0, and under make check-valgrind frees the command's state
# (a step waiting on its timer at exit was once lost).  The store has N
# accounts, each with one queued item, and BROKEN wrong item counts, so
# that repair has steps to take; the user list's reader stops reading, so
# that its next slice waits for it.

import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl  # noqa: E402
from bigstore import queue_and_break  # noqa: E402

N = 20000
BROKEN = 50
BENCH = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "bench",
    "tickd-bench")


def control(d, cmd):
    """A control connection with cmd sent; the socket and the first
    bytes of the answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(d.conf["control_socket"])
    s.sendall((json.dumps({"v": 1, "cmd": cmd, "args": []}) +
        "\n").encode())
    return s, s.recv(64)


def stops(t, d, what):
    """SIGTERM while what is under way: tickd exits 0, promptly."""
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    rc = d.wait(timeout=60)
    t.ok(rc == 0, f"tickd stopped during {what} exits 0", (rc, d.tail()))
    t.diag(f"stopped in {time.monotonic() - t0:.2f} s")


async def main(t):
    if not os.access(BENCH, os.X_OK):
        for _ in range(6):
            t.skip("stop during admin commands", "tickd-bench is not built")
        return
    d = Daemon("admin-stop")
    p = subprocess.run([BENCH, "seed", "-D", d.data_dir, "-n", str(N),
        "-T", os.path.join(d.dir, "tokens"), "-u", "u-"],
        capture_output=True, timeout=300)
    t.ok(p.returncode == 0, f"tickd-bench seeds {N} accounts", p)
    items, broken = queue_and_break(d.data_dir, N // BROKEN)
    t.ok(items == N and broken == BROKEN, f"{N} items queued, {BROKEN} "
        "device counts made wrong", (items, broken))

    # user list: its answer is megabytes; read its first bytes only, so
    # that the daemon's next slice waits for the reader.
    d.start()
    s, head = control(d, "user list")
    t.ok(head.startswith(b'{"v":1,"ok":true,"users":['),
        "user list under way", head)
    time.sleep(1)
    stops(t, d, "a user list whose reader stopped reading")
    s.close()

    # repair: steps of 500 records each, the next on a timer.
    d.start()
    s, head = control(d, "repair")
    t.ok(head.startswith(b'{"report":['), "repair under way", head)
    stops(t, d, "a repair")
    s.close()
    d.cleanup()


need_tickctl()
run(main, 6, timeout=300)
