#!/usr/bin/python3
# tickctl(8) and media: media list, show and del; stats with media files
# and bytes; verify finds a record whose file is gone and a file no record
# names, repair fixes both; backup --media copies the files the store copy
# names, and a daemon started on the restored copy serves them; user del
# deletes the user's media.

import hashlib
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403


def upload(d, token, data):
    r = http_request(d, "POST", "/v1/media", body=data, token=token,
        headers={"Content-Type": "image/jpeg"})
    if r.status != 201:
        raise Failure(f"upload: {r!r}")
    return r.json["media"]


async def main(t):
    # dedup_window 2s: the sweep runs every half second.
    with Daemon(media_min_free="0", dedup_window="2s") as d:
        mdir = os.path.join(d.data_dir, "media")
        ta = token_for(d, "alice", new=True)
        tb = token_for(d, "bob", new=True)
        a1, a2 = os.urandom(1000), os.urandom(2000)
        i1, i2 = upload(d, ta, a1), upload(d, ta, a2)
        i3 = upload(d, tb, os.urandom(500))

        c = tickctl(d, "media", "list", "alice")
        ids = sorted(m.get("media") for m in c.get("media", []))
        t.ok(c.ok and ids == sorted([i1, i2]) and
            c.get("quota_bytes") == 3000, "media list alice: her two IDs "
            "and 3000 quota bytes", c)
        c = tickctl(d, "media", "list", "nobody")
        t.ok(c.one_error_line("no such user"), "media list of no user: "
            "one error line", c)
        c = tickctl(d, "media", "show", i1)
        t.ok(c.ok and c.get("uploader") == "alice" and c.get("size") ==
            1000 and c.get("type") == "image/jpeg" and c.get("sha256") ==
            hashlib.sha256(a1).hexdigest() and c.get("live") is True,
            "media show: uploader, size, type, sha256, live", c)
        c = tickctl(d, "media", "show", "AAAAAAAAAAAAAAAAAAAAAA")
        t.ok(c.one_error_line("no such media"), "media show of an unknown "
            "ID: one error line", c)
        c = tickctl(d, "media", "show", i1, json_out=False)
        t.ok(c.ok and "uploader:        alice" in c.out, "media show "
            "prints a table", c)
        c = tickctl(d, "stats")
        t.ok(c.ok and c.get("media_files") == 3 and c.get("media_bytes") ==
            3500, "stats: media files and bytes", c)
        c = tickctl(d, "media", "del", i3)
        t.ok(c.ok and c.get("uploader") == "bob", "media del of bob's ID",
            c)
        t.eq(http_request(d, "GET", f"/v1/media/{i3}", token=tb).status,
            404, "deleted by tickctl: 404")

        # backup --media, then a daemon on the restored copy.
        bdir = os.path.join(d.dir, "backup")
        os.makedirs(bdir)
        c = tickctl(d, "backup", os.path.join(bdir, "data.mdb"), "--media",
            os.path.join(bdir, "media"))
        t.ok(c.ok and c.get("media_files") == 2 and
            c.get("media_missing") == 0, "backup --media copies the two "
            "files the copy names", c)
        with Daemon(name="restored", data_dir=bdir,
                media_min_free="0") as r:
            tok = token_for(r, "alice")
            g = http_request(r, "GET", f"/v1/media/{i2}", token=tok,
                headers={"Range": "bytes=0-9"})
            t.ok(g.status == 206 and g.raw == a2[:10], "the restored "
                "copy serves a range of the media", g.status)

        # verify and repair: a record without its file, a file without
        # record.
        os.unlink(os.path.join(mdir, hashlib.sha256(a1).hexdigest()))
        stray = os.path.join(mdir, "ab" * 32)
        with open(stray, "wb") as f:
            f.write(b"stray")
        c = tickctl(d, "verify")
        rep = "\n".join(c.get("report", []))
        t.ok(c.rc == 1 and c.get("consistent") is False and i1 in rep and
            "missing" in rep, "verify finds the record whose file is "
            "gone", c)
        t.ok("ab" * 32 in rep and "no media record" in rep and
            c.get("orphan_files") == 1, "verify finds the file no record "
            "names", rep)
        c = tickctl(d, "repair")
        t.ok(c.ok and c.get("repaired", 0) >= 1 and
            c.get("orphan_files") == 1, "repair fixes both", c)
        t.ok(not os.path.exists(stray), "repair removed the stray file")
        c = tickctl(d, "verify")
        t.ok(c.ok and c.get("consistent") is True and c.get("media") == 1,
            "verify after repair: consistent, one media ID", c)
        t.eq(http_request(d, "GET", f"/v1/media/{i1}", token=ta).status,
            404, "the ID whose file was lost is 404")

        # user del deletes the account's media.
        c = tickctl(d, "user", "del", "alice")
        t.ok(c.ok and c.get("media") == 1, "user del: one media ID "
            "deleted with alice", c)
        t.eq(http_request(d, "GET", f"/v1/media/{i2}", token=tb).status,
            404, "her media is 404")
        t.ok(wait_gone(mdir, hashlib.sha256(a2).hexdigest()), "and its "
            "file is removed by the sweep")


def wait_gone(mdir, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(os.path.join(mdir, name)):
            return True
        time.sleep(0.2)
    return False


need_tickctl()
run(main, 19, timeout=150)
