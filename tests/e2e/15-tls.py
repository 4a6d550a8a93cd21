#!/usr/bin/python3
# TLS on the listen port (tls_cert, tls_key): HTTPS and WSS through Python's
# ssl module with a CA made here by openssl(1), old protocol versions refused
# (checked with openssl s_client), tls_min_version TLSv1.3, a certificate for
# another host refused by a verifying client, a SIGHUP that swaps the
# certificate without dropping an open connection, and listen_plain.

import asyncio
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

import websockets  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(dir):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=tickd test CA", "-keyout", "ca.key", "-out", "ca.pem",
        cwd=dir)


def make_cert(dir, name, host):
    """A certificate for host (DNS and IP SAN) signed by the test CA."""
    with open(os.path.join(dir, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:{host},IP:127.0.0.1\n"
            if host == "localhost" else f"subjectAltName=DNS:{host}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=dir)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=dir)
    return os.path.join(dir, f"{name}.pem"), os.path.join(dir, f"{name}.key")


def client_ctx(dir, host_check=True):
    ctx = ssl.create_default_context(cafile=os.path.join(dir, "ca.pem"))
    ctx.check_hostname = host_check
    return ctx


def https(d, ctx, method, path, body=None, token=None, host="localhost"):
    hdrs = {"Content-Type": "application/json"}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    c = http.client.HTTPSConnection(host, d.port, context=ctx, timeout=5)
    try:
        c.request(method, path, body=json.dumps(body) if body else None,
            headers=hdrs)
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
            if https(d, ctx, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise Failure("tickd over TLS not ready:\n" + d.tail())


def s_client(d, *args):
    """openssl s_client's exit status and output for one handshake."""
    p = subprocess.run(["openssl", "s_client", "-connect",
        f"127.0.0.1:{d.port}", *args], input=b"", capture_output=True,
        timeout=10)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def serial(d, ctx):
    import socket
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.getpeercert()["serialNumber"]


async def wss(d, ctx, token):
    ws = await asyncio.wait_for(websockets.connect(
        f"wss://localhost:{d.port}/v1/ws", ssl=ctx,
        extra_headers={"Authorization": f"Bearer {token}"},
        ping_interval=None, compression=None), 5)
    ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return ws, ready


async def main(t):
    certs = tempfile.mkdtemp(prefix="tickd-tls-")
    make_ca(certs)
    cert, key = make_cert(certs, "server", "localhost")
    ctx = client_ctx(certs)
    plain = free_port()

    d = Daemon("tls", tls_cert=cert, tls_key=key,
        listen_plain=f"127.0.0.1:{plain}")
    d.start(ready=False)
    wait_tls(d, ctx)

    st, body = https(d, ctx, "POST", "/v1/register",
        {"user": "alice", "password": "pw-alice"})
    st2, _ = https(d, ctx, "POST", "/v1/register",
        {"user": "bob", "password": "pw-bob"})
    ta = json.loads(https(d, ctx, "POST", "/v1/login",
        {"user": "alice", "password": "pw-alice"})[1])["token"]
    tb = json.loads(https(d, ctx, "POST", "/v1/login",
        {"user": "bob", "password": "pw-bob"})[1])["token"]
    t.ok(st == 201 and st2 == 201, "register and login over HTTPS",
        f"{st} {body!r}")

    a, ra = await wss(d, ctx, ta)
    b, rb = await wss(d, ctx, tb)
    await a.send(json.dumps({"op": "send", "to": "bob", "id": "t1",
        "body": "over tls"}))
    sent = json.loads(await asyncio.wait_for(a.recv(), 5))
    msg = json.loads(await asyncio.wait_for(b.recv(), 5))
    t.ok(ra.get("op") == "ready" and sent.get("op") == "sent" and
        msg.get("body") == "over tls" and msg.get("mid") == sent.get("mid"),
        "a message crosses WSS from alice to bob", f"{sent!r} {msg!r}")

    rc12, out12 = s_client(d, "-tls1_2")
    t.ok(rc12 == 0 and "TLSv1.2" in out12, "openssl s_client -tls1_2 "
        "completes a handshake", out12[-400:])
    for flag in ("-tls1", "-tls1_1"):
        rc, out = s_client(d, flag, "-cipher", "DEFAULT:@SECLEVEL=0")
        t.ok(rc != 0 and "alert protocol version" in out,
            f"openssl s_client {flag} is refused by the server", out[-400:])

    other_cert, other_key = make_cert(certs, "other", "example.invalid")
    other = Daemon("tls-other", tls_cert=other_cert, tls_key=other_key)
    other.start(ready=False)
    wait_tls(other, client_ctx(certs, host_check=False))
    try:
        https(other, ctx, "GET", "/healthz")
        refused, why = False, "the handshake succeeded"
    except ssl.SSLCertVerificationError as e:
        refused, why = True, str(e)
    t.ok(refused and "match" in why.lower() or refused and
        "hostname" in why.lower(), "a certificate for another host is "
        "refused by a verifying client", why)
    other.cleanup()

    v13 = Daemon("tls13", tls_cert=cert, tls_key=key,
        tls_min_version="TLSv1.3")
    v13.start(ready=False)
    wait_tls(v13, ctx)
    rc12, out12 = s_client(v13, "-tls1_2")
    rc13, out13 = s_client(v13, "-tls1_3")
    t.ok(rc12 != 0 and rc13 == 0, "tls_min_version TLSv1.3 refuses "
        "TLS 1.2 and accepts 1.3", out12[-300:])
    v13.cleanup()

    old = serial(d, ctx)
    new_cert, new_key = make_cert(certs, "server2", "localhost")
    os.replace(new_cert, cert)
    os.replace(new_key, key)
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while serial(d, ctx) == old and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    t.ok(serial(d, ctx) != old, "SIGHUP loads the new certificate for new "
        "connections", d.tail())
    await a.send(json.dumps({"op": "send", "to": "bob", "id": "t2",
        "body": "after reload"}))
    sent = json.loads(await asyncio.wait_for(a.recv(), 5))
    msg = json.loads(await asyncio.wait_for(b.recv(), 5))
    t.ok(sent.get("op") == "sent" and msg.get("body") == "after reload",
        "connections made before the reload keep working", f"{msg!r}")
    await a.close()
    await b.close()

    c = http.client.HTTPConnection("127.0.0.1", plain, timeout=5)
    c.request("GET", "/healthz")
    r = c.getresponse()
    t.ok(r.status == 200 and r.read() == b"ok\n",
        "listen_plain serves plain HTTP on loopback")
    c.close()

    bad = Daemon("tls-bad", tls_cert=cert, tls_key=key,
        listen_plain=f"0.0.0.0:{free_port()}")
    bad.start(ready=False)
    rc = bad.wait(5)
    t.ok(rc == 1 and "loopback" in bad.tail(), "listen_plain on a "
        "non-loopback address is refused at startup", bad.tail())
    bad.cleanup()
    half = Daemon("tls-half", tls_cert=cert)
    half.start(ready=False)
    rc = half.wait(5)
    t.ok(rc == 1 and "tls_key" in half.tail(), "tls_cert without tls_key "
        "is refused at startup", half.tail())
    half.cleanup()
    d.stop()

    # The RESP port: resp_tls_cert and resp_tls_key, as redis-server's
    # tls-port, driven by redis-cli --tls.
    rport = free_port()
    r = Daemon("tls-resp", resp_listen=f"127.0.0.1:{rport}",
        resp_tls_cert=cert, resp_tls_key=key)
    r.start()
    ca = os.path.join(certs, "ca.pem")

    def cli(*args, tls=True):
        cmd = ["redis-cli", "-h", "localhost", "-p", str(rport)]
        if tls:
            cmd += ["--tls", "--cacert", ca]
        p = subprocess.run(cmd + list(args), capture_output=True,
            timeout=10, text=True)
        return p.returncode, (p.stdout + p.stderr).strip()

    rc1, out1 = cli("PING")
    rc2, out2 = cli("XADD", "s", "*", "k", "v")
    rc3, out3 = cli("XLEN", "s")
    t.ok(rc1 == 0 and out1 == "PONG" and rc2 == 0 and rc3 == 0 and
        out3 == "1", "redis-cli --tls speaks to resp_listen with "
        "resp_tls_cert", f"{out1!r} {out2!r} {out3!r}")
    rc, out = cli("PING", tls=False)
    t.ok(out != "PONG", "plain RESP is not served on a TLS RESP port",
        f"{rc} {out!r}")
    r.stop()


run(main, 14)
