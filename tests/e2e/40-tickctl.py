#!/usr/bin/python3
# tickctl(8) against a running daemon: every command that goes over the
# control socket, checked through independent clients (HTTP, WebSocket) and
# with live effects: deleting a user or a device and revoking tokens close
# their connections at once, purging a queue empties what a device gets,
# reload and log level change the running daemon.

import asyncio
import os
import select
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import *  # noqa: E402,F403

GiB = 1024 ** 3


def names(res, key="users", field="user"):
    return [u.get(field) for u in (res or {}).get(key, [])]


def device(res, name):
    for dv in (res or {}).get("devices", []):
        if dv.get("device") == name:
            return dv
    return {}


def on_terminal(d, args, answers, timeout=20):
    """Run tickctl on a terminal (script(1) gives it one), typing each
    answer after the prompt that asks for it; the whole transcript."""
    p = subprocess.Popen(["script", "-qec", " ".join([TICKCTL, "-c",
        d.conf_path] + args), "/dev/null"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        for prompt, answer in answers:
            while prompt.encode() not in out:
                if time.monotonic() > deadline or p.poll() is not None:
                    raise Failure(f"no prompt {prompt!r}: {out!r}")
                if select.select([p.stdout], [], [], 0.1)[0]:
                    out += os.read(p.stdout.fileno(), 4096)
            out = out.replace(prompt.encode(), b"<" + prompt.encode() +
                b">", 1)
            time.sleep(0.1)
            p.stdin.write(answer.encode() + b"\n")
            p.stdin.flush()
        while p.poll() is None or select.select([p.stdout], [], [], 0)[0]:
            if time.monotonic() > deadline:
                raise Failure(f"tickctl did not finish: {out!r}")
            if select.select([p.stdout], [], [], 0.1)[0]:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        return p.wait(5), out.decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


async def main(t):
    with Daemon() as d:
        # user add: the password from stdin; the account logs in over HTTP.
        r = tickctl(d, "user", "add", "alice", "--stdin", stdin="pw-one\n")
        t.ok(r.ok and r.get("user") == "alice", "user add alice", r)
        t.eq(login(d, "alice", "pw-one", device="check").status, 200,
            "the password set by tickctl logs in over HTTP")
        r = tickctl(d, "user", "add", "alice", "--stdin", stdin="x\n")
        t.ok(r.one_error_line("user alice exists"),
            "user add of a taken name: one error line, status 1", r)
        r = tickctl(d, "user", "add", "Bad Name", "--stdin", stdin="x\n")
        t.ok(r.one_error_line("bad user name"), "a bad user name is "
            "refused", r)
        r = tickctl(d, "user", "add", "carol")
        t.ok(r.one_error_line("--stdin"), "without a terminal, user add "
            "asks for --stdin", r)
        rc, out = on_terminal(d, ["user", "add", "tty"],
            [("New password for tty: ", "typed-pw"), ("Retype it: ",
            "typed-pw")])
        t.ok(rc == 0 and "user tty added" in out and "typed-pw" not in out
            and login(d, "tty", "typed-pw").status == 200,
            "on a terminal the password is asked twice, without echo",
            repr(out))
        rc, out = on_terminal(d, ["user", "add", "tty2"],
            [("New password for tty2: ", "one"), ("Retype it: ", "two")])
        t.ok(rc == 1 and "do not match" in out and
            login(d, "tty2", "one").status == 401,
            "two different passwords: nothing is created", repr(out))
        t.eq(register(d, "carol").status, 201,
            "nothing was created by the refused user add")

        # user passwd: the old password stops working, the new one works.
        r = tickctl(d, "user", "passwd", "alice", "--stdin",
            stdin="pw-two\n")
        t.ok(r.ok, "user passwd alice", r)
        t.ok(login(d, "alice", "pw-one", device="check").status == 401
            and login(d, "alice", "pw-two", device="check").status == 200,
            "after user passwd only the new password logs in")
        r = tickctl(d, "user", "passwd", "nobody", "--stdin", stdin="x\n")
        t.ok(r.one_error_line("no such user: nobody"),
            "user passwd of an unknown user", r)

        # Two devices of alice, bob online.
        tphone = login(d, "alice", "pw-two", device="phone").json["token"]
        tlap = login(d, "alice", "pw-two", device="laptop").json["token"]
        tbob = token_for(d, "bob", new=True)
        phone = await Client.connect(d, tphone, name="alice/phone")
        bob = await Client.connect(d, tbob, name="bob")

        r = tickctl(d, "user", "list")
        t.ok(r.ok and names(r.json) == ["alice", "bob", "carol", "tty"],
            "user list: every account, in name order", r)
        online = {u["user"]: u.get("online") for u in r.get("users", [])}
        t.eq(online, {"alice": True, "bob": True, "carol": False,
            "tty": False},
            "user list: who is online")

        r = tickctl(d, "user", "show", "alice")
        t.ok(r.ok and r.get("online") is True and
            device(r.json, "phone").get("online") is True and
            device(r.json, "laptop").get("online") is False and
            r.get("tokens") == 4,
            "user show: online state of the user and of each device, "
            "its tokens", r)
        r2 = tickctl(d, "user", "show", "alice", json_out=False)
        t.ok(r2.ok and "phone" in r2.out and "laptop" in r2.out and
            "user:" in r2.out, "user show without -j is a readable "
            "table", r2)

        # Queues: bob sends three messages while the laptop is offline.
        for i in range(3):
            s = await bob.request({"op": "send", "to": "alice",
                "id": f"q{i}", "body": {"text": "x" * 50}})
            if not s or s.get("op") != "sent":
                raise Failure(f"send: {s!r}")
        await phone.collect("msg", quiet=0.3)
        r = tickctl(d, "queue", "show", "alice:laptop")
        lap = device(r.json, "laptop")
        t.ok(r.ok and lap.get("items") == 3 and lap.get("bytes", 0) > 150
            and isinstance(lap.get("oldest"), int) and
            now_ms() - lap["oldest"] < 60000 and r.get("items") == 3,
            "queue show alice:laptop: items, bytes, oldest", r)
        r = tickctl(d, "queue", "show", "alice")
        t.ok(r.ok and len(r.get("devices", [])) == 3 and
            r.get("items") == 9,
            "queue show alice: every device and the totals", r)
        r = tickctl(d, "queue", "purge", "alice:laptop")
        t.ok(r.ok and r.get("items") == 3, "queue purge alice:laptop", r)
        r = tickctl(d, "queue", "show", "alice:laptop")
        t.ok(r.ok and device(r.json, "laptop").get("items") == 0 and
            device(r.json, "laptop").get("oldest") is None,
            "the purged queue is empty", r)
        lap = await Client.connect(d, tlap, name="alice/laptop")
        got = await lap.expect_nothing(0.7, op="msg")
        t.eq(got, [], "the laptop gets nothing of what was purged")
        r = tickctl(d, "queue", "show", "alice:tablet")
        t.ok(r.one_error_line("no such user or device: alice:tablet"),
            "queue show of an unknown device", r)

        # Purging the queue of an online device resets its window.
        s = await bob.request({"op": "send", "to": "alice", "id": "w1",
            "body": 1})
        first = await lap.recv_op("msg", 3)
        r = tickctl(d, "queue", "purge", "alice")
        t.ok(r.ok and first is not None, "queue purge alice while the "
            "laptop holds an unacked item", r)
        s = await bob.request({"op": "send", "to": "alice", "id": "w2",
            "body": 2})
        nxt = await lap.recv_op("msg", 3)
        t.ok(nxt is not None and nxt.get("id") == "w2",
            "after the purge new items still reach the online device",
            f"got {nxt!r}")

        # Blocks.
        ok = await phone.request({"op": "block", "user": "bob",
            "ref": 1})
        r = tickctl(d, "block", "list", "alice")
        t.ok(ok and ok.get("op") == "ok" and r.ok and
            r.get("blocks") == ["bob"] and
            r.get("blocked_by") == [], "block list alice", r)
        r = tickctl(d, "block", "list", "bob")
        t.ok(r.ok and r.get("blocks") == [] and
            r.get("blocked_by") == ["alice"], "block list bob: who blocks "
            "him", r)

        r = tickctl(d, "device", "list", "alice")
        t.ok(r.ok and sorted(names(r.json, "devices", "device")) ==
            ["check", "laptop", "phone"], "device list alice", r)

        # device del: the phone goes offline at once, its token is dead.
        r = tickctl(d, "device", "del", "alice", "phone")
        code = await phone.wait_closed(3)
        t.ok(r.ok and r.get("closed") == 1 and code == 1008,
            "device del closes the device's connection with 1008",
            [r, f"close code {code}"])
        c = await Client.connect(d, tphone, ready=False, name="old phone")
        e = await c.recv_op("error", 3)
        t.ok(e is not None and e.get("code") == "bad_token",
            "the deleted device's token is refused", f"got {e!r}")
        await c.close()
        r = tickctl(d, "device", "del", "alice", "phone")
        t.ok(r.one_error_line("no such device"),
            "device del of a device that is gone", r)

        # token revoke: the laptop goes offline, its device stays.
        r = tickctl(d, "token", "revoke", "alice:laptop")
        code = await lap.wait_closed(3)
        t.ok(r.ok and r.get("tokens") == 1 and code == 1008,
            "token revoke closes the device's connection with 1008",
            [r, f"close code {code}"])
        r = tickctl(d, "device", "list", "alice")
        t.ok(names(r.json, "devices", "device") == ["check", "laptop"],
            "token revoke keeps the device", r)
        t.eq(http_request(d, "GET", "/v1/users/bob/last-seen",
            token=tlap).status, 401, "the revoked token is refused")

        # stats.
        r = tickctl(d, "stats")
        t.ok(r.ok and r.get("accepted") == 5 and
            r.get("authenticated") == 1 and r.get("users_online") == 1 and
            r.get("connections") == 1 and
            r.get("control_connections") == 1 and
            r.get("store_map_size") == GiB and
            0 < r.get("store_used", 0) < GiB and
            r.get("commits", 0) > 0 and r.get("commit_ms_avg", 0) > 0 and
            r.get("accepted_per_second", 0) > 0 and
            r.get("devices") == 5, "stats", r)

        # log level.
        r = tickctl(d, "log", "level", "debug")
        t.ok(r.ok and r.get("log_level") == "debug", "log level debug", r)
        register(d, "dave")
        t.ok("debug" in d.tail(50).lower() or "http:" in d.tail(50),
            "the daemon logs at the new level", d.tail(5))
        r = tickctl(d, "log", "level", "chatty")
        t.ok(r.one_error_line("bad log level"), "log level of a bad "
            "level", r)

        # reload: a good file applies, a bad one is the answer.
        d.conf["registration"] = "closed"
        d.write_conf()
        r = tickctl(d, "reload")
        t.ok(r.ok and register(d, "erin").status == 403,
            "reload applies registration closed", r)
        with open(d.conf_path, "a") as f:
            f.write("window zero\n")
        r = tickctl(d, "reload", how="socket")
        t.ok(r.one_error_line("bad value for \"window\"") and
            "kept" in r.err, "reload of a bad file: the daemon's error, "
            "the running configuration kept", r)
        with open(d.conf_path) as f:
            last = len(f.read().splitlines())
        r = tickctl(d, "reload")
        t.ok(r.one_error_line(f":{last}: bad value for \"window\""),
            "tickctl itself names the bad line of the file it reads", r)
        d.write_conf()

        # user del: bob's connection closes, his account and blocks go.
        r = tickctl(d, "user", "del", "bob")
        code = await bob.wait_closed(3)
        t.ok(r.ok and r.get("closed") == 1 and r.get("blocks") == 1 and
            code == 1008, "user del closes the user's connections",
            [r, f"close code {code}"])
        t.eq(login(d, "bob").status, 401, "the deleted user cannot log in")
        r = tickctl(d, "block", "list", "alice")
        t.ok(r.ok and r.get("blocks") == [], "blocks of the deleted user "
            "are gone both ways", r)
        r = tickctl(d, "user", "show", "bob")
        t.ok(r.one_error_line("no such user: bob"), "user show of the "
            "deleted user", r)
        r = tickctl(d, "user", "del", "bob")
        t.ok(r.one_error_line("no such user: bob"), "user del twice", r)

        # Command words: prefixes, ambiguity, unknown, usage.
        r = tickctl(d, "u", "l")
        t.ok(r.ok and names(r.json) == ["alice", "carol", "dave", "tty"],
            "u l is user list", r)
        r = tickctl(d, "re")
        t.ok(r.rc == 1 and "ambiguous" in r.err and "reload" in r.err and
            "repair" in r.err, "re is ambiguous: reload or repair", r)
        r = tickctl(d, "user")
        t.ok(r.rc == 1 and "incomplete" in r.err and "user add" in r.err,
            "an incomplete command lists what it could be", r)
        r = tickctl(d, "frobnicate")
        t.ok(r.rc == 1 and "unknown command" in r.err and "usage" in r.err,
            "an unknown command prints the usage", r)
        r = tickctl(d, "stats", how="socket")
        t.ok(r.ok and r.get("uptime") is not None, "-s names the socket "
            "without a configuration file", r)

        r = tickctl(d, "repair")
        t.ok(r.ok and r.get("consistent") is True and
            r.get("problems") == 0 and r.get("users") == 4,
            "repair on a consistent store changes nothing", r)
        await phone.close()


need_tickctl()
run(main, 50)
