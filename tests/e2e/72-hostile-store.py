#!/usr/bin/python3
# A tickctl backup killed half way (here by the file size limit, as a
# full disk quota would) leaves a reader slot in the store's lock file:
# tickd clears it instead of filling the store, and the backup leaves no
# temporary file behind.  Overwriting one 200 KB value far more times
# than the map holds must keep working.

import os
import resource
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403
from resp_test import RespDaemon  # noqa: E402

VALUE = 200 * 1024
LIVE = 60               # 12 MB of live values
ROUNDS = 600            # 120 MB of overwrites in a 48 MB map
BATCH = 10


def small_files():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


async def main(t):
    d = RespDaemon("hostile-store", map_size="48m", resp_max_bulk="1m")
    d.start()
    r = d.conn()
    for i in range(0, LIVE, BATCH):
        got = r.pipeline([("SET", f"live:{j}", os.urandom(VALUE))
            for j in range(i, i + BATCH)])
        if any(g != "OK" for g in got):
            raise Failure(f"preload: {got!r}")

    dest = os.path.join(d.dir, "bk")
    os.makedirs(dest)
    file = os.path.join(dest, "backup.mdb")
    p = subprocess.run([TICKCTL, "-c", d.conf_path, "backup", file],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
        preexec_fn=small_files)
    t.eq(p.returncode, -signal.SIGXFSZ, "tickctl backup is killed by "
        "the file size limit half way")
    t.eq(os.listdir(dest), [], "the killed backup left no temporary "
        "file")

    # One at a time: each its own commit, each leaving its old value's
    # pages to the dead reader (overwrites in one commit reuse them).
    failed = []
    value = os.urandom(VALUE)
    for i in range(ROUNDS):
        if r.cmd("SET", "big", value) != "OK":
            failed.append(i)
    t.diag(f"{len(failed)} of {ROUNDS} overwrites failed: {failed[:20]}")
    t.ok(len(failed) <= 1 and all(f < ROUNDS - 2 for f in failed),
        f"{ROUNDS} overwrites of a {VALUE >> 10} KB value go on after a "
        "dead reader (one at most fails)")
    t.eq(r.cmd("SET", "last", "x"), "OK", "the store takes writes")
    t.eq(http_request(d, "GET", "/healthz").status, 200, "healthz is ok")
    with open(d.log_path) as f:
        log = f.read()
    t.ok("cleared 1 stale reader slot" in log, "tickd logged the reader "
        "slot it cleared", d.tail())
    r.close()
    d.stop()


need_tickctl()
run(main, 6, timeout=120)
