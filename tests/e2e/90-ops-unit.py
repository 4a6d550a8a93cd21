#!/usr/bin/python3
# The systemd files of the package: the unit is Type=notify with a watchdog
# and reloads through tickctl, so that a failed reload fails "systemctl
# reload"; the sysusers.d and tmpfiles.d snippets, applied by systemd's own
# tools to a scratch root, make the user tickd and its directories with
# the modes tickd(8) wants.  Skipped where systemd-sysusers is missing.

import configparser
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

TOP = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))


async def main(t):
    unit = configparser.RawConfigParser(strict=False)
    unit.optionxform = str
    unit.read(os.path.join(TOP, "contrib", "tickd.service"))
    svc = dict(unit.items("Service"))
    t.eq(svc.get("Type"), "notify", "Type=notify")
    t.eq(svc.get("NotifyAccess"), "main", "NotifyAccess=main")
    t.ok(svc.get("WatchdogSec", "").endswith("s"), "WatchdogSec is set",
        svc.get("WatchdogSec"))
    t.eq(svc.get("ExecReload"),
        "/usr/sbin/tickctl -s /run/tickd/tickd.sock reload",
        "ExecReload runs tickctl reload on the RuntimeDirectory's socket")
    t.eq(svc.get("RuntimeDirectory"), "tickd", "which is /run/tickd")

    if not shutil.which("systemd-sysusers") or \
        not shutil.which("systemd-tmpfiles"):
        for _ in range(4):
            t.skip("sysusers and tmpfiles", "systemd tools not installed")
        return
    root = tempfile.mkdtemp(prefix="tickd-unit-")
    try:
        os.mkdir(os.path.join(root, "etc"))
        p = subprocess.run(["systemd-sysusers", f"--root={root}",
            os.path.join(TOP, "contrib", "debian", "tickd.sysusers")],
            capture_output=True, timeout=30)
        pw = {}
        with open(os.path.join(root, "etc", "passwd")) as f:
            for line in f:
                x = line.rstrip("\n").split(":")
                pw[x[0]] = x
        t.ok(p.returncode == 0 and "tickd" in pw and
            pw["tickd"][5] == "/var/lib/tickd",
            "sysusers makes the user tickd, home /var/lib/tickd", (p, pw))
        p = subprocess.run(["systemd-tmpfiles", f"--root={root}",
            "--create", os.path.join(TOP, "contrib", "debian",
            "tickd.tmpfiles")], capture_output=True, timeout=30)
        t.ok(p.returncode == 0, "tmpfiles applies", p)
        uid = int(pw["tickd"][2]) if "tickd" in pw else -1
        for path, mode in (("var/lib/tickd", 0o700), ("run/tickd", 0o750)):
            st = os.stat(os.path.join(root, path))
            t.ok(st.st_uid == uid and stat.S_IMODE(st.st_mode) == mode,
                f"/{path}: owned by tickd, mode {oct(mode)}",
                (st.st_uid, oct(st.st_mode)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


run(main, 9)
