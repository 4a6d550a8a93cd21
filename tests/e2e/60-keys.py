#!/usr/bin/python3
# The end-to-end key directory, tickd-protocol(7) KEY DIRECTORY: every rule
# and every bad-input row with its error code and ref; keys_low as a queue
# item; keys deleted by logout, device_ttl and tickctl; keys_fetch_rate;
# the metrics; keys kept across a restart.

import asyncio
import base64
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import TICKCTL, tickctl  # noqa: E402


def b64(data):
    return base64.b64encode(data).decode()


def key(i, tag="P"):
    """A one-time prekey {"id","key"} whose key names its id."""
    return {"id": i, "key": b64(f"{tag}{i}".encode())}


def skey(i, tag="K"):
    """A key with a signature."""
    return {"id": i, "key": b64(f"{tag}{i}".encode()),
        "sig": b64(f"sig-{tag}{i}".encode())}


IDENT = b64(b"identity-one")
IDENT2 = b64(b"identity-two")
REPLIES = ("ok", "error", "keys", "keys_count")


async def req(c, obj, timeout=5):
    """Send obj and return its direct reply (ok, error, keys or
    keys_count), or None."""
    await c.send(obj)
    return await c.recv_op(REPLIES, timeout) or {}


async def count(c):
    r = await req(c, {"op": "keys_count", "ref": "n"})
    return (r.get("prekeys"), r.get("kem_prekeys"))


async def fetch(c, user, device=None, ref="f"):
    obj = {"op": "keys_fetch", "user": user, "ref": ref}
    if device is not None:
        obj["device"] = device
    return await req(c, obj)


def bundle(r, device):
    for b in r.get("devices") or []:
        if b.get("device") == device:
            return b
    return None


def pid(b, member="prekey"):
    """The id of a bundle's prekey or kem_prekey; None when null."""
    k = (b or {}).get(member)
    return k.get("id") if isinstance(k, dict) else None


def is_err(r, code, ref):
    return r.get("op") == "error" and r.get("code") == code and \
        r.get("ref") == ref


async def rules(t, d):
    """Rules 1 to 5 and the bad-input rows, on one daemon."""
    tp = token_for(d, "alice", "phone", new=True)
    tl = token_for(d, "alice", "laptop")
    tb = token_for(d, "bob", new=True)
    register(d, "carol")
    ap = await Client.connect(d, tp, name="alice/phone")
    al = await Client.connect(d, tl, name="alice/laptop")
    bob = await Client.connect(d, tb, name="bob")

    t.eq(await count(ap), (0, 0), "keys_count of a device without keys is 0, 0")

    r1 = await req(ap, {"op": "keys_upload", "ref": "u1",
        "identity": IDENT, "prekeys": [key(1)]})
    r2 = await req(ap, {"op": "keys_upload", "ref": "u2",
        "signed_prekey": skey(1, "S"), "prekeys": [key(1)]})
    t.ok(is_err(r1, "bad_request", "u1") and is_err(r2, "bad_request", "u2")
        and await count(ap) == (0, 0),
        "rule 1: a first upload without signed_prekey or without identity "
        "is bad_request and stores nothing", f"{r1!r}\n{r2!r}")

    r = await req(ap, {"op": "keys_upload", "ref": 7, "identity": IDENT,
        "signed_prekey": skey(1, "S"),
        "prekeys": [key(3), key(1), key(2)]})
    t.ok(r == {"op": "ok", "ref": 7}, "rule 1: the first upload with "
        "identity and signed_prekey is ok, echoing its ref", repr(r))

    await ap.send({"op": "keys_upload", "prekeys": [key(4)]})
    await ap.send({"op": "keys_count", "ref": "c"})
    r = await ap.recv_op(REPLIES) or {}
    t.ok(r.get("op") == "keys_count" and r.get("ref") == "c",
        "an upload without ref gets no ok (section 9 rule 3)", repr(r))
    t.ok((r.get("prekeys"), r.get("kem_prekeys")) == (4, 0),
        "keys_count counts the pools, after the upload sent before it; a "
        "later upload needs no identity", repr(r))

    # The bad-input rows: each one bad_request with its ref, nothing kept.
    big = b64(b"x" * 65)
    bad = {
        "identity not base64": {"identity": "!!!!"},
        "identity not padded": {"identity": "QQ"},
        "identity empty": {"identity": ""},
        "identity over max_key_bytes": {"identity": big},
        "identity not a string": {"identity": 5},
        "identity null": {"identity": None},
        "key not padded": {"prekeys": [{"id": 9, "key": "QUJDRA"}]},
        "key with bad pad bits": {"prekeys": [{"id": 9, "key": "QR=="}]},
        "key over max_key_bytes": {"prekeys": [{"id": 9, "key": big}]},
        "key empty": {"prekeys": [{"id": 9, "key": ""}]},
        "sig not base64": {"signed_prekey": {"id": 2, "key": "QQ==",
            "sig": "Q Q="}},
        "sig missing": {"signed_prekey": {"id": 2, "key": "QQ=="}},
        "sig over max_key_bytes": {"kem_last_resort": {"id": 2,
            "key": "QQ==", "sig": big}},
        "kem prekey without sig": {"kem_prekeys": [{"id": 2,
            "key": "QQ=="}]},
        "id negative": {"prekeys": [{"id": -1, "key": "QQ=="}]},
        "id over 2147483647": {"prekeys": [{"id": 2147483648,
            "key": "QQ=="}]},
        "id a string": {"prekeys": [{"id": "9", "key": "QQ=="}]},
        "id a real": {"prekeys": [{"id": 9.5, "key": "QQ=="}]},
        "id missing": {"prekeys": [{"key": "QQ=="}]},
        "two prekeys with one id": {"prekeys": [key(9), key(9, "Q")]},
        "two kem prekeys with one id": {"kem_prekeys": [skey(9),
            skey(9, "L")]},
        "prekeys not an array": {"prekeys": key(9)},
        "a prekey not an object": {"prekeys": [9]},
        "replace not a boolean": {"replace": 1},
        "new identity without signed_prekey": {"identity": IDENT2},
    }
    wrong = []
    for i, (what, body) in enumerate(bad.items()):
        # More than ten protocol errors close a connection.
        if i % 8 == 0:
            await ap.close()
            ap = await Client.connect(d, tp, name="alice/phone")
        obj = {"op": "keys_upload", "ref": f"b{i}", **body}
        r = await req(ap, obj)
        if not is_err(r, "bad_request", f"b{i}"):
            wrong.append(f"{what}: {r!r}")
    t.ok(not wrong and await count(ap) == (4, 0),
        f"the {len(bad)} bad uploads of the table are bad_request with "
        "their ref and store nothing", "\n".join(wrong))
    # Ten protocol errors close a connection: start afresh.
    await ap.close()
    ap = await Client.connect(d, tp, name="alice/phone")

    r = await req(ap, {"op": "keys_upload", "ref": "id64",
        "kem_last_resort": {"id": 0, "key": b64(b"L" * 64),
        "sig": b64(b"s" * 64)}})
    t.ok(r.get("op") == "ok", "keys of exactly max_key_bytes and id 0 are "
        "taken", repr(r))

    r = await req(ap, {"op": "keys_upload", "ref": "tl",
        "prekeys": [key(5), key(6)]})
    t.ok(is_err(r, "too_large", "tl") and await count(ap) == (4, 0),
        "rule 4: a pool over max_prekeys is too_large and nothing of the "
        "upload is stored", repr(r))
    r = await req(ap, {"op": "keys_upload", "ref": "tk",
        "prekeys": [key(1, "N"), key(5)],
        "kem_prekeys": [skey(i) for i in range(1, 7)]})
    t.ok(is_err(r, "too_large", "tk") and await count(ap) == (4, 0),
        "rule 4: an over-full KEM pool refuses the whole upload", repr(r))

    r = await req(ap, {"op": "keys_upload", "ref": "rp",
        "prekeys": [key(1, "N"), key(5)],
        "kem_prekeys": [skey(2), skey(1)]})
    t.ok(r.get("op") == "ok" and await count(ap) == (5, 2),
        "rule 2: uploads add to the pools; an id already there replaces "
        "its key", repr(r))

    f = await fetch(bob, "alice", ref="f1")
    names = [b.get("device") for b in f.get("devices") or []]
    b = bundle(f, "phone") or {}
    t.ok(f.get("op") == "keys" and f.get("user") == "alice" and
        f.get("ref") == "f1" and names == ["phone"] and
        b.get("identity") == IDENT and b.get("signed_prekey") ==
        skey(1, "S") and b.get("prekey") == key(1, "N") and
        b.get("kem_prekey") == skey(1),
        "rule 5: keys_fetch returns identity, signed_prekey, the lowest "
        "prekey (replaced) and KEM prekey, keys as uploaded", repr(f))

    r = await req(al, {"op": "keys_upload", "ref": "l1", "identity": IDENT2,
        "signed_prekey": skey(9, "S"), "prekeys": [key(70)]})
    f = await fetch(bob, "alice", ref="f2")
    names = [b.get("device") for b in f.get("devices") or []]
    t.ok(r.get("op") == "ok" and names == ["laptop", "phone"] and
        pid(bundle(f, "laptop")) == 70 and pid(bundle(f, "phone")) == 2 and
        pid(bundle(f, "phone"), "kem_prekey") == 2 and
        bundle(f, "laptop").get("kem_prekey") is None,
        "rule 5: every device with an identity, sorted by name; null "
        "without a KEM prekey or last resort", repr(f))

    f = await fetch(bob, "alice", "phone", ref="f3")
    b = bundle(f, "phone") or {}
    lr = {"id": 0, "key": b64(b"L" * 64), "sig": b64(b"s" * 64)}
    t.ok(len(f.get("devices") or []) == 1 and pid(b) == 3 and
        b.get("kem_prekey") == lr,
        "rule 5: a named device; the KEM pool empty, kem_last_resort",
        repr(f))

    f = await fetch(ap, "alice", "phone", ref="own")
    b = bundle(f, "phone") or {}
    t.ok(pid(b) == 4 and b.get("kem_prekey") == lr,
        "rule 5: fetching one's own user is allowed; the last resort is "
        "not taken", repr(f))

    f = await fetch(bob, "alice", "phone")
    f2 = await fetch(bob, "alice", "phone")
    f3 = await fetch(bob, "alice", "phone")
    t.ok(pid(bundle(f, "phone")) == 5 and
        bundle(f2, "phone") is not None and
        bundle(f2, "phone").get("prekey") is None and
        bundle(f3, "phone").get("prekey") is None and
        await count(ap) == (0, 0),
        "rule 5: each key is handed out once; an empty pool gives null",
        f"{f!r}\n{f2!r}\n{f3!r}")

    f = await fetch(bob, "alice", "tablet", ref="nd")
    f2 = await fetch(bob, "carol", ref="nk")
    f3 = await fetch(bob, "carol", "default", ref="nk2")
    t.ok(f.get("op") == "keys" and f.get("devices") == [] and
        f2.get("devices") == [] and f3.get("devices") == [] and
        f.get("ref") == "nd",
        "rule 5: a device that does not exist, a user or device without "
        "keys: devices []", f"{f!r}\n{f2!r}\n{f3!r}")

    bad = [({"user": "#team"}, "bad_request", "a group name"),
        ({"user": "Bob!"}, "bad_request", "a bad user name"),
        ({"user": "x" * 65}, "bad_request", "a user name of 65 bytes"),
        ({}, "bad_request", "no user"),
        ({"user": 5}, "bad_request", "user not a string"),
        ({"user": "alice", "device": "Pho ne"}, "bad_request",
            "a bad device name"),
        ({"user": "alice", "device": 3}, "bad_request",
            "device not a string"),
        ({"user": "nobody"}, "no_such_user", "an unknown user")]
    wrong = []
    for i, (body, code, what) in enumerate(bad):
        r = await req(bob, {"op": "keys_fetch", "ref": i, **body})
        if not is_err(r, code, i):
            wrong.append(f"{what}: {r!r}")
    t.ok(not wrong, "keys_fetch of a group name or a bad name is "
        "bad_request, of an unknown user no_such_user, with its ref",
        "\n".join(wrong))
    await bob.close()
    bob = await Client.connect(d, tb, name="bob")

    r = await req(ap, {"op": "keys_upload", "ref": "rp2", "replace": True,
        "prekeys": [key(20), key(21)]})
    r2 = await req(ap, {"op": "keys_upload", "ref": "rp3", "replace": True,
        "prekeys": [key(10)]})
    f = await fetch(bob, "alice", "phone")
    t.ok(r.get("op") == "ok" and r2.get("op") == "ok" and
        pid(bundle(f, "phone")) == 10 and await count(ap) == (0, 0),
        "rule 2: replace empties the pools given first", repr(f))

    r = await req(ap, {"op": "keys_upload", "ref": "rp4",
        "prekeys": [key(30), key(31)], "kem_prekeys": [skey(30)]})
    r2 = await req(ap, {"op": "keys_upload", "ref": "rp5", "replace": True,
        "kem_prekeys": []})
    t.ok(r2.get("op") == "ok" and await count(ap) == (2, 0),
        "rule 2: replace leaves the pools not given alone", repr(r2))

    r = await req(ap, {"op": "keys_upload", "ref": "ni",
        "identity": IDENT2, "signed_prekey": skey(2, "S"),
        "prekeys": [key(40)]})
    f = await fetch(bob, "alice", "phone")
    b = bundle(f, "phone") or {}
    t.ok(r.get("op") == "ok" and b.get("identity") == IDENT2 and
        b.get("signed_prekey") == skey(2, "S") and pid(b) == 40 and
        b.get("kem_prekey") is None,
        "rule 3: a new identity empties both pools and removes "
        "kem_last_resort", repr(f))

    r = await req(ap, {"op": "keys_upload", "ref": "si",
        "identity": IDENT2, "prekeys": [key(41)]})
    t.ok(r.get("op") == "ok" and await count(ap) == (1, 0),
        "rule 3: the same identity again needs no signed_prekey and "
        "empties nothing", repr(r))

    r = await req(bob, {"op": "block", "user": "alice", "ref": "bl"})
    r2 = await req(ap, {"op": "block", "user": "bob", "ref": "bl2"})
    f = await fetch(bob, "alice", "phone")
    f2 = await fetch(ap, "bob")
    t.ok(r.get("op") == "ok" and r2.get("op") == "ok" and
        pid(bundle(f, "phone")) == 41 and f2.get("op") == "keys",
        "rule 7: blocking does not affect the key directory",
        f"{f!r}\n{f2!r}")
    for c in (ap, al, bob):
        await c.close()


async def keys_low(t, d):
    """Rule 6; keys_low is a queue item (tickd-protocol(7) VERSION 2)."""
    tp = token_for(d, "dave", "phone", new=True)
    te = token_for(d, "erin", new=True)
    dp = await Client.connect(d, tp, name="dave/phone")
    erin = await Client.connect(d, te, name="erin")
    r = await req(dp, {"op": "keys_upload", "ref": 1, "identity": IDENT,
        "signed_prekey": skey(1, "S"), "prekeys": [key(i) for i in
        range(1, 4)], "kem_prekeys": [skey(i) for i in range(1, 4)]})
    await fetch(erin, "dave")
    got = await dp.collect("keys_low", quiet=0.7)
    t.ok(r.get("op") == "ok" and got == [],
        "rule 6: no keys_low while the pools hold prekeys_low keys",
        repr(got))
    await fetch(erin, "dave")
    low = await dp.recv_op("keys_low", 3) or {}
    t.ok(low.get("prekeys") == 1 and low.get("kem_prekeys") == 1
        and isinstance(low.get("mid"), str) and
        isinstance(low.get("ts"), int),
        "rule 6: a fetch leaving a pool below prekeys_low queues keys_low "
        "with the counts after the fetch", repr(low))
    await fetch(erin, "dave")
    more = await dp.collect("keys_low", quiet=0.7)
    t.ok(more == [], "rule 6: only one keys_low until the next upload",
        repr(more))

    # Not acked: sent again on the next connection.
    await dp.close()
    dp = await Client.connect(d, tp, name="dave/phone")
    again = await dp.recv_op("keys_low", 3) or {}
    t.ok(again.get("mid") == low.get("mid"),
        "section 9 rule 4: an unacked keys_low is sent again on the next "
        "connection", repr(again))
    r = await req(dp, {"op": "ack", "mid": low.get("mid"), "ref": "a"})
    await dp.close()
    dp = await Client.connect(d, tp, name="dave/phone")
    gone = await dp.collect("keys_low", quiet=0.7)
    t.ok(r.get("op") == "ok" and gone == [],
        "section 9 rule 4: an acked keys_low is gone", repr(gone))

    r = await req(dp, {"op": "keys_upload", "ref": 2, "prekeys": [key(9)]})
    await fetch(erin, "dave")
    low2 = await dp.recv_op("keys_low", 3) or {}
    t.ok(r.get("op") == "ok" and low2.get("prekeys") == 0 and
        low2.get("kem_prekeys") == 0 and
        mid_key(low2.get("mid", "0-0")) > mid_key(low.get("mid")),
        "rule 6: after an upload the next low fetch queues keys_low again",
        repr(low2))

    # A keys_low is never refused by max_queue (3 here): fill the queue.
    for i in range(3):
        await erin.request({"op": "send", "to": "dave", "id": f"q{i}",
            "body": i})
    r = await erin.request({"op": "send", "to": "dave", "id": "q9",
        "body": 9})
    r2 = await req(dp, {"op": "keys_upload", "ref": 3, "prekeys": [key(8)]})
    await fetch(erin, "dave")
    low3 = await dp.recv_op("keys_low", 5) or {}
    t.ok(r.get("code") == "queue_full" and low3.get("op") == "keys_low",
        "section 9 rule 4: keys_low is queued into a full queue",
        f"{r!r}\n{low3!r}")
    await fetch(erin, "dave")
    await dp.close()
    await erin.close()


async def removal(t, d):
    """Rule 8: logout, tickctl device del and user del delete keys."""
    tp = token_for(d, "fay", "phone", new=True)
    tl = token_for(d, "fay", "laptop")
    tt = token_for(d, "fay", "tablet")
    tg = token_for(d, "gus", new=True)
    for tok in (tp, tl, tt):
        c = await Client.connect(d, tok)
        r = await req(c, {"op": "keys_upload", "ref": 1, "identity": IDENT,
            "signed_prekey": skey(1, "S"), "prekeys": [key(1), key(2)]})
        if r.get("op") != "ok":
            raise Failure(f"upload: {r!r}")
        await c.close()
    g = await Client.connect(d, tg, name="gus")
    st = logout(d, tl).status
    f = await fetch(g, "fay")
    t.ok(st == 204 and [b.get("device") for b in f.get("devices", [])] ==
        ["phone", "tablet"], "rule 8: logout deletes the device's keys",
        repr(f))
    tl2 = token_for(d, "fay", "laptop")
    c = await Client.connect(d, tl2)
    n = await count(c)
    r = await req(c, {"op": "keys_upload", "ref": "x", "prekeys": [key(5)]})
    t.ok(n == (0, 0) and is_err(r, "bad_request", "x"),
        "rule 8: a device logged in again under the same name starts "
        "without keys", f"{n!r} {r!r}")
    await c.close()
    if not TICKCTL or not os.access(TICKCTL, os.X_OK):
        t.skip("rule 8: tickctl device del deletes the device's keys",
            "no tickctl")
        t.skip("rule 8: tickctl user del deletes every key of the user",
            "no tickctl")
    else:
        res = tickctl(d, "device", "del", "fay", "tablet")
        f = await fetch(g, "fay")
        t.ok(res.ok and [b.get("device") for b in f.get("devices", [])] ==
            ["phone"], "rule 8: tickctl device del deletes the device's "
            "keys", f"{res!r}\n{f!r}")
        res = tickctl(d, "user", "del", "fay")
        register(d, "fay")
        f = await fetch(g, "fay")
        t.ok(res.ok and f.get("devices") == [], "rule 8: tickctl user del "
            "deletes every key of the user (none after it is registered "
            "again)", f"{res!r}\n{f!r}")
    await g.close()


async def main(t):
    with Daemon(max_prekeys=5, prekeys_low=2, max_key_bytes=64,
            max_queue=3) as d:
        await rules(t, d)
        m0 = metrics(d)
        await keys_low(t, d)
        m1 = metrics(d)
        # keys_low's fetches of dave take 2, 2, 2, then 1 and 1 after
        # uploads of one prekey each; the last finds none.
        t.ok(m1.get("tickd_prekeys_taken_total", -1) -
            m0.get("tickd_prekeys_taken_total", 0) == 8 and
            m1.get("tickd_prekeys_empty_total", -1) -
            m0.get("tickd_prekeys_empty_total", 0) == 1,
            "the metrics tickd_prekeys_taken_total and "
            "tickd_prekeys_empty_total count what fetches handed out",
            f"{m0!r}\n{m1!r}")
        await removal(t, d)

        # The keys are in the store: they survive a restart.
        tk = token_for(d, "hal", new=True)
        c = await Client.connect(d, tk)
        await req(c, {"op": "keys_upload", "ref": 1, "identity": IDENT,
            "signed_prekey": skey(1, "S"), "prekeys": [key(1), key(2)]})
        await c.close()
        d.restart()
        c = await Client.connect(d, tk)
        f = await fetch(c, "hal")
        t.ok(pid(bundle(f, "default")) == 1 and await count(c) == (1, 0),
            "keys are kept across a restart", repr(f))
        await c.close()

    # Rule 7: keys_fetch_rate bundles a minute, a fetch charged whole.
    with Daemon(keys_fetch_rate=3) as d:
        toks = [token_for(d, "ivy", dv, new=(dv == "a")) for dv in
            ("a", "b")]
        for tok in toks:
            c = await Client.connect(d, tok)
            await req(c, {"op": "keys_upload", "ref": 1, "identity": IDENT,
                "signed_prekey": skey(1, "S"),
                "prekeys": [key(i) for i in range(1, 9)]})
            await c.close()
        tj = token_for(d, "jon", new=True)
        tk = token_for(d, "kim", new=True)
        j = await Client.connect(d, tj)
        f1 = await fetch(j, "ivy", ref=1)
        f2 = await fetch(j, "ivy", ref=2)
        f3 = await fetch(j, "ivy", "a", ref=3)
        f4 = await fetch(j, "ivy", "b", ref=4)
        k = await Client.connect(d, tk)
        f5 = await fetch(k, "ivy", "b", ref=5)
        t.ok(len(f1.get("devices", [])) == 2 and
            is_err(f2, "rate_limited", 2) and
            len(f3.get("devices", [])) == 1 and
            is_err(f4, "rate_limited", 4) and
            pid(bundle(f5, "b")) == 2,
            "rule 7: at most keys_fetch_rate bundles a minute per user; a "
            "refused fetch takes nothing; other users are not limited",
            f"{f1!r}\n{f2!r}\n{f3!r}\n{f4!r}\n{f5!r}")
        await j.close()
        await k.close()

    # Rule 8 for device_ttl: an idle device goes with its keys.  The
    # short device_ttl comes by SIGHUP once the keys are uploaded, so that
    # a slow start cannot remove the device before it connects.
    with Daemon(device_ttl="1h") as d:
        tm = token_for(d, "max", "old", new=True)
        tn = token_for(d, "ned", new=True)
        c = await Client.connect(d, tm)
        r = await req(c, {"op": "keys_upload", "ref": 1, "identity": IDENT,
            "signed_prekey": skey(1, "S"), "prekeys": [key(1)]})
        await c.close()
        n = await Client.connect(d, tn)
        f = await fetch(n, "max")
        if r.get("op") != "ok" or len(f.get("devices") or []) != 1:
            raise Failure(f"upload {r!r}, fetch {f!r}")
        d.conf["device_ttl"] = "1s"
        d.write_conf()
        d.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            f = await fetch(n, "max")
            if f.get("devices") == []:
                break
            await asyncio.sleep(0.3)
        t.ok(f.get("devices") == [], "rule 8: a device removed after "
            "device_ttl loses its keys", repr(f))
        await n.close()


run(main, 37, timeout=90)
