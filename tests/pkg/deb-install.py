#!/usr/bin/python3
# deb-install.py DEB: installs the tickd package built by
# contrib/debian/build-deb.sh with dpkg on this machine (as root, for CI),
# checks what it installed, starts the installed tickd with the packaged
# configuration as an administrator would (it switches to the user tickd
# itself), sends a message from one user to another through it with an
# independent WebSocket client, uses the installed tickctl, then stops it
# and removes and purges the package.  Prints TAP.

import asyncio
import os
import pwd
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    "..", "e2e"))
os.environ.setdefault("TICKD", "/usr/sbin/tickd")
from tickd_test import *  # noqa: E402,F403

CONF = "/etc/tickd.conf"
MAN = ["man8/tickd.8.gz", "man8/tickctl.8.gz", "man5/tickd.conf.5.gz",
    "man7/tickd-protocol.7.gz", "man7/tickd-cluster.7.gz"]


class Installed:
    """The installed daemon, started by hand with the packaged config."""

    def __init__(self):
        self.port = 8080
        self.proc = None
        self.log = "/tmp/tickd-deb-install.log"

    def start(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["/usr/sbin/tickd", "-f", "-c",
                CONF], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"tickd exited {self.proc.returncode}: " +
                    self.tail())
            try:
                if http_request(self, "GET", "/healthz",
                    timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Failure("the installed tickd is not ready: " + self.tail())

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung"

    def tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""


def sh(*cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


async def main(t, deb, inst):
    if sh("sh", "-c", "[ -d /run/systemd/system ]")[0] == 0:
        sh("systemctl", "stop", "tickd")
    rc, out = sh("dpkg", "-i", deb)
    t.ok(rc == 0, "dpkg -i installs the package", out[-1500:])
    t.ok(all(os.access(p, os.X_OK) for p in ("/usr/sbin/tickd",
        "/usr/sbin/tickctl")), "tickd and tickctl are in /usr/sbin")
    t.ok(all(os.path.isfile("/usr/share/man/" + m) for m in MAN),
        "the man pages are installed", MAN)
    rc, out = sh("dpkg-query", "-W", "-f=${Conffiles}", "tickd")
    t.ok(rc == 0 and CONF in out, "/etc/tickd.conf is a conffile", out)
    rc, out = sh("dpkg", "-L", "tickd")
    t.ok("/lib/systemd/system/tickd.service" in out, "the systemd unit is "
        "installed", out)
    try:
        pw = pwd.getpwnam("tickd")
        sysuser = pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin")
    except KeyError:
        pw, sysuser = None, False
    t.ok(sysuser, "the system user tickd exists", f"{pw!r}")
    st = os.stat("/var/lib/tickd")
    t.ok(pw and st.st_uid == pw.pw_uid and (st.st_mode & 0o777) == 0o700,
        "/var/lib/tickd belongs to tickd, mode 0700",
        f"uid {st.st_uid} mode {oct(st.st_mode)}")
    rc, out = sh("/usr/sbin/tickd", "-t", "-c", CONF)
    t.ok(rc == 0 and "configuration OK" in out, "the packaged "
        "configuration passes tickd -t", out)
    st = os.stat(CONF)
    t.ok(pw and st.st_uid == 0 and st.st_gid == pw.pw_gid and
        (st.st_mode & 0o777) == 0o640, "/etc/tickd.conf is root:tickd, "
        "mode 0640", f"uid {st.st_uid} gid {st.st_gid} {oct(st.st_mode)}")
    t.ok(all(os.path.isfile(p) for p in ("/usr/lib/sysusers.d/tickd.conf",
        "/usr/lib/tmpfiles.d/tickd.conf",
        "/usr/share/doc/tickd/copyright")), "the sysusers.d and "
        "tmpfiles.d snippets and the copyright are installed")

    inst.start()
    with open(f"/proc/{inst.proc.pid}/status") as f:
        uid = [l.split()[1] for l in f if l.startswith("Uid:")]
    t.ok(pw and uid == [str(pw.pw_uid)], "the installed tickd, started "
        "as root, runs as tickd", f"uid {uid}")
    rc, out = sh("/usr/sbin/tickctl", "user", "add", "alice", "--stdin",
        stdin=b"alice-pw\n")
    t.ok(rc == 0, "the installed tickctl finds the daemon through the "
        "packaged configuration", out)
    t.eq(register(inst, "bob", "bob-pw").status, 201, "bob registers")
    ta = login(inst, "alice", "alice-pw").json["token"]
    tb = login(inst, "bob", "bob-pw").json["token"]
    a = await Client.connect(inst, ta, name="alice")
    b = await Client.connect(inst, tb, name="bob")
    s = await a.request({"op": "send", "to": "bob", "id": "1",
        "body": {"text": "from the package"}})
    m = await b.recv_op("msg", 5)
    t.ok(s and s.get("op") == "sent" and m and
        m.get("body") == {"text": "from the package"},
        "a message goes from alice to bob", f"{s!r} {m!r}")
    await b.send({"op": "ack", "mid": m["mid"]})
    rcpt = await a.recv_op("receipt", 5)
    t.ok(rcpt and rcpt.get("status") == "delivered", "bob's ack gives "
        "alice the delivered receipt", f"{rcpt!r}")
    await a.close()
    await b.close()
    rc, out = sh("/usr/sbin/tickctl", "backup", "/tmp/tickd-deb.mdb")
    rc2, out2 = sh("/usr/sbin/tickctl", "-d", "/tmp/tickd-deb.mdb",
        "verify")
    t.ok(rc == 0 and rc2 == 0 and "consistent" in out2, "the installed "
        "tickctl backs up and verifies", out + out2)
    os.unlink("/tmp/tickd-deb.mdb")
    t.eq(inst.stop(), 0, "the installed tickd stops on SIGTERM")

    rc, out = sh("dpkg", "-r", "tickd")
    t.ok(rc == 0 and not os.path.exists("/usr/sbin/tickd") and
        os.path.exists(CONF), "dpkg -r removes the programs and keeps "
        "the configuration", out[-800:])
    rc, out = sh("dpkg", "-P", "tickd")
    t.ok(rc == 0 and not os.path.exists(CONF) and
        not os.path.exists("/var/lib/tickd"), "dpkg -P purges the "
        "configuration and the store", out[-800:])


if __name__ == "__main__":
    if len(sys.argv) != 2 or os.geteuid() != 0:
        print("1..0 # SKIP usage: deb-install.py DEB, as root")
        sys.exit(77)
    inst = Installed()
    t = Tap(19)
    err = None
    try:
        asyncio.run(asyncio.wait_for(main(t, sys.argv[1], inst), 120))
    except BaseException as e:
        err = f"{type(e).__name__}: {e}\n" + inst.tail()
    finally:
        inst.stop()
        if os.path.exists("/usr/sbin/tickd"):
            sh("dpkg", "-P", "tickd")
    sys.exit(t.finish(err))
