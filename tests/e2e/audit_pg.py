"""
audit_pg.py: a throwaway PostgreSQL cluster for the audit log tests
(tests/e2e/50-audit*.py), and a server that accepts connections and never
answers.

The cluster lives in a temporary directory, listens on a free loopback port
and trusts every local connection.  It is driven by Debian's binaries in
/usr/lib/postgresql/VERSION/bin (initdb, pg_ctl, psql).  PostgreSQL refuses
to run as root, so as root the server commands run as the user "postgres"
through runuser.  Without those binaries the tests skip (exit 77).
"""

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

from tickd_test import Daemon, Failure, free_port


def pg_bindir():
    """The newest Debian PostgreSQL bin directory with initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if
        p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def built_without_postgresql(tickd):
    """True if tickd refuses audit_pg for want of PostgreSQL support."""
    d = tempfile.mkdtemp(prefix="tickd-pgcheck-")
    try:
        conf = os.path.join(d, "tickd.conf")
        with open(conf, "w") as f:
            f.write(f"listen 127.0.0.1:{free_port()}\n"
                f"data_dir {d}/data\npidfile {d}/pid\n"
                f"control_socket {d}/control.sock\n"
                'audit_pg "host=127.0.0.1 port=1"\n')
        p = subprocess.Popen([tickd, "-f", "-c", conf],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        try:
            err = p.communicate(timeout=2)[1].decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return False
        return "without PostgreSQL support" in err
    finally:
        shutil.rmtree(d, ignore_errors=True)


def skip_without_postgresql():
    """Exit 77 (skip) unless initdb, pg_ctl and psql can be run and
    tickd was built with PostgreSQL support."""
    tickd = os.environ.get("TICKD")
    if tickd and os.access(tickd, os.X_OK) and \
            built_without_postgresql(tickd):
        print("1..0 # SKIP tickd was built without PostgreSQL support")
        sys.exit(77)
    b = pg_bindir()
    if b is None:
        print("1..0 # SKIP no PostgreSQL server binaries "
            "(Debian package postgresql)")
        sys.exit(77)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            print("1..0 # SKIP running as root and there is no "
                "user postgres to run PostgreSQL as")
            sys.exit(77)


class Postgres:
    """One cluster; start(), stop(), query(); cleanup() on every exit."""

    all = []

    def __init__(self):
        self.bin = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="tickd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o700)
        Postgres.all.append(self)
        self._run(["initdb", "-D", self.data, "-A", "trust", "-U",
            "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"],
            60)

    def _run(self, args, timeout=30):
        cmd = self.as_user + [os.path.join(self.bin, args[0])] + args[1:]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=timeout, cwd=self.dir)
        if p.returncode != 0:
            raise Failure(f"{args[0]} failed ({p.returncode}): "
                f"{p.stderr.decode(errors='replace')[-2000:]}")
        return p.stdout.decode()

    def conninfo(self, dbname="postgres"):
        return (f"host=127.0.0.1 port={self.port} dbname={dbname} "
            "user=postgres")

    def start(self):
        opts = (f"-p {self.port} -k {self.dir} "
            "-c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off")
        self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-o", opts,
            "-w", "-t", "30", "start"], 40)

    def stop(self, mode="fast"):
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "-t",
            "30", "stop"], 40)

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def query(self, sql, timeout=10):
        """Rows of sql as lists of strings (psql -A -t, tab-separated)."""
        p = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q",
            "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h",
            "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
            "postgres", "-c", sql], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise Failure(f"psql {sql!r}: "
                f"{p.stderr.decode(errors='replace')}")
        return [line.split("\t") for line in
            p.stdout.decode().splitlines() if line != ""]

    def tail(self, n=15):
        try:
            with open(self.log, "rb") as f:
                return "\n".join(f.read().decode(errors="replace")
                    .splitlines()[-n:])
        except OSError:
            return ""

    def cleanup(self):
        if self.running():
            try:
                self.stop("immediate")
            except Exception:
                pass
        if self in Postgres.all:
            Postgres.all.remove(self)
        if not os.environ.get("TICKD_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    def cleanup_all(cls):
        for p in list(cls.all):
            p.cleanup()


@contextlib.contextmanager
def pg_cluster(t):
    """A started Postgres for the tests of Tap t.  On the way out every
    Daemon is cleaned up, the end of PostgreSQL's log shown if a test
    failed, and the cluster removed."""
    pg = Postgres()
    try:
        pg.start()
        yield pg
    finally:
        Daemon.cleanup_all()
        if t.failed:
            t.diag("--- postgres log:\n" + pg.tail())
        pg.cleanup()


class Silent:
    """A TCP server on loopback that accepts and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.conns.append(c)

    def close(self):
        self.stopping = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


atexit.register(Postgres.cleanup_all)
