#!/usr/bin/python3
# Devices, tickd-protocol(7) DEVICES rules 1-4 and MESSAGES rule 1: the
# unclaimed default, renaming on first login, one queue per device, fan-out
# to every device of both users, logout and device_ttl.

import asyncio
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def ids(frames):
    return [f.get("id") for f in frames]


async def main(t):
    with Daemon() as d:
        ta = token_for(d, "alice", new=True)
        a = await Client.connect(d, ta, name="alice")
        n = 0

        async def send(to, cl=None):
            nonlocal n
            n += 1
            return await (cl or a).request({"op": "send", "to": to,
                "id": f"m{n}", "body": n}) or {}

        r = register(d, "bob")
        m1 = await send("bob")
        t.ok(r.status == 201 and m1.get("op") == "sent",
            "a new account takes messages before any login", f"sent {m1!r}")

        r = login(d, "bob", device="phone")
        tphone = (r.json or {}).get("token")
        phone = await Client.connect(d, tphone, name="bob/phone")
        got = await phone.collect("msg", quiet=0.7)
        t.ok((r.json or {}).get("device") == "phone" and
            phone.ready.get("device") == "phone" and ids(got) == ["m1"],
            "the first login naming a device renames the unclaimed default "
            "and keeps its queue",
            f"login {r!r}\nready {phone.ready!r}\nreplayed {ids(got)!r}")

        r = login(d, "bob", device="laptop")
        tlaptop = (r.json or {}).get("token")
        laptop = await Client.connect(d, tlaptop, name="bob/laptop")
        got = await laptop.collect("msg", quiet=0.7)
        t.ok((r.json or {}).get("device") == "laptop" and not got,
            "a second device starts with an empty queue",
            f"login {r!r}\nreplayed {ids(got)!r}")

        m2 = await send("bob")
        p = await phone.recv_op("msg", 3) or {}
        l = await laptop.recv_op("msg", 3) or {}
        t.ok(p.get("id") == l.get("id") == "m2" and
            p.get("mid") == l.get("mid") == m2.get("mid"),
            "a message reaches every device of the recipient",
            f"sent {m2!r}\nphone {p!r}\nlaptop {l!r}")

        await phone.request({"op": "ack", "mids": [m1.get("mid"),
            m2.get("mid")], "ref": 1})
        await phone.close()
        await laptop.close()
        phone = await Client.connect(d, tphone, name="bob/phone")
        laptop = await Client.connect(d, tlaptop, name="bob/laptop")
        gp = await phone.collect("msg", quiet=0.7)
        gl = await laptop.collect("msg", quiet=0.1)
        t.ok(not gp and ids(gl) == ["m2"],
            "each device has its own queue: an ack on one leaves the other",
            f"phone replayed {ids(gp)!r}\nlaptop replayed {ids(gl)!r}")

        r = login(d, "bob")
        tdef = (r.json or {}).get("token")
        default = await Client.connect(d, tdef, name="bob/default")
        gd = await default.collect("msg", quiet=0.7)
        m3 = await send("bob")
        got = [(await c.recv_op("msg", 3) or {}).get("id")
            for c in (phone, laptop, default)]
        t.ok((r.json or {}).get("device") == "default" and not gd and
            got == ["m3"] * 3,
            "a login without device creates default; all three get "
            "new messages",
            f"login {r!r}\ndefault replayed {ids(gd)!r}\n"
            f"phone, laptop, default got {got!r}")

        req = {"op": "send", "to": "alice", "id": "from-phone", "body": "yo"}
        s = await phone.request(req) or {}
        want = ("from-phone", "bob", "phone", "alice", s.get("mid"))
        got = []
        for c in (a, laptop, default):
            f = await c.recv_op("msg", 3) or {}
            got.append(tuple(f.get(k) for k in
                ("id", "from", "from_device", "to", "mid")))
        own = await phone.expect_nothing(0.5, op="msg")
        t.ok(s.get("op") == "sent" and got == [want] * 3 and not own,
            "the sender's other devices get a copy of what it sent",
            f"expected {want!r} at alice, laptop, default\ngot {got!r}\n"
            f"the sending phone got {own!r}")

        tlaptop2 = token_for(d, "bob", "laptop")
        await laptop.close()
        laptop = await Client.connect(d, tlaptop2, name="bob/laptop")
        gl = await laptop.collect("msg", quiet=0.7)
        t.ok(laptop.ready.get("device") == "laptop" and
            ids(gl) == ["m2", "m3", "from-phone"],
            "a login naming an existing device reuses it and its queue",
            f"ready {laptop.ready!r}\nreplayed {ids(gl)!r}")

        r = logout(d, tlaptop2)
        code = await laptop.wait_closed(3)
        old = await Client.connect(d, tlaptop, ready=False, name="old")
        e = await old.recv_op(("error", "ready"), 3) or {}
        t.ok(r.status == 204 and code is not None and
            e.get("code") == "bad_token",
            "logout removes the device: its other token is dead too",
            f"logout {r!r}\nopen connection closed: {code!r}\n"
            f"older token of the device: {e!r}")
        await old.close()

        tlaptop3 = token_for(d, "bob", "laptop")
        laptop = await Client.connect(d, tlaptop3, name="bob/laptop")
        gl = await laptop.collect("msg", quiet=0.7)
        t.ok(not gl, "logging in as a logged-out device gives an empty "
            "queue: the old one went with it", f"replayed {ids(gl)!r}")
        for c in (phone, laptop, default):
            await c.close()

        tc = token_for(d, "carol", "x", new=True)
        r = logout(d, tc)
        m4 = await send("carol")
        r2 = login(d, "carol", device="tab")
        tab = await Client.connect(d, (r2.json or {}).get("token"),
            name="carol/tab")
        got = await tab.collect("msg", quiet=0.7)
        t.ok(r.status == 204 and m4.get("op") == "sent" and
            ids(got) == [m4.get("id")],
            "after the last device logs out, messages wait in a fresh "
            "unclaimed default",
            f"logout {r!r}\nsend {m4!r}\nlogin {r2!r}\n"
            f"tab replayed {ids(got)!r}")
        await tab.close()

        tdd = token_for(d, "dave", new=True)
        m5 = await send("dave")
        tdp = token_for(d, "dave", "phone")
        dp = await Client.connect(d, tdp, name="dave/phone")
        gp = await dp.collect("msg", quiet=0.7)
        dd = await Client.connect(d, tdd, name="dave/default")
        gd = await dd.collect("msg", quiet=0.7)
        t.ok(not gp and ids(gd) == [m5.get("id")],
            "a claimed default is not renamed: a new device is created",
            f"phone replayed {ids(gp)!r}\ndefault replayed {ids(gd)!r}")
        for c in (a, dp, dd):
            await c.close()

        rc = d.stop()
        t.eq(rc, 0, "tickd exits 0 on SIGTERM")

    with Daemon(name="device-ttl", device_ttl="2s", message_ttl="1h") as d2:
        ta = token_for(d2, "alice", new=True)
        a = await Client.connect(d2, ta, name="alice")
        told = token_for(d2, "erin", "old", new=True)
        tnew = token_for(d2, "erin", "new")
        tsolo = token_for(d2, "fiona", "solo", new=True)
        new = await Client.connect(d2, tnew, name="erin/new")
        for tok in (told, tsolo):
            c = await Client.connect(d2, tok)
            await c.close()
        # 2.5 x device_ttl, with the online device answering pings
        for _ in range(10):
            await new.request({"op": "ping"})
            await asyncio.sleep(0.5)

        s = await a.request({"op": "send", "to": "erin", "id": "e1",
            "body": 1}) or {}
        m = await new.recv_op("msg", 3) or {}
        t.ok(s.get("op") == "sent" and m.get("mid") == s.get("mid"),
            "a connected device outlives device_ttl",
            f"sent {s!r}\nnew got {m!r}")

        old = await Client.connect(d2, told, ready=False, name="erin/old")
        e = await old.recv_op(("error", "ready"), 3) or {}
        t.ok(e.get("code") == "bad_token",
            "a device idle for device_ttl is removed with its token",
            f"its token got {e!r}")

        s = await a.request({"op": "send", "to": "fiona", "id": "f1",
            "body": 1}) or {}
        r = login(d2, "fiona", device="tab")
        tab = await Client.connect(d2, (r.json or {}).get("token"),
            name="fiona/tab")
        got = await tab.collect("msg", quiet=0.7)
        t.ok(s.get("op") == "sent" and ids(got) == ["f1"],
            "a user whose only device expired gets a fresh unclaimed "
            "default", f"sent {s!r}\ntab replayed {ids(got)!r}")
        for c in (a, new, old, tab):
            await c.close()


run(main, 16)
