#!/usr/bin/python3
# Privileges (run as root; skipped otherwise): started as root with
# "user nobody", tickd binds, creates its control socket (0660, owned by
# nobody) and data_dir for nobody, then runs as nobody with no other group;
# it refuses a data_dir of another owner, an unknown user, and, staying
# root, a data_dir others may write to.  The control socket lets in root and
# the daemon's user only, by the peer's credentials, not the file's mode.

import asyncio
import os
import pwd
import shutil
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403


def ids_of(pid):
    """(uids, gids, groups) of a running process, from /proc."""
    uids = gids = groups = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Uid":
                uids = set(int(x) for x in v.split())
            elif k == "Gid":
                gids = set(int(x) for x in v.split())
            elif k == "Groups":
                groups = set(int(x) for x in v.split())
    return uids, gids, groups


def start_fails(d):
    """Start d, expecting it to exit; its status and log."""
    d.start(ready=False)
    rc = d.wait(10)
    return rc, d.tail(3)


def own_tickctl(d):
    """A copy of tickctl that other users can run: the build tree may be
    in a home directory they cannot enter."""
    path = os.path.join(d.dir, "tickctl")
    shutil.copy(TICKCTL, path)
    os.chmod(path, 0o755)
    return path


async def main(t):
    nobody = pwd.getpwnam("nobody")
    d = Daemon("priv", user="nobody", group="nogroup")
    os.chmod(d.dir, 0o755)
    # Daemon made data_dir as root: refused, naming the fix.
    rc, log = start_fails(d)
    t.ok(rc == 1 and "belongs to uid 0, not to user nobody" in log and
        "chown -R nobody" in log, "a data_dir of another owner is "
        "refused", f"rc {rc}: {log}")
    os.rmdir(d.data_dir)
    d.start()
    uids, gids, groups = ids_of(d.proc.pid)
    t.ok(uids == {nobody.pw_uid} and gids == {nobody.pw_gid} and
        groups == {nobody.pw_gid}, "started as root, tickd runs as "
        "nobody:nogroup with no other group",
        f"uids {uids} gids {gids} groups {groups}")
    st = os.stat(d.data_dir)
    t.ok(st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) ==
        0o700, "data_dir is created for the user, mode 0700",
        f"uid {st.st_uid} mode {oct(st.st_mode)}")
    data = os.stat(os.path.join(d.data_dir, "data.mdb"))
    t.eq(data.st_uid, nobody.pw_uid, "the store belongs to the user")
    sk = os.stat(d.conf["control_socket"])
    t.ok(stat.S_ISSOCK(sk.st_mode) and stat.S_IMODE(sk.st_mode) ==
        0o660 and sk.st_uid == nobody.pw_uid and
        sk.st_gid == nobody.pw_gid, "the control socket: mode 0660, "
        "owned by the daemon's user and group",
        f"mode {oct(sk.st_mode)} uid {sk.st_uid} gid {sk.st_gid}")
    # The listener bound as root still serves.
    ta = token_for(d, "alice", new=True)
    a = await Client.connect(d, ta, name="alice")
    s = await a.request({"op": "send", "to": "alice", "id": "1",
        "body": "hi"})
    t.ok(s and s.get("op") == "sent", "registration, login and send "
        "work after the switch", f"{s!r}")
    await a.close()
    r = tickctl(d, "stats")
    t.ok(r.ok, "root may use the control socket", r)
    ctl = own_tickctl(d)
    r = tickctl(d, "user", "list", user=nobody.pw_uid, binary=ctl)
    t.ok(r.ok and [u["user"] for u in r.get("users", [])] ==
        ["alice"], "the daemon's user may use the control socket", r)
    r = tickctl(d, "user", "list", how="socket", user=4242, binary=ctl)
    t.ok(r.one_error_line("cannot connect") and "Permission denied"
        in r.err, "another user cannot even open the socket", r)
    t.eq(d.stop(), 0, "the daemon stops cleanly as nobody")
    d.cleanup()

    # Staying root: the peer's credentials decide, not the socket's mode.
    with Daemon("root") as d:
        os.chmod(d.dir, 0o755)
        os.chmod(d.conf["control_socket"], 0o666)
        r = tickctl(d, "stats", how="socket", user=4242,
            binary=own_tickctl(d))
        t.ok(r.one_error_line("permission denied: uid 4242"),
            "a connection from another uid is refused by its "
            "credentials", r)
        t.ok("refused uid 4242" in d.tail(5), "the refusal is logged",
            d.tail(3))
        d.stop()
        os.chmod(d.data_dir, 0o777)
        rc, log = start_fails(d)
        t.ok(rc == 1 and "writable by its group or by others" in log,
            "running as root, a data_dir others may write to is refused",
            f"rc {rc}: {log}")

    d = Daemon("nouser", user="tickd-no-such-user")
    rc, log = start_fails(d)
    t.ok(rc == 1 and "tickd-no-such-user: no such user" in log,
        "an unknown user is refused", f"rc {rc}: {log}")
    d.cleanup()
    d = Daemon("grouponly", group="nogroup")
    rc, log = start_fails(d)
    t.ok(rc == 1 and "group is set but user is not" in log,
        "group without user is refused", f"rc {rc}: {log}")
    d.cleanup()


if os.geteuid() != 0:
    print("1..0 # SKIP the privilege tests need root")
    sys.exit(77)
need_tickctl()
run(main, 15)
