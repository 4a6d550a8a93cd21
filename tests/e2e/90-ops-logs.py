#!/usr/bin/python3
# tickd(8) LOGS: on standard error every line has a UTC timestamp ending in
# Z and a severity; when standard error is the journal ($JOURNAL_STREAM
# names its device and inode) every line starts with a <N> syslog priority
# instead.  The fail2ban filter of contrib/fail2ban matches the failed-login
# lines of a real run with the client's address, the peer's and IPv4 and
# IPv6 ones named by a trusted proxy, and no other line.
#
# fail2ban itself is not run: its filter's failregex is read with
# configparser and its two macros are replaced as fail2ban does, <HOST> by
# (a copy of) fail2ban's address pattern and %(__prefix_line)s by the
# "host tickd[pid]: " a syslog or journal line starts with; the date is
# stripped first, as fail2ban's date detector does.

import configparser
import datetime
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

TOP = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
FILTER = os.path.join(TOP, "contrib", "fail2ban", "filter.d", "tickd.conf")
STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z "
    r"(crit|error|warning|notice|info|debug) \S")
JOURNAL = re.compile(r"^<([0-7])>\S")
HOST = (r"(?:(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})|"
    r"(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|"
    r"(?<=:):)))")
PREFIX = r"\s*(?:\S+ tickd\[\d+\]: )?"


def failregex():
    cp = configparser.RawConfigParser()
    cp.read(FILTER)
    rx = cp.get("Definition", "failregex").strip()
    rx = rx.replace("%(__prefix_line)s", PREFIX).replace("<HOST>", HOST)
    return re.compile(rx)


def host_of(rx, line):
    m = rx.search(line)
    return None if m is None else (m.group("ip4") or m.group("ip6"))


def lines_of(d, start):
    with open(d.log_path, errors="replace") as f:
        text = f.read()
    return text.split(f"--- start {start}\n", 1)[1].splitlines()


def fail_login(d, user, headers=None):
    body = json.dumps({"user": user, "password": "wrong"}).encode()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    hdr = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    s.sendall(f"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
        f"application/json\r\nContent-Length: {len(body)}\r\n{hdr}"
        f"Connection: close\r\n\r\n".encode() + body)
    buf = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    return int(buf.split(b" ", 2)[1])


async def main(t):
    rx = failregex()
    d = Daemon("logs", trusted_proxies="127.0.0.1")
    d.start()
    register(d, "alice")
    st = [fail_login(d, "alice"), fail_login(d, "nobody.here"),
        fail_login(d, "alice", {"X-Forwarded-For": "192.0.2.9"}),
        fail_login(d, "alice", {"X-Forwarded-For": "2001:db8::7"})]
    t.eq(st, [401] * 4, "four failed logins")
    r = login(d, "alice")
    t.eq(r.status, 200, "one that succeeds")
    d.signal(signal.SIGHUP)
    time.sleep(0.3)
    t.eq(d.stop(), 0, "stops")
    lines = lines_of(d, 1)
    bad = [x for x in lines if not STAMPED.match(x)]
    t.ok(lines and not bad, "every line: UTC timestamp with Z, severity",
        bad[:3])
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    first = datetime.datetime.fromisoformat(STAMPED.match(lines[0]).group(1))
    t.ok(abs((now - first).total_seconds()) < 120,
        "the timestamp is UTC", (str(now), lines[0]))
    t.diag("severities seen: " + ", ".join(sorted(set(
        STAMPED.match(x).group(2) for x in lines))))

    # As fail2ban reads a file: the date stripped first.
    stripped = [re.sub(r"^\S+Z ", "", x) for x in lines]
    hosts = [host_of(rx, x) for x in stripped]
    got = [h for h in hosts if h is not None]
    t.eq(got, ["127.0.0.1", "127.0.0.1", "192.0.2.9", "2001:db8::7"],
        "the filter finds each failed login with the client's address")
    t.eq(sum(1 for x in lines if "failed login" in x), 4,
        "and no other line matches")
    syslog = [f"tickd-host tickd[{d.proc.pid}]: " + re.sub(r"^\S+Z \S+ ",
        "", x) for x in lines]
    t.eq([h for h in (host_of(rx, x) for x in syslog) if h], got,
        "the same from syslog or journal lines (host tickd[pid]: ...)")

    # Standard error is the journal's stream.
    open(d.log_path, "ab").close()
    st_ = os.stat(d.log_path)
    os.environ["JOURNAL_STREAM"] = f"{st_.st_dev}:{st_.st_ino}"
    try:
        d.start()
        fail_login(d, "alice")
        d.conf["send_rate"] = "bogus"
        d.write_conf()
        d.signal(signal.SIGHUP)
        time.sleep(0.3)
        del d.conf["send_rate"]
        d.write_conf()
        t.eq(d.stop(), 0, "stops")
    finally:
        del os.environ["JOURNAL_STREAM"]
    lines = lines_of(d, 2)
    bad = [x for x in lines if not JOURNAL.match(x)]
    t.ok(lines and not bad, "on the journal every line starts with <N>",
        bad[:3])
    pri = {x.split(">", 1)[1]: int(x[1]) for x in lines}
    fl = [p for m, p in pri.items() if m.startswith("http: failed login")]
    t.eq(fl, [6], "a failed login is <6> (info)")
    t.ok([p for m, p in pri.items() if m.startswith("reload: failed")] ==
        [4], "a failed reload is <4> (warning)", lines)
    t.ok(not any(STAMPED.match(x.split(">", 1)[1]) for x in lines),
        "and carries no timestamp of its own")
    jl = [f"tickd-host tickd[1]: " + x.split(">", 1)[1] for x in lines]
    t.eq([h for h in (host_of(rx, x) for x in jl) if h], ["127.0.0.1"],
        "the filter reads the journal's message")

    # A JOURNAL_STREAM that is not stderr (redirected since): timestamps.
    os.environ["JOURNAL_STREAM"] = f"{st_.st_dev}:{st_.st_ino + 1}"
    try:
        d.start()
        t.eq(d.stop(), 0, "stops")
    finally:
        del os.environ["JOURNAL_STREAM"]
    lines = lines_of(d, 3)
    t.ok(lines and all(STAMPED.match(x) for x in lines),
        "$JOURNAL_STREAM of another file: timestamps", lines[:3])


run(main, 16)
