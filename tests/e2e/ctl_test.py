"""
ctl_test.py: running tickctl(8) for the 4x-tickctl*.py tests.

tickctl is run as an administrator would run it, as a separate program;
its -j output is parsed as JSON, its errors must be one line on stderr with
a non-zero exit status.  Environment: TICKCTL (the binary; unset or not
executable: the scripts skip with 77).
"""

import json
import os
import socket
import subprocess
import sys

TICKCTL = os.environ.get("TICKCTL")


class Ctl:
    """The outcome of one tickctl run."""

    def __init__(self, args, rc, out, err):
        self.args = args
        self.rc = rc
        self.out = out
        self.err = err
        try:
            self.json = json.loads(out) if out.strip() else None
        except ValueError:
            self.json = None

    @property
    def ok(self):
        return self.rc == 0

    def one_error_line(self, want=None):
        """Failed with exactly one line on stderr (containing want)."""
        lines = self.err.splitlines()
        return (self.rc != 0 and len(lines) == 1 and
            lines[0].startswith("tickctl: ") and
            (want is None or want in lines[0]))

    def get(self, key, default=None):
        if isinstance(self.json, dict):
            return self.json.get(key, default)
        return default

    def __repr__(self):
        return (f"<tickctl {' '.join(self.args)}: rc {self.rc}, "
            f"out {self.out[:600]!r}, err {self.err[:300]!r}>")


def need_tickctl():
    if not TICKCTL or not os.access(TICKCTL, os.X_OK):
        print("1..0 # SKIP TICKCTL is not set to an executable tickctl")
        sys.exit(77)


def tickctl(d, *args, stdin=None, json_out=True, how="conf", timeout=30,
    user=None, binary=None):
    """Run tickctl for daemon d.  how: "conf" (-c, which names the
    socket and data_dir), "socket" (-s) or "none"; user: run as that uid
    (root only); binary: another copy of tickctl."""
    cmd = [binary or TICKCTL]
    if json_out:
        cmd.append("-j")
    if how == "conf":
        cmd += ["-c", d.conf_path]
    elif how == "socket":
        cmd += ["-s", d.conf["control_socket"]]
    cmd += list(args)
    pre = None
    if user is not None:
        def pre():
            os.setgid(user)
            os.setuid(user)
    p = subprocess.run(cmd, input=stdin.encode() if stdin is not None
        else None, stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, timeout=timeout, preexec_fn=pre)
    return Ctl(cmd[1:], p.returncode, p.stdout.decode(errors="replace"),
        p.stderr.decode(errors="replace"))


def media_refs(d, mid):
    """The reference count tickctl media show gives for mid on d, None
    if it has no such ID."""
    r = tickctl(d, "media", "show", mid)
    return r.get("refs") if r.ok else None


def raw_request(d, line, timeout=10):
    """Send one raw line on the control socket; the reply line parsed
    (None if the daemon closed first) and whether it then closed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(d.conf["control_socket"])
    try:
        s.sendall(line if isinstance(line, bytes) else line.encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        reply = json.loads(buf.split(b"\n")[0]) if b"\n" in buf else None
        s.settimeout(1)
        try:
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
        return reply, closed
    finally:
        s.close()
