#!/usr/bin/python3
# Push registration and mutes, tickd-protocol(7) PUSH NOTIFICATIONS:
# push_register and its refusals (push off, host not allowed, http while
# https-only, private address, failing discovery), every bad input of the
# contract, push_status, push_unregister, mute, unmute, mutes and max_mutes.

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from push_test import *  # noqa: E402,F403

UA_P256DH = ("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4b"
    "jyPjs7Vd8pZGH6SRpkNtoIAiw4")
UA_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"


async def status(c):
    await c.send({"op": "push_status"})
    return await c.recv_op("push_status")


async def code(c, req):
    rep = await c.request(req)
    if rep is None:
        return None
    return rep.get("code") if rep.get("op") == "error" else rep.get("op")


async def codes(d, token, reqs):
    """The answer to each request, on fresh connections: past ten
    protocol errors a connection is closed."""
    got = []
    for i in range(0, len(reqs), 8):
        c = await Client.connect(d, token, name="bad")
        for j, q in enumerate(reqs[i:i + 8]):
            got.append(await code(c, dict(q, ref=i + j)))
        await c.close()
    return got


async def main(t):
    with Receiver() as r, Daemon(push_allow_hosts="127.0.0.1",
            push_allow_http="yes", push_allow_private="yes",
            push_timeout="1s", max_mutes=3) as d, \
            Daemon(name="strict", push_allow_hosts='"127.0.0.1 localhost"',
            push_timeout="1s") as d2:
        tb = token_for(d, "bob", "phone", new=True)
        for u in ("alice", "carol", "dave", "erin"):
            token_for(d, u, new=True)
        tbad = token_for(d, "bob", "tablet")
        b = await Client.connect(d, tb, name="bob")

        st = await status(b)
        t.eq(st, {"op": "push_status", "kind": None, "endpoint": None,
            "failures": 0}, "push_status without an endpoint: kind and "
            "endpoint null")

        bad = [
            {"op": "push_register", "kind": "apns",
                "endpoint": r.url("/x")},
            {"op": "push_register", "kind": 3, "endpoint": r.url("/x")},
            {"op": "push_register"},
            {"op": "push_register", "endpoint": 17},
            {"op": "push_register", "endpoint": "no url at all"},
            {"op": "push_register", "endpoint": r.url("/x"),
                "p256dh": UA_P256DH},
            {"op": "push_register", "endpoint": r.url("/x"),
                "auth": UA_AUTH},
            {"op": "push_register", "endpoint": r.url("/x"),
                "p256dh": "AAAA", "auth": UA_AUTH},
            {"op": "push_register", "endpoint": r.url("/x"),
                "p256dh": UA_P256DH, "auth": "AAAA"},
            {"op": "push_register", "kind": "webhook",
                "endpoint": r.url("/x"), "p256dh": UA_P256DH,
                "auth": UA_AUTH},
            {"op": "push_register", "endpoint": r.url("/x"), "token": "t"},
            {"op": "push_register", "kind": "webhook",
                "endpoint": r.url("/x"), "token": "t" * 1025},
            {"op": "push_register", "kind": "webhook",
                "endpoint": r.url("/x"), "token": ""},
        ]
        got = await codes(d, tbad, bad)
        t.eq(got, ["bad_request"] * len(bad), "each bad push_register "
            "input of the contract is bad_request")

        r.discovery["/nodisc"] = (404, b"not found")
        r.discovery["/notup"] = (200, b'{"something":"else"}')
        r.discovery["/hang"] = "hang"
        refused = {
            "host not in push_allow_hosts":
                f"http://localhost:{r.port}/x",
            "user info": f"http://u:p@127.0.0.1:{r.port}/x",
            "fragment": f"http://127.0.0.1:{r.port}/x#f",
            "longer than 1000 bytes": r.url("/" + "a" * 1000),
            "discovery 404": r.url("/nodisc"),
            "discovery not UnifiedPush": r.url("/notup"),
            "nothing listening": f"http://127.0.0.1:{closed_port()}/x",
        }
        got = {}
        for why, url in refused.items():
            rep = await b.request({"op": "push_register", "endpoint": url,
                "ref": why})
            got[why] = (rep or {}).get("code"), bool((rep or {}).get(
                "message"))
        t.eq(got, {k: ("push_rejected", True) for k in refused},
            "refused endpoints get push_rejected with a message")

        t0 = time.monotonic()
        rep = await b.request({"op": "push_register",
            "endpoint": r.url("/hang")}, timeout=8)
        t.ok((rep or {}).get("code") == "push_rejected",
            "a discovery that never answers is refused after push_timeout",
            f"got {rep!r} after {time.monotonic() - t0:.1f} s")

        t.eq(await status(b), {"op": "push_status", "kind": None,
            "endpoint": None, "failures": 0},
            "a refused registration stores nothing")

        gets = len(r.gets)
        rep = await b.request({"op": "push_register",
            "endpoint": r.url("/bob"), "ref": "r"})
        st = await status(b)
        t.ok(rep == {"op": "ok", "ref": "r"} and st == {"op": "push_status",
            "kind": "unifiedpush", "endpoint": r.url("/bob"),
            "failures": 0} and "/bob" in r.gets[gets:],
            "push_register after a discovery GET: ok, and push_status "
            "shows it", f"reply {rep!r}\nstatus {st!r}\nGETs {r.gets!r}")

        rep = await b.request({"op": "push_register", "kind": "webhook",
            "endpoint": r.url("/hook"), "token": "tok", "ref": 2})
        st = await status(b)
        t.ok(rep == {"op": "ok", "ref": 2} and st.get("kind") == "webhook"
            and st.get("endpoint") == r.url("/hook"),
            "a second push_register replaces the endpoint (a webhook, "
            "no discovery)", f"reply {rep!r}\nstatus {st!r}")

        rep = await b.request({"op": "push_unregister", "ref": 3})
        st = await status(b)
        t.ok(rep == {"op": "ok", "ref": 3} and st.get("endpoint") is None,
            "push_unregister removes it", f"{rep!r} {st!r}")

        # The strict daemon: https only, public addresses only.
        tb2 = token_for(d2, "bob", new=True)
        b2 = await Client.connect(d2, tb2, name="bob@strict")
        rep = await b2.request({"op": "push_register",
            "endpoint": r.url("/bob")})
        t.ok((rep or {}).get("code") == "push_rejected",
            "http endpoint refused without push_allow_http", repr(rep))
        rep = await b2.request({"op": "push_register",
            "endpoint": f"https://127.0.0.1:{r.port}/bob"})
        rep2 = await b2.request({"op": "push_register",
            "endpoint": f"https://localhost:{r.port}/bob"})
        t.ok((rep or {}).get("code") == "push_rejected" and
            (rep2 or {}).get("code") == "push_rejected" and
            "not public" in (rep or {}).get("message", "") and
            "not public" in (rep2 or {}).get("message", ""),
            "a loopback address, named or resolved, is refused without "
            "push_allow_private", f"{rep!r}\n{rep2!r}")
        info1 = json.loads(http_request(d2, "GET", "/v1/info").raw)
        d2.conf["push_allow_hosts"] = None
        d2.write_conf()
        d2.signal(signal.SIGHUP)
        time.sleep(0.5)
        info2 = json.loads(http_request(d2, "GET", "/v1/info").raw)
        rep = await b2.request({"op": "push_register",
            "endpoint": f"https://127.0.0.1:{r.port}/bob"})
        t.ok((rep or {}).get("code") == "push_rejected" and
            "not enabled" in (rep or {}).get("message", "") and
            info1.get("push") is True and info2.get("push") is False,
            "without push_allow_hosts every push_register is refused, and "
            "/v1/info says push false", f"{rep!r}\n{info1!r}\n{info2!r}")
        await b2.close()

        # Mutes.
        bad = [
            {"op": "mute"},
            {"op": "mute", "chat": 5},
            {"op": "mute", "chat": "Not A Name!"},
            {"op": "mute", "chat": "alice", "until": "soon"},
            {"op": "mute", "chat": "alice", "until": 1.5},
            {"op": "unmute"},
        ]
        got = await codes(d, tbad, bad)
        t.eq(got, ["bad_request"] * len(bad),
            "each bad mute input is bad_request")
        t.eq(await code(b, {"op": "mute", "chat": "nobody", "ref": 1}),
            "no_such_user", "muting an unknown user is no_such_user")

        until = now_ms() + 3600_000
        got = [await code(b, {"op": "mute", "chat": "alice", "ref": 1}),
            await code(b, {"op": "mute", "chat": "carol", "until": until,
                "ref": 2}),
            await code(b, {"op": "mute", "chat": "dave", "ref": 3}),
            await code(b, {"op": "mute", "chat": "erin", "ref": 4}),
            await code(b, {"op": "mute", "chat": "alice", "until": until,
                "ref": 5})]
        t.eq(got, ["ok", "ok", "ok", "bad_request", "ok"],
            "a fourth mute past max_mutes 3 is bad_request; changing one "
            "is not")
        await b.send({"op": "mutes", "ref": "m"})
        m = await b.recv_op("mutes")
        t.eq(m, {"op": "mutes", "ref": "m", "chats": [
            {"chat": "alice", "until": until},
            {"chat": "carol", "until": until},
            {"chat": "dave", "until": None}]},
            "mutes lists them by chat, until null for no end")
        got = [await code(b, {"op": "unmute", "chat": "dave", "ref": 1}),
            await code(b, {"op": "mute", "chat": "carol",
                "until": now_ms() - 1000, "ref": 2}),
            await code(b, {"op": "unmute", "chat": "dave", "ref": 3})]
        await b.send({"op": "mutes"})
        m = await b.recv_op("mutes")
        t.ok(got == ["ok", "ok", "ok"] and m == {"op": "mutes", "chats": [
            {"chat": "alice", "until": until}]},
            "unmute, and a mute with a past until, unmute; unmute twice "
            "is ok", f"{got!r} {m!r}")
        await b.close()

        # Mutes belong to the user and survive a restart.
        d.restart()
        b = await Client.connect(d, token_for(d, "bob", "laptop"),
            name="bob/laptop")
        await b.send({"op": "mutes"})
        m = await b.recv_op("mutes")
        t.eq(m, {"op": "mutes", "chats": [{"chat": "alice",
            "until": until}]}, "mutes are the user's, on every device, "
            "and survive a restart")
        await b.close()


need_push()
run(main, 17)
