#!/usr/bin/env python3
# Access to the RESP shim (tickd-resp(7) LISTENING AND ACCESS): tickd refuses
# to start with resp_listen off loopback and no resp_password, naming both;
# with a password every command but AUTH, HELLO ... AUTH and QUIT is
# NOAUTH until authenticated, through raw RESP, redis-cli and redis-py;
# SIGHUP changes the password for later logins; resp_max_clients holds.

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

try:
    import redis
except ImportError:
    redis = None


async def main(t):
    d = RespDaemon(name="open", resp_listen=f"0.0.0.0:{free_port()}")
    rc, err = (d.write_conf(), d.check_config())[1]
    t.ok(rc == 1 and "resp_listen" in err and "resp_password" in err,
        "tickd -t refuses resp_listen on 0.0.0.0 without resp_password, "
        "naming both", f"{rc} {err!r}")
    d.start(ready=False)
    status = d.wait(10)
    t.ok(status == 1 and "resp_password" in d.tail(),
        "and tickd does not start with it", f"{status} {d.tail()!r}")
    d.cleanup()
    d = RespDaemon(name="v6", resp_listen=f"[::1]:{free_port()}")
    d.write_conf()
    t.eq(d.check_config()[0], 0, "[::1] is loopback: no password needed")
    d.cleanup()

    with RespDaemon(name="pw", resp_password="\"s3cret word\"",
        resp_max_clients=8) as d:
        c = d.conn()
        got = [c.cmd("PING"), c.cmd("XADD", "s", "*", "f", "v"),
            c.cmd("HELLO", "3"), c.cmd("AUTH", "wrong"),
            c.cmd("AUTH", "default", "wrong"), c.cmd("AUTH", "s3cret word"),
            c.cmd("PING")]
        t.eq(got, [Error("NOAUTH Authentication required."),
            Error("NOAUTH Authentication required."), Error(
            "NOAUTH HELLO must be called with the client already "
            "authenticated, otherwise the HELLO AUTH <user> <pass> option "
            "can be used to authenticate the client and select the RESP "
            "protocol version at the same time"), Error("WRONGPASS invalid "
            "username-password pair or user is disabled."), Error(
            "WRONGPASS invalid username-password pair or user is disabled."),
            Status("OK"), Status("PONG")],
            "NOAUTH until AUTH with the password, WRONGPASS for a wrong one")
        c2 = d.conn()
        h = c2.cmd("HELLO", "3", "AUTH", "default", "s3cret word",
            "SETNAME", "app")
        t.ok(isinstance(h, Map) and dict(h).get(b"proto") == 3 and
            c2.cmd("CLIENT", "GETNAME") == b"app",
            "HELLO 3 AUTH default <password> SETNAME logs in", repr(h))
        c3 = d.conn()
        t.ok(c3.cmd("QUIT") == "OK" and c3.read_all(1)[1],
            "QUIT needs no AUTH")
        p = subprocess.run([REDIS_CLI, "-p", str(d.resp_port), "-a",
            "s3cret word", "--no-auth-warning", "XADD", "s", "1-1", "f",
            "v"], capture_output=True, timeout=10) if REDIS_CLI else None
        t.ok(p is not None and p.stdout.strip() == b"1-1",
            "redis-cli -a logs in", repr(p))
        if redis is not None:
            r = redis.Redis(port=d.resp_port, password="s3cret word")
            ok = r.xlen("s") == 1
            r.close()
            try:
                redis.Redis(port=d.resp_port, password="nope").ping()
                refused = False
            except redis.RedisError as e:
                refused = "WRONGPASS" in str(e) or isinstance(e,
                    redis.AuthenticationError)
            t.ok(ok and refused, "redis-py logs in with password=, and is "
                "refused with a wrong one")
        else:
            t.skip("redis-py logs in", "python3-redis is missing")

        # SIGHUP: the new password for new logins; logged-in ones stay.
        d.conf["resp_password"] = "new"
        d.write_conf()
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        c4 = d.conn()
        t.ok(c4.cmd("AUTH", "s3cret word") == Error("WRONGPASS invalid "
            "username-password pair or user is disabled.") and
            c4.cmd("AUTH", "new") == "OK" and c.cmd("PING") == "PONG",
            "after SIGHUP the new password logs in, and clients already "
            "logged in stay so")
        c3.close()
        extra, refused = [], None
        for _ in range(12):
            x = d.conn()
            out, closed = x.read_all(0.2)
            if closed:
                refused = out
                break
            extra.append(x)
        t.ok(refused == b"-ERR max number of clients reached\r\n" and
            len(extra) <= 8 and c.cmd("PING") == "PONG",
            "a client over resp_max_clients is told and closed",
            f"{refused!r} after {len(extra)}")
        t.eq(d.stop(), 0, "tickd stops cleanly on SIGTERM")


run(main, 11)
