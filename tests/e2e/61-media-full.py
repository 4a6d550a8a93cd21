#!/usr/bin/python3
# A disk that fills during an upload (tickd-protocol(7) MEDIA): media_dir
# on a 2 MiB tmpfs, a 3 MiB upload is answered 503 unavailable, leaves no
# temporary or partial file, and the next upload that fits still works.
# Needs root to mount the tmpfs; skipped otherwise.

import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


async def main(t):
    d = Daemon(media_min_free="0", max_media_bytes="8m")
    mdir = os.path.join(d.dir, "media")
    os.makedirs(mdir)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
        mdir], capture_output=True)
    if p.returncode != 0:
        for desc in ("upload on a full disk: 503", "no file left",
                "an upload that fits still works"):
            t.skip(desc, "cannot mount a tmpfs (not root?)")
        d.cleanup()
        return
    try:
        d.conf["media_dir"] = mdir
        with d:
            ta = token_for(d, "alice", new=True)
            r = http_request(d, "POST", "/v1/media", body=os.urandom(
                3 << 20), token=ta)
            t.ok(r.status == 503 and r.error == "unavailable",
                "upload on a full disk: 503 unavailable", r)
            left = [os.path.join(dp, f) for dp, _, fs in os.walk(mdir)
                for f in fs]
            t.eq(left, [], "no temporary or partial file left")
            r = http_request(d, "POST", "/v1/media", body=b"x" * 1000,
                token=ta)
            t.eq(r.status, 201, "an upload that fits still works")
    finally:
        subprocess.run(["umount", mdir], capture_output=True)


run(main, 3)
