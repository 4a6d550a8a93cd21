#!/usr/bin/python3
# The test harness itself (tickd_test.py): a first start whose port a
# process beside it took is made again on a new port; any other failed
# start, and a restart, still fail.  What every other e2e test leans on
# when tests run in parallel.

import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403


def hold(port):
    """A socket listening on the loopback port, as a test beside this
    one would hold it."""
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(1)
    return s


async def main(t):
    d = Daemon()
    taken = d.port
    with hold(taken):
        d.start()
        r = http_request(d, "GET", "/healthz", timeout=5)
        t.ok(d.running() and r.status == 200,
            "a first start whose port is taken comes up on another",
            d.tail())
        t.ok(d.port != taken and
            d.conf["listen"] == f"127.0.0.1:{d.port}",
            "the daemon and its configuration name the new port",
            f"taken {taken}, port {d.port}, listen {d.conf['listen']}")
        with open(d.log_path) as f:
            log = f.read()
        t.ok(f"127.0.0.1:{taken}" in log and
            "Address already in use" in log,
            "tickd refused the taken port first", log[-2000:])
    d.stop()
    with hold(d.port):
        try:
            d.start()
            raised = None
        except Failure as e:
            raised = str(e)
        t.ok(raised is not None and "Address already in use" in raised,
            "a restart on its own port, taken meanwhile, still fails",
            raised)
    d.cleanup()

    bad = Daemon(frobnicate="1")
    try:
        bad.start()
        raised = None
    except Failure as e:
        raised = str(e)
    t.ok(raised is not None and bad.starts == 1,
        "a start failing for another reason fails at once",
        f"starts {bad.starts}, {raised}")
    bad.cleanup()


run(main, 5)
