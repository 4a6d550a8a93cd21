#!/usr/bin/python3
# tickctl(8) user import: accounts from JSON lines with password hashes in
# the PHC string format of scrypt, made here by Python's hashlib (not by
# tickd) at costs other than tickd's own; each logs in with its password,
# also after a restart, since the cost is stored with the hash.  Bad lines
# are reported with their number and the others imported; an account
# registered over HTTP and one whose password tickctl changed still work.

import base64
import hashlib
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl  # noqa: E402


def b64(b):
    return base64.b64encode(b).decode().rstrip("=")


def phc(password, ln, r, p, salt=None):
    salt = salt or os.urandom(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=1 << ln, r=r, p=p,
        dklen=32)
    return f"$scrypt$ln={ln},r={r},p={p}${b64(salt)}${b64(h)}"


async def main(t):
    with Daemon("import") as d:
        t.eq(register(d, "alice").status, 201, "alice registers over HTTP")
        lines = [
            {"user": "bob", "password_hash": phc("bob-pw", 10, 8, 1)},
            {"user": "carol", "password_hash": phc("carol-pw", 12, 4, 2)},
            "this is not json",
            {"user": "dave", "password_hash": "$scrypt$ln=10,r=8,p=1$AAAA$BBBB"},
            {"user": "alice", "password_hash": phc("x", 10, 8, 1)},
            {"user": "Eve!", "password_hash": phc("x", 10, 8, 1)},
            {"user": "erin"},
            {"user": "frank", "password_hash": "$scrypt$ln=16,r=8,p=1$" +
                b64(bytes(16)) + "$" + b64(bytes(32))},
        ]
        path = os.path.join(d.dir, "users.jsonl")
        with open(path, "w") as f:
            for x in lines:
                f.write((x if isinstance(x, str) else json.dumps(x)) + "\n")
            f.write("\n")
        r = tickctl(d, "user", "import", path, json_out=False)
        t.ok(r.rc == 1, "some lines failed: exit 1", r)
        t.eq(r.out, "imported bob\nimported carol\n",
            "the good lines are imported")
        errs = r.err.splitlines()
        t.ok(len(errs) == 6 and all(e.startswith(f"tickctl: {path}:")
            for e in errs), "one line on stderr for each bad line", r)
        want = {3: "", 4: "bad password hash: SALT must be 16 bytes",
            5: "user alice exists", 6: "bad user name",
            7: "need \"user\" and \"password_hash\"",
            8: "need more memory than scrypt may use"}
        got = {int(e.split(":")[2]): e for e in errs
            if e.count(":") >= 3}
        t.ok(all(n in got and w in got[n] for n, w in want.items()),
            "each names its line and why", errs)

        t.eq(login(d, "bob", "bob-pw").status, 200,
            "bob logs in with the password of his imported hash "
            "(scrypt 2^10, 8, 1)")
        t.eq(login(d, "bob", "wrong").status, 401, "not with another")
        t.eq(login(d, "carol", "carol-pw").status, 200,
            "carol too (scrypt 2^12, 4, 2)")
        t.eq(login(d, "alice").status, 200, "alice, registered over HTTP")
        t.eq(login(d, "dave", "x").status, 401, "dave was not imported")

        r = tickctl(d, "user", "import", "-", stdin=json.dumps(
            {"user": "gina", "password_hash": phc("gina-pw", 11, 8, 1)})
            + "\n")
        t.ok(r.ok and r.get("user") == "gina", "from standard input, -j",
            r)

        d.restart()
        t.eq([login(d, u, f"{u}-pw").status for u in ("bob", "carol",
            "gina")], [200, 200, 200], "after a restart the costs are "
            "still known")
        r = tickctl(d, "user", "passwd", "bob", "--stdin", stdin="new-pw\n")
        t.ok(r.ok, "tickctl user passwd bob", r)
        t.eq(login(d, "bob", "new-pw").status, 200,
            "the new password, at tickd's own cost, works")
        t.eq(login(d, "bob", "bob-pw").status, 401, "the old one not")


need_tickctl()
run(main, 15)
