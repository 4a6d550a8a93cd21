#!/usr/bin/python3
# tickd(8) EXAMPLES: "kill -HUP $(cat pidfile)" works in the foreground (as
# under the systemd unit) as in the background: the pidfile is written in
# both, and removed at exit with the control socket.  In the foreground a
# pidfile that cannot be written is a warning, not a failure.  Run as root
# with user set, a socket directory the user does not own is warned about.

import os
import pwd
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def wait_log(d, text, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(d.log_path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.05)
    return False


def pid_in(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None


async def main(t):
    with Daemon("fg") as d:
        pidfile = d.conf["pidfile"]
        sock = d.conf["control_socket"]
        t.eq(pid_in(pidfile), d.proc.pid,
            "in the foreground the pidfile holds tickd's process id")
        os.kill(pid_in(pidfile), signal.SIGHUP)
        t.ok(wait_log(d, "reload: configuration re-read"),
            "kill -HUP $(cat pidfile) reloads")
        t.eq(d.stop(), 0, "SIGTERM: exit 0")
        t.ok(not os.path.exists(pidfile), "the pidfile is removed")
        t.ok(not os.path.exists(sock), "and so is the control socket")

        d.conf["pidfile"] = os.path.join(d.dir, "missing", "tickd.pid")
        d.start()
        t.ok(wait_log(d, f"pidfile {d.conf['pidfile']}, not written: No "
            "such file or directory"), "a pidfile that cannot be written "
            "is a warning in the foreground")
        t.eq(d.stop(), 0, "and tickd served and stopped")

        # In the background.
        d.conf["pidfile"] = pidfile
        d.write_conf()
        p = subprocess.run([TICKD, "-c", d.conf_path], capture_output=True,
            timeout=20)
        pid = pid_in(pidfile)
        t.ok(p.returncode == 0 and pid is not None and pid > 0,
            "in the background the pidfile holds the daemon's id", p)
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists(sock):
                time.sleep(0.05)
            time.sleep(0.2)
        t.ok(not os.path.exists(pidfile) and not os.path.exists(sock),
            "and both go at exit")

    if os.geteuid() != 0:
        t.skip("a socket directory owned by root", "not root")
        return
    nobody = pwd.getpwnam("nobody")
    d = Daemon("owner", user="nobody", group="nogroup")
    os.chmod(d.dir, 0o755)
    os.rmdir(d.data_dir)
    run = os.path.join(d.dir, "run")
    os.mkdir(run, 0o755)
    d.conf["control_socket"] = os.path.join(run, "tickd.sock")
    d.start()
    t.ok(wait_log(d, f"control: {run} belongs to uid 0, not to uid "
        f"{nobody.pw_uid} that tickd runs as") and f"chown {nobody.pw_uid}:"
        in d.tail(30), "a root-owned socket directory: warned, with the fix",
        d.tail(5))
    d.cleanup()


run(main, 10)
