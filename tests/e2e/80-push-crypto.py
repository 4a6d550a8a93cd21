#!/usr/bin/python3
# What a POST carries, tickd-protocol(7) PUSH NOTIFICATIONS rule 5: with p256dh
# and auth the body is RFC 8291 aes128gcm, decrypted here with
# python3-cryptography; a webhook carries its token and, with
# push_webhook_secret, an X-Tick-Signature HMAC checked here; with
# push_vapid_key, an RFC 8292 Authorization whose ES256 JWT is verified here.

import base64
import hashlib
import hmac
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    encode_dss_signature

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403

SECRET = "hook-secret-0123"


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def vapid_check(header, pub, aud):
    """Verifies "vapid t=JWT, k=KEY"; the claims, or an error string."""
    if not header or not header.startswith("vapid "):
        return f"no vapid Authorization: {header!r}"
    parts = dict(p.strip().split("=", 1) for p in header[6:].split(","))
    if unb64(parts.get("k", "")) != pub:
        return "k is not the key's public point"
    h, c, s = parts["t"].split(".")
    if json.loads(unb64(h)) != {"typ": "JWT", "alg": "ES256"}:
        return f"header {unb64(h)!r}"
    sig = unb64(s)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub)
    try:
        key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
            int.from_bytes(sig[32:], "big")), f"{h}.{c}".encode(),
            ec.ECDSA(hashes.SHA256()))
    except Exception as e:
        return f"bad signature: {e!r}"
    claims = json.loads(unb64(c))
    if claims.get("aud") != aud:
        return f"aud {claims!r}"
    return claims


async def main(t):
    vkey = ec.generate_private_key(ec.SECP256R1())
    vpub = vkey.public_key().public_bytes(serialization.Encoding.X962,
        serialization.PublicFormat.UncompressedPoint)
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_delay="200ms", push_webhook_secret=f'"{SECRET}"',
            login_rate=0) as d:
        pem = os.path.join(d.dir, "vapid.pem")
        with open(pem, "wb") as f:
            f.write(vkey.private_bytes(serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        ta = token_for(d, "alice", new=True)
        ua = UA()
        tb = token_for(d, "bob", "phone", new=True)
        b = await Client.connect(d, tb, name="bob")
        rep = await b.request({"op": "push_register",
            "endpoint": r.url("/enc"), "p256dh": ua.p256dh(),
            "auth": ua.auth64(), "ref": 1})
        await b.close()
        tc = token_for(d, "carol", "hook", new=True)
        c = await Client.connect(d, tc, name="carol")
        rep2 = await c.request({"op": "push_register", "kind": "webhook",
            "endpoint": r.url("/hook"), "token": "carol-token", "ref": 1})
        await c.close()
        if rep != {"op": "ok", "ref": 1} or rep2 != {"op": "ok", "ref": 1}:
            raise Failure(f"push_register: {rep!r} {rep2!r}")

        a = await Client.connect(d, ta, name="alice")
        s1 = await a.request({"op": "send", "to": "bob", "id": "e1",
            "body": {"text": "SECRET"}})
        s2 = await a.request({"op": "send", "to": "carol", "id": "h1",
            "body": "x"})
        enc = r.wait("/enc", 1, 5)
        hook = r.wait("/hook", 1, 5)

        p = enc[0] if enc else None
        plain = None
        err = None
        try:
            plain = json.loads(ua.decrypt(p.body)) if p else None
        except Exception as e:
            err = repr(e)
        t.ok(p is not None and
            p.headers.get("content-encoding") == "aes128gcm" and
            p.headers.get("content-type") == "application/octet-stream" and
            b"wake" not in p.body,
            "with p256dh and auth the body is aes128gcm, octet-stream",
            repr(p.headers if p else None))
        t.ok(plain == {"op": "wake", "user": "bob", "device": "phone",
            "pending": 1, "mid": s1["mid"], "ts": s1["ts"]},
            "it decrypts (RFC 8291, python3-cryptography) to the wake body",
            f"{plain!r} {err}")

        h = hook[0] if hook else None
        w = h.json() if h else None
        sig = (h.headers.get("x-tick-signature") if h else None)
        want = "sha256=" + hmac.new(SECRET.encode(), h.body if h else b"",
            hashlib.sha256).hexdigest()
        t.ok(w == {"op": "wake", "user": "carol", "device": "hook",
            "pending": 1, "mid": s2["mid"], "ts": s2["ts"],
            "token": "carol-token"} and sig == want and
            "authorization" not in h.headers,
            "a webhook carries its token and X-Tick-Signature, the "
            "HMAC-SHA256 of the body under push_webhook_secret",
            f"{h.body if h else None!r}\n{sig} vs {want}")

        # VAPID, applied by SIGHUP.
        t.eq(d.check_config()[0], 0, "tickd -t accepts the configuration")
        d.conf["push_vapid_key"] = pem
        d.write_conf()
        rc, err = d.check_config()
        t.ok(rc != 0 and "push_vapid_subject" in err,
            "tickd -t refuses push_vapid_key without push_vapid_subject",
            f"{rc} {err!r}")
        d.conf["push_vapid_subject"] = "mailto:ops@example.org"
        d.write_conf()
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        wait_idle(d)
        await a.request({"op": "send", "to": "bob", "id": "e2",
            "body": "x"})
        enc = r.wait("/enc", 2, 5)
        claims = vapid_check(enc[1].headers.get("authorization")
            if len(enc) > 1 else None, vpub, f"http://127.0.0.1:{r.port}")
        t.ok(isinstance(claims, dict) and
            claims.get("sub") == "mailto:ops@example.org" and
            now_ms() // 1000 < claims.get("exp", 0) <= now_ms() // 1000 +
            86400, "with push_vapid_key: Authorization vapid t=JWT, k=KEY, "
            "an ES256 JWT for the endpoint's origin (RFC 8292)",
            repr(claims))
        await a.close()


need_push()
run(main, 6)
