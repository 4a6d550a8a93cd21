#!/usr/bin/python3
# tickd(8) SIGNALS and tickctl(8) reload: a reload reports per part what
# changed, what needs a restart, what was read again and what failed and
# why, and exits non-zero on a failure: a renewed certificate made with
# openssl(1) is taken (tickd_tls_cert_expiry_timestamp_seconds follows), a
# key the daemon's user cannot read is a failure on tickctl and in the log
# of SIGHUP, turning TLS on by reload is reported as needing a restart.
# Run as root, tickd runs as nobody, as a packaged tickd would, so that a
# key readable only by root is unreadable to it.

import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl, TICKCTL  # noqa: E402



def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_cert(dir, name, days):
    """A certificate for localhost signed by the test CA in dir, made as
    15-tls.py makes them; (cert, key)."""
    with open(os.path.join(dir, f"{name}.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=dir)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-days", str(days),
        "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=dir)
    return os.path.join(dir, f"{name}.pem"), os.path.join(dir, f"{name}.key")


def https_get(d, ctx, path):
    c = http.client.HTTPSConnection("localhost", d.port, context=ctx,
        timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_tls(d, ctx):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not d.running():
            raise Failure("tickd exited:\n" + d.tail())
        try:
            if https_get(d, ctx, "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise Failure("tickd over TLS not ready:\n" + d.tail())


def not_after(pem):
    """The certificate's notAfter, Unix seconds, as openssl(1) says."""
    out = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in",
        pem], capture_output=True, check=True).stdout.decode()
    when = out.strip().split("=", 1)[1]
    return int(time.mktime(time.strptime(when.replace(" GMT", ""),
        "%b %d %H:%M:%S %Y")) - time.timezone)


def expiry_metric(d, ctx):
    """tickd_tls_cert_expiry_timestamp_seconds of listen, over TLS."""
    text = https_get(d, ctx, "/metrics")[1].decode()
    for line in text.splitlines():
        k, _, v = line.rpartition(" ")
        if k == 'tickd_tls_cert_expiry_timestamp_seconds{listener="listen"}':
            return int(v)
    return None


def wait_log(d, text, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(d.log_path, errors="replace") as f:
            if text in f.read():
                return True
        time.sleep(0.05)
    return False


def https_status(d, ctx):
    try:
        return https_get(d, ctx, "/healthz")[0]
    except OSError as e:
        return str(e)


async def main(t):
    root = os.geteuid() == 0
    extra = {"user": "nobody", "group": "nogroup"} if root else {}
    d = Daemon("reload", **extra)
    os.chmod(d.dir, 0o755)
    if root:
        os.rmdir(d.data_dir)
    certs = os.path.join(d.dir, "certs")
    os.mkdir(certs)
    os.chmod(certs, 0o755)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=tickd test CA", "-keyout", "ca.key", "-out", "ca.pem",
        cwd=certs)
    cert, key = make_cert(certs, "one", 2)
    for f in (cert, key):
        os.chmod(f, 0o644)
    d.conf.update(tls_cert=cert, tls_key=key, send_rate=100)
    d.write_conf()
    d.start(ready=False)
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    wait_tls(d, ctx)
    t.eq(expiry_metric(d, ctx), not_after(cert),
        "tickd_tls_cert_expiry_timestamp_seconds is the notAfter")

    r = tickctl(d, "reload", json_out=False)
    t.ok(r.ok and r.out.endswith(f"configuration re-read from "
        f"{d.conf_path}\n") and "FAILED" not in r.out,
        "an unchanged file: reload exits 0, configuration re-read", r)
    t.ok("tls: certificate read from " + cert in r.out,
        "the certificate read again is named", r)

    d.conf.update(send_rate=50, listen=f"127.0.0.1:{free_port()}")
    d.write_conf()
    r = tickctl(d, "reload")
    t.ok(r.ok and "send_rate" in r.get("changed", []) and
        "listen" in r.get("restart", []) and "listen" not in
        r.get("changed", []) and r.get("failed") == [],
        "changed send_rate applied, listen reported as needing a restart",
        r)
    r = tickctl(d, "reload", json_out=False)
    t.ok(r.ok and "needs a restart: listen\n" in r.out,
        "tickctl says which key needs a restart", r)
    t.ok(wait_log(d, "reload: listen changed; it takes effect only after "
        "a restart"), "and so does the log")
    d.conf["listen"] = f"127.0.0.1:{d.port}"
    d.write_conf()

    # A renewal: new files at the same paths, longer lifetime.
    two_cert, two_key = make_cert(certs, "two", 40)
    old_key = open(key, "rb").read()
    old_cert = open(cert, "rb").read()
    shutil.copy(two_cert, cert)
    shutil.copy(two_key, key)
    os.chmod(key, 0o644)
    r = tickctl(d, "reload")
    t.ok(r.ok and any(cert in x for x in r.get("reloaded", [])),
        "a renewed certificate: reload exits 0 and names it", r)
    t.eq(expiry_metric(d, ctx), not_after(cert),
        "the expiry metric follows the renewed certificate")
    t.ok(not_after(cert) > time.time() + 30 * 86400,
        "(the renewed one lasts 40 days)")

    # The renewal left a key only root may read.
    before = expiry_metric(d, ctx)
    with open(cert, "wb") as f:
        f.write(old_cert)
    with open(key, "wb") as f:
        f.write(old_key)
    os.chmod(key, 0o600 if root else 0o000)
    r = tickctl(d, "reload", json_out=False)
    t.ok(r.rc != 0, "an unreadable key: reload exits non-zero", r)
    t.ok(r.one_error_line("Permission denied") and key in r.err,
        "one error line naming the key and Permission denied", r)
    t.ok(f"FAILED: tls: key {key}: Permission denied; keeping the "
        "current certificate\n" in r.out, "stdout has the report", r)
    r = tickctl(d, "reload")
    t.ok(r.rc != 0 and len(r.get("failed", [])) == 1 and
        "Permission denied" in r.get("failed")[0],
        "-j: the report with failed", r)
    t.eq(https_status(d, ctx), 200, "the current certificate still serves")
    t.eq(expiry_metric(d, ctx), before, "the expiry metric is unchanged")
    t.ok(wait_log(d, f"reload: failed: tls: key {key}: Permission denied"),
        "the log says why")
    with open(d.log_path, "a") as f:
        f.write("--- sighup\n")
    d.signal(signal.SIGHUP)
    t.ok(wait_log(d, "--- sighup") and wait_log(d, "reload: 1 part(s) "
        "failed"), "SIGHUP logs the same failure")
    os.chmod(key, 0o644)

    # A file with an error: non-zero, and why.
    d.conf["send_rate"] = "lots"
    d.write_conf()
    r = tickctl(d, "reload", json_out=False, how="socket")
    t.ok(r.rc != 0 and r.one_error_line("send_rate") and
        "running configuration is kept" in r.err,
        "a bad file: non-zero, the line and the reason", r)
    d.conf["send_rate"] = 50
    d.write_conf()
    t.eq(d.stop(), 0, "stops cleanly")

    # Turning TLS on by reload needs a restart, and says so.
    with Daemon("plain") as p:
        p.conf.update(tls_cert=cert, tls_key=key)
        p.write_conf()
        r = tickctl(p, "reload", json_out=False)
        t.ok(r.ok and "needs a restart: tls_cert\n" in r.out and
            "needs a restart: tls_key\n" in r.out,
            "tls_cert and tls_key set by reload: needs a restart", r)
        t.ok(wait_log(p, "reload: tls_cert changed; it takes effect only "
            "after a restart"), "logged as such")
        t.eq(http_request(p, "GET", "/healthz").status, 200,
            "the listener stays plain until the restart")
        p.stop()
        p.start(ready=False)
        wait_tls(p, ctx)
        t.eq(https_status(p, ctx), 200, "after a restart it speaks TLS")


need_tickctl()
run(main, 23, timeout=120)
