#!/usr/bin/python3
# tickd.conf(5) registration: open on a listen that is not loopback is
# refused at startup, by tickd -t and by a reload, unless written
# open_public; open_public lets anyone register, as open does.  No test
# binds a public address: tickd -t only reads the file.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from ctl_test import need_tickctl, tickctl  # noqa: E402

WHY = ("registration is open on listen 0.0.0.0:8080, which is not a "
    "loopback address, so anyone who reaches it may make accounts: write "
    "registration open_public to mean it, or registration closed")


def conf_file(d, name, lines):
    path = os.path.join(d.dir, name)
    with open(path, "w") as f:
        f.write("".join(f"{x}\n" for x in lines))
    return path


async def main(t):
    with Daemon("reg", registration="open_public") as d:
        r = register(d, "alice")
        t.eq(r.status, 201, "registration open_public: anyone registers")
        base = [f"data_dir {d.data_dir}", f"pidfile {d.dir}/x.pid"]
        rc, err = d.check_config(conf_file(d, "a.conf",
            base + ["listen 0.0.0.0:8080"]))
        t.ok(rc == 1 and WHY in err, "the default (open) on 0.0.0.0: tickd "
            "-t refuses, saying what to write", (rc, err))
        rc, err = d.check_config(conf_file(d, "b.conf",
            base + ["listen [::]:8080", "registration open"]))
        t.ok(rc == 1 and "registration is open on listen [::]:8080" in err,
            "open on [::]: refused", (rc, err))
        for reg in ("open_public", "closed"):
            rc, err = d.check_config(conf_file(d, "c.conf",
                base + ["listen 0.0.0.0:8080", f"registration {reg}"]))
            t.eq(rc, 0, f"{reg} on 0.0.0.0: accepted")
        rc, err = d.check_config(conf_file(d, "d.conf",
            base + ["listen 127.0.0.1:8080", "registration open"]))
        t.eq(rc, 0, "open on loopback: accepted, as in the Quick start")

        # A reload to open on a public listen is refused whole.
        d.conf["listen"] = "0.0.0.0:8080"
        d.conf["registration"] = "open"
        d.write_conf()
        r = tickctl(d, "reload", how="socket", json_out=False)
        t.ok(r.rc != 0 and "registration is open on listen" in r.err,
            "a reload to it fails and says why", r)
        d.conf["listen"] = f"127.0.0.1:{d.port}"
        d.write_conf()


need_tickctl()
run(main, 7)
