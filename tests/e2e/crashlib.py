"""
crashlib.py: tickd's crash-consistency harness, the one implementation
behind tests/crash-loop (as many cycles as asked) and tests/e2e/12-crash.py
(five cycles under make check).

One cycle: senders push bursts of messages (now and then resending an id
already answered), an online recipient acks and reads some of what it gets
while another recipient stays offline, senders ack the receipts they get;
SIGKILL at a random moment; `tickctl verify` on the dead store when tickctl
is built; restart on the same data_dir; resends of ids from this and
earlier cycles; then every device drains its queue and acks it all.  What
the clients were told is kept in a model for the whole run, and checked
against the protocol's promises (tickd-protocol(7) MESSAGES):

- every mid answered `sent` is delivered to its recipient;
- an item whose ack was answered `ok` never comes back, before or after a
  restart;
- a queue is delivered in mid order on each connection;
- every message acked by its recipient gets exactly one `delivered`
  receipt, and every message whose read was answered `ok` exactly one
  `read` receipt, with the sender's id; no other receipt ever comes
  ("one" is one receipt mid: the same receipt again after a restart is
  the at-least-once delivery of tickd-protocol(7) MESSAGES, rule 5);
- a resend of an id answered `sent` gets `dup:true` with the same mid and
  ts, also after restarts;
- mids increase across restarts; bodies arrive intact;
- `tickctl verify` finds the store consistent;
- the key directory (tickd-protocol(7) KEY DIRECTORY): an owner uploads
  one-time prekeys and KEM prekeys each cycle while fetchers take them
  from several connections, pipelining fetches, across the kill and until
  the pools are empty after the restart: no one-time key that a `keys`
  reply handed out is ever handed out again, and each is a key that was
  uploaded, intact.
- every upload answered `201` (tickd-protocol(7) MEDIA) is served after
  the restart with the same bytes, and no temporary upload file is left
  under media_dir/tmp once tickd is up again.

What the kill may decide either way is never held against tickd: a send
not yet answered `sent` may or may not be stored, and an ack or read not
yet answered `ok` may or may not have been applied (so the item may or may
not come back, and the receipt may or may not be owed); a key that a fetch
not yet answered took may be lost.

TICKD_SEED, or the seed argument, replays a run's kill times and bodies.
"""

import asyncio
import base64
import hashlib
import http.client
import json
import logging
import os
import random
import subprocess
import time

import websockets

from tickd_test import Closed, Client, Daemon, Failure, mid_key, token_for

# Clients write into sockets the kill just closed; asyncio's warnings
# about that say nothing about tickd.
logging.getLogger("asyncio").setLevel(logging.ERROR)

SENDERS = ["s0", "s1", "s2", "s3"]
RECIPIENTS = ["r0", "r1"]          # r0 online before the kill, r1 never
KEY_OWNER = "k0"                   # uploads one-time keys every cycle
FETCHERS = ["f0", "f1", "f2"]      # take them, each on its own connection
KEYS_PER_CYCLE = 90                # per pool; below max_prekeys (100)
PAD = "abcdefghij0123456789\u00e9\u2713\U0001f600 \"\\/"
GONE = (Closed, websockets.ConnectionClosed, OSError, asyncio.TimeoutError)
QUIET = 0.6                        # seconds without a frame: drained
REPLY_TIMEOUT = 10


def checksum(p):
    return hashlib.sha256(json.dumps(p, sort_keys=True,
        separators=(",", ":")).encode()).hexdigest()


def make_body(rng, cycle, sender, n, to):
    off, size = rng.randrange(len(PAD)), rng.randint(0, 1500)
    p = {"c": cycle, "s": sender, "n": n, "to": to,
        "pad": (PAD * (size // len(PAD) + 2))[off:off + size]}
    return {"p": p, "sum": checksum(p)}


def intact(body):
    return isinstance(body, dict) and isinstance(body.get("p"), dict) and \
        body.get("sum") == checksum(body["p"])


def tickctl_path():
    """The tickctl built beside $TICKD, or None."""
    tickd = os.environ.get("TICKD") or ""
    p = os.path.join(os.path.dirname(os.path.abspath(tickd)), "tickctl")
    return p if os.access(p, os.X_OK) else None


def conf_has(key):
    """Whether this tree's sample configuration knows key."""
    top = os.environ.get("TOP_SRCDIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    try:
        with open(os.path.join(top, "conf", "tickd.conf")) as f:
            return any(line.lstrip("#").split(" ", 1)[0] == key
                for line in f)
    except OSError:
        return False


class Model:
    """What the clients were told, over every cycle of one run."""

    def __init__(self):
        self.attempted = {}     # id -> (sender, to, body, cycle)
        self.by_sender = {}     # sender -> its ids, in the order tried
        self.answer = {}        # id -> (mid, ts) of its first sent
        self.confirmed = {}     # mid -> id, answered sent
        self.cycle_of = {}      # mid -> cycle it was answered or seen in
        self.delivered = set()  # mids a recipient got
        self.ack_sent = set()   # (user, mid): an ack went out
        self.acked = set()      # (user, mid): the ack was answered ok
        self.acked_by = {}      # user -> mids acked ok, in that order
        self.read_sent = set()  # mids a read went out for
        self.read_ok = set()    # mids whose read was answered ok
        self.read_checked = set()
        self.receipts = {}      # (for mid, status) -> {receipt mid}
        self.media = {}         # media ID -> sha256 of its bytes, 201
        self.top = None         # highest mid key of earlier cycles
        self.cycle_keys = []    # mid keys first seen this cycle
        self.probs = []
        self.key_sent = {}      # (pool, id) -> the key uploaded
        self.key_handed = {}    # (pool, id) -> cycle a keys reply had it

    def problem(self, text):
        if len(self.probs) < 200:
            self.probs.append(text[:400])


class Session:
    """One device's connection: reads every frame, answers receipts and
    messages as its role says, acks in batches with a ref."""

    def __init__(self, h, user, role):
        self.h = h
        self.m = h.model
        self.user = user
        self.role = role        # "sender", "live" (r0) or "drain"
        self.rng = random.Random(h.rng.random())
        self.c = None
        self.waiters = {}       # client id -> (future, to, resend)
        self.refs = {}          # ref -> ("ack" | "read", mids)
        self.to_ack = []
        self.to_read = []
        self.last = None        # mid key of the last item on this link
        # Some of the last mids acked, not all: a run's model grows with
        # every cycle, and each cycle opens a dozen sessions.
        self.done = sorted(h.model.acked_by.get(user, [])[-2000:],
            key=mid_key)[-500:]
        self.tasks = []
        self.nref = 0

    async def open(self):
        self.c = await Client.connect(self.h.d, self.h.toks[self.user],
            name=self.user)
        self.tasks = [asyncio.ensure_future(self.reader()),
            asyncio.ensure_future(self.flusher())]

    async def close(self):
        for t in self.tasks:
            t.cancel()
        # Python 3.11's wait_for can swallow a cancel that races a frame:
        # the closed connection ends such a reader too.
        if self.c is not None:
            await self.c.close()
        for t in self.tasks:
            try:
                await t
            except (asyncio.CancelledError, *GONE):
                pass

    def busy(self):
        return bool(self.refs or self.to_ack or self.to_read)

    async def reader(self):
        try:
            while True:
                f = await self.c.recv(3600)
                self.h.last_frame = time.monotonic()
                self.dispatch(f)
        except GONE:
            for w, _, _ in self.waiters.values():
                if not w.done():
                    w.set_result(None)

    async def flusher(self):
        """Every 20 ms, one ack (and one read) for what came meanwhile."""
        try:
            while True:
                await asyncio.sleep(0.02)
                for kind, lst in (("ack", self.to_ack),
                        ("read", self.to_read)):
                    while lst:
                        mids, lst[:] = lst[:512], lst[512:]
                        await self.request(kind, mids)
        except GONE:
            pass

    async def request(self, kind, mids):
        self.nref += 1
        ref = f"{kind}-{self.nref}"
        self.refs[ref] = (kind, mids)
        for mid in mids:
            if kind == "ack":
                self.m.ack_sent.add((self.user, mid))
            else:
                self.m.read_sent.add(mid)
        await self.c.send({"op": kind, "mids": mids, "ref": ref})

    def item(self, mid):
        """Checks the order of items on this connection and that an item
        acked with an ok answer never comes back."""
        k = mid_key(mid)
        if k is None:
            self.m.problem(f"{self.user}: bad mid {mid!r}")
            return False
        if self.last is not None and k <= self.last:
            self.m.problem(f"{self.user}: {mid} after {self.last} on one "
                "connection: not in mid order")
        self.last = k
        if (self.user, mid) in self.m.acked:
            self.m.problem(f"{self.user}: {mid} came back after its ack "
                "was answered ok")
        if mid not in self.m.cycle_of:
            self.m.cycle_of[mid] = self.h.n
            self.m.cycle_keys.append(k)
        return True

    def dispatch(self, f):
        op = f.get("op") if isinstance(f, dict) else None
        if op == "msg":
            self.on_msg(f)
        elif op == "receipt":
            self.on_receipt(f)
        elif op in ("sent", "error"):
            i = f.get("id")
            w, to, resend = self.waiters.pop(i, (None, None, None))
            if w is None:
                self.m.problem(f"{self.user}: unexpected {f!r}")
                return
            # Before any receipt for it can be read on this link.
            self.h.answered(self.user, i, to, f, resend)
            if not w.done():
                w.set_result(f)
        elif op == "ok":
            kind, mids = self.refs.pop(f.get("ref"), (None, None))
            if kind == "ack":
                self.m.acked.update((self.user, m) for m in mids)
                self.m.acked_by.setdefault(self.user, []).extend(mids)
            elif kind == "read":
                self.m.read_ok.update(mids)
            else:
                self.m.problem(f"{self.user}: ok for nothing: {f!r}")
        else:
            self.m.problem(f"{self.user}: unexpected frame {f!r}"[:300])

    def on_msg(self, f):
        m, mid, i = self.m, f.get("mid"), f.get("id")
        if not self.item(mid):
            return
        if i not in m.attempted:
            m.problem(f"{self.user}: a message nobody sent: {f!r}")
            return
        s, to, body, _ = m.attempted[i]
        if f.get("from") != s or f.get("to") != to or to != self.user:
            m.problem(f"{self.user}: {i} came from/to {f.get('from')}/"
                f"{f.get('to')}, sent by {s} to {to}")
        if f.get("body") != body or not intact(f.get("body")):
            m.problem(f"{self.user}: {i} (mid {mid}) body corrupt")
        if m.confirmed.get(mid, i) != i:
            m.problem(f"{self.user}: mid {mid} was answered for "
                f"{m.confirmed[mid]} but carries {i}")
        if i in m.answer and m.answer[i][0] != mid:
            m.problem(f"{self.user}: {i} was answered {m.answer[i][0]} "
                f"but delivered as {mid}: stored twice")
        m.confirmed.setdefault(mid, i)
        m.answer.setdefault(i, (mid, f.get("ts")))
        m.delivered.add(mid)
        if self.role == "drain" or self.rng.random() < 0.5:
            self.to_ack.append(mid)
        if self.role == "live" and self.rng.random() < 0.3:
            self.to_read.append(mid)
        # Acks and reads of items already gone change nothing: no second
        # receipt may follow.
        if self.rng.random() < 0.1 and self.done:
            self.to_ack.append(self.rng.choice(self.done))
            self.to_read.append(self.rng.choice(self.done))

    def on_receipt(self, f):
        m, rmid, fr = self.m, f.get("mid"), f.get("for")
        status = f.get("status")
        if not self.item(rmid):
            return
        i = m.confirmed.get(fr)
        if i is None or m.attempted[i][0] != self.user or \
                f.get("id") != i or f.get("by") != m.attempted[i][1] or \
                status not in ("delivered", "read"):
            m.problem(f"{self.user}: receipt for nothing it sent: {f!r}")
        else:
            got = m.receipts.setdefault((fr, status), set())
            got.add(rmid)
            if len(got) > 1:
                m.problem(f"{self.user}: {len(got)} {status} receipts "
                    f"for {fr}: {sorted(got)}")
        self.to_ack.append(rmid)

    async def send(self, i, to, body, resend=False):
        """One send; its reply frame, or None if none came.  resend: i was
        answered sent before, so the reply must be its dup."""
        w = asyncio.get_event_loop().create_future()
        self.waiters[i] = (w, to, resend)
        await self.c.send({"op": "send", "to": to, "id": i, "body": body})
        try:
            return await asyncio.wait_for(w, REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            return None


def b64(data):
    return base64.b64encode(data).decode()


class Keys:
    """The key directory's part of a cycle: uploads by KEY_OWNER, fetches
    of its bundle by FETCHERS, and the one promise checked: no one-time
    key is handed out twice, also across the kill."""

    POOLS = (("prekey", "prekeys", "pre"), ("kem_prekey", "kem_prekeys",
        "kem"))

    def __init__(self, h):
        self.h = h
        self.m = h.model
        self.next_id = 0
        self.first = True

    def key(self, pool, i):
        k = {"id": i, "key": b64(f"{pool}-{i}-{self.h.seed}".encode())}
        if pool == "kem":
            k["sig"] = b64(f"sig-{i}".encode())
        return k

    async def upload(self):
        """KEYS_PER_CYCLE new keys in each pool, ids never used before."""
        ids = range(self.next_id, self.next_id + KEYS_PER_CYCLE)
        self.next_id += KEYS_PER_CYCLE
        obj = {"op": "keys_upload", "ref": "up"}
        for _, member, pool in self.POOLS:
            obj[member] = [self.key(pool, i) for i in ids]
        if self.first:
            obj["identity"] = b64(b"crash-identity")
            obj["signed_prekey"] = {"id": 1, "key": b64(b"spk"),
                "sig": b64(b"spk-sig")}
        c = await Client.connect(self.h.d, self.h.toks[KEY_OWNER],
            name=KEY_OWNER)
        try:
            await c.send(obj)
            r = await c.recv_op(("ok", "error"), REPLY_TIMEOUT) or {}
        finally:
            await c.close()
        if r.get("op") != "ok":
            self.m.problem(f"{KEY_OWNER}: keys_upload answered {r!r}")
            return
        self.first = False
        for _, member, pool in self.POOLS:
            for k in obj[member]:
                self.m.key_sent[(pool, k["id"])] = k

    def record(self, user, f):
        """The one-time keys of a keys reply; returns how many."""
        n = 0
        for b in f.get("devices") or []:
            for member, _, pool in self.POOLS:
                k = b.get(member)
                if k is None:
                    continue
                n += 1
                kid = (pool, k.get("id") if isinstance(k, dict) else None)
                if self.m.key_sent.get(kid) != k:
                    self.m.problem(f"{user}: {member} {k!r} was never "
                        "uploaded")
                elif kid in self.m.key_handed:
                    self.m.problem(f"{user}: {member} {kid[1]} handed out "
                        f"again (first in cycle "
                        f"{self.m.key_handed[kid] + 1})")
                else:
                    self.m.key_handed[kid] = self.h.n
        return n

    async def fetcher(self, user, stop=None):
        """Bursts of 1 to 3 pipelined fetches until stop is set or, with
        no stop, until a reply has no one-time key left.  Before the kill
        the bursts are spaced so that the pools last about as long as the
        longest wait for the kill."""
        rng = random.Random(self.h.rng.random())
        c = None
        try:
            c = await Client.connect(self.h.d, self.h.toks[user], name=user)
            n = 0
            while stop is None or not stop.is_set():
                burst = rng.randint(1, 3)
                for _ in range(burst):
                    n += 1
                    await c.send({"op": "keys_fetch", "user": KEY_OWNER,
                        "ref": n})
                empty = False
                for _ in range(burst):
                    f = await c.recv_op(("keys", "error"), REPLY_TIMEOUT)
                    if f is None:
                        if stop is None:
                            self.m.problem(f"{user}: no answer to a "
                                "keys_fetch")
                        return
                    if f.get("op") == "error":
                        self.m.problem(f"{user}: keys_fetch answered "
                            f"{f!r}")
                        return
                    if self.record(user, f) == 0:
                        empty = True
                if stop is None and empty:
                    return
                if stop is not None:
                    await asyncio.sleep(rng.uniform(0.02, 0.08))
        except GONE:
            pass
        except websockets.InvalidHandshake as e:
            # The kill can land in the middle of the opening handshake;
            # after the restart a failed handshake is tickd's fault.
            if stop is None:
                self.m.problem(f"{user}: handshake failed: {e!r}")
        finally:
            if c is not None:
                await c.close()


class Harness:
    """One tickd and its clients over the cycles of one run."""

    def __init__(self, seed, log=None):
        self.seed = seed
        self.rng = random.Random(seed)
        self.model = Model()
        self.log = log or (lambda text: None)
        self.n = 0
        self.last_frame = 0
        conf = {"log_level": "warn"}
        self.media = conf_has("media_dir")
        if self.media:
            conf.update(media_min_free="0", media_rate="0")
        # Abuse limits would refuse the load this harness makes.
        for k, v in (("send_rate", 0), ("login_rate", 0),
                ("keys_fetch_rate", 0)):
            if conf_has(k):
                conf[k] = v
        # A tickd older than its control socket, when bisecting.
        if not conf_has("control_socket"):
            conf["control_socket"] = None
        self.d = Daemon(name="crash", **conf)
        self.toks = {}
        self.tickctl = tickctl_path()
        # A tickd older than the key directory, when bisecting.
        self.keys = Keys(self) if conf_has("keys_fetch_rate") else None

    def start(self):
        self.d.start()
        users = SENDERS + RECIPIENTS
        if self.keys is not None:
            users = users + [KEY_OWNER] + FETCHERS
        self.toks = {u: token_for(self.d, u, new=True) for u in users}

    def stop(self):
        """SIGTERM; tickd's exit status."""
        return self.d.stop()

    def cleanup(self):
        self.d.cleanup()

    def answered(self, s, i, to, r, resend):
        """Records the reply r to a send of id i from s to to.  An id is
        stored at most once: once its mid is known (from a sent, a dup or
        a delivery), every later answer must name that mid, as a dup."""
        m = self.model
        if r.get("op") == "error":
            # Nothing was stored; rate_limited and queue_full say so.
            if r.get("id") != i:
                m.problem(f"{s}: error for {i} carries id {r.get('id')}")
            return
        mid, ts = r.get("mid"), r.get("ts")
        if r.get("id") != i or r.get("to") != to or mid_key(mid) is None:
            m.problem(f"{s}: {i} answered {r!r}")
            return
        prev = m.answer.get(i)
        if resend and (r.get("dup") is not True or (mid, ts) != prev):
            m.problem(f"{s}: resending {i}, answered {prev} before, got "
                f"{r!r}")
            return
        if prev is not None and prev[0] != mid:
            m.problem(f"{s}: {i} is stored as {prev[0]}, a resend got "
                f"{mid}{' (dup)' if r.get('dup') else ''}: stored twice")
            return
        if m.confirmed.get(mid, i) != i:
            m.problem(f"{s}: mid {mid} answered for {i} and "
                f"{m.confirmed[mid]}")
        m.confirmed[mid] = i
        m.answer[i] = (mid, ts)
        if mid not in m.cycle_of:
            m.cycle_of[mid] = self.n
            m.cycle_keys.append(mid_key(mid))

    async def sender(self, sess, stop):
        """Bursts of 1 to 8 sends; one in 20 repeats an answered id."""
        m, rng, n = self.model, sess.rng, 0
        mine = [i for i in m.by_sender.get(sess.user, ())
            if i in m.answer]
        try:
            while not stop.is_set():
                burst = {}
                for _ in range(rng.randint(1, 8)):
                    if mine and rng.random() < 0.05:
                        i = rng.choice(mine)
                        if i not in burst:
                            burst[i] = True
                        continue
                    i = f"c{self.n}-{sess.user}-{n}"
                    n += 1
                    to = rng.choice(RECIPIENTS)
                    m.attempted[i] = (sess.user, to,
                        make_body(rng, self.n, sess.user, n, to), self.n)
                    m.by_sender.setdefault(sess.user, []).append(i)
                    burst[i] = False
                replies = await asyncio.gather(*(sess.send(i,
                    m.attempted[i][1], m.attempted[i][2], resend)
                    for i, resend in burst.items()))
                if None in replies:
                    return
                for i, resend in burst.items():
                    if not resend and i in m.answer:
                        mine.append(i)
                if any(r.get("code") == "rate_limited" for r in replies):
                    await asyncio.sleep(0.05)
        except GONE:
            pass

    def upload_one(self, size, token):
        """One upload on its own connection: (ID, sha256) if answered 201,
        None if the kill came first."""
        data = os.urandom(size)
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port,
            timeout=REPLY_TIMEOUT)
        try:
            conn.request("POST", "/v1/media", body=data, headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            body = r.read()
            if r.status != 201:
                return None
            return json.loads(body)["media"], hashlib.sha256(
                data).hexdigest()
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            return None
        finally:
            conn.close()

    async def uploader(self, stop):
        """Uploads until the kill, recording every 201."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            size = self.rng.choice((1, 1000, 100000, 1 << 20))
            got = await loop.run_in_executor(None, self.upload_one, size,
                self.toks[SENDERS[0]])
            if got is not None:
                self.model.media[got[0]] = got[1]
            else:
                await asyncio.sleep(0.02)

    def check_media(self):
        """Every 201 upload is served, whole; no temporary file is left."""
        m = self.model
        tmp = os.path.join(self.d.data_dir, "media", "tmp")
        left = os.listdir(tmp) if os.path.isdir(tmp) else []
        if left:
            m.problem(f"temporary upload files left after the restart: "
                f"{left[:4]}")
        for mid, sha in m.media.items():
            conn = http.client.HTTPConnection("127.0.0.1", self.d.port,
                timeout=REPLY_TIMEOUT)
            try:
                conn.request("GET", f"/v1/media/{mid}", headers={
                    "Authorization": f"Bearer {self.toks[SENDERS[1]]}"})
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                m.problem(f"media {mid}: {e}")
                continue
            finally:
                conn.close()
            if r.status != 200 or hashlib.sha256(body).hexdigest() != sha:
                m.problem(f"media {mid} answered 201 is now {r.status} "
                    f"with {len(body)} bytes")

    def verify(self):
        """tickctl verify on the dead store, when tickctl is built."""
        if self.tickctl is None:
            return
        try:
            p = subprocess.run([self.tickctl, "-j", "-d", self.d.data_dir,
                "verify"], capture_output=True, timeout=60,
                stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            self.model.problem("tickctl verify did not finish in 60 s")
            return
        out = p.stdout.decode(errors="replace")
        try:
            v = json.loads(out)
        except ValueError:
            v = {}
        if p.returncode != 0 or v.get("consistent") is not True:
            self.model.problem(f"tickctl verify (status {p.returncode}): "
                f"{out.strip()} {p.stderr.decode(errors='replace')}")

    async def probe_dedup(self, sess):
        """Resends of stored ids (answered sent, or delivered) must be
        dup:true with the same mid and ts; resends of ids never answered
        may go either way, but once stored, never twice."""
        m, rng = self.model, sess.rng
        now, old, unknown = [], [], []
        for i in m.by_sender.get(sess.user, ()):
            c = m.attempted[i][3]
            if i in m.answer:
                (now if c == self.n else old).append(i)
            elif c == self.n:
                unknown.append(i)
        for i in rng.sample(now, min(len(now), 15)) + \
                rng.sample(old, min(len(old), 5)):
            s, to, body, _ = m.attempted[i]
            if await sess.send(i, to, body, True) is None:
                m.problem(f"{s}: no answer to the resend of {i}")
        for i in rng.sample(unknown, min(len(unknown), 5)):
            s, to, body, _ = m.attempted[i]
            if await sess.send(i, to, body) is None:
                m.problem(f"{s}: no answer to the resend of {i}")

    async def wait_quiet(self, sessions, limit=30):
        """Until no frame came for QUIET s and every ack was answered."""
        deadline = time.monotonic() + limit
        self.last_frame = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if any(s.busy() for s in sessions):
                continue
            if time.monotonic() - self.last_frame >= QUIET:
                return True
        self.model.problem(f"the queues did not drain within {limit} s")
        return False

    def check(self):
        """The promises for what this cycle sent, read and acked."""
        m, n = self.model, self.n
        mine = {mid for mid, c in m.cycle_of.items() if c == n}
        missing = sorted(mid for mid in mine
            if mid in m.confirmed and mid not in m.delivered)
        if missing:
            m.problem(f"{len(missing)} mids answered sent were never "
                f"delivered: {missing[:8]}")
        for mid in sorted(mine & m.delivered):
            got = m.receipts.get((mid, "delivered"), set())
            if len(got) != 1:
                m.problem(f"{mid} was acked by its recipient but got "
                    f"{len(got)} delivered receipts")
        for mid in sorted(m.read_ok - m.read_checked):
            got = m.receipts.get((mid, "read"), set())
            if len(got) != 1:
                m.problem(f"{mid} was read (answered ok) but got "
                    f"{len(got)} read receipts")
        m.read_checked |= m.read_ok
        for (mid, status), got in m.receipts.items():
            if status == "read" and mid not in m.read_sent:
                m.problem(f"{mid} was never read but got a read receipt")
        unacked = sorted(mid for mid in mine & m.delivered
            if not any((u, mid) in m.ack_sent for u in RECIPIENTS))
        if unacked:
            m.problem(f"{len(unacked)} delivered mids never acked: "
                f"{unacked[:8]}")
        if m.top is not None and m.cycle_keys and \
                min(m.cycle_keys) <= m.top:
            m.problem("a mid of this cycle is not above every mid of the "
                "earlier ones")
        if m.cycle_keys:
            m.top = max(m.cycle_keys + ([m.top] if m.top else []))
        m.cycle_keys = []

    async def cycle(self, n):
        """One cycle; (problems, summary)."""
        m = self.model
        self.n = n
        m.probs = []
        kill_at = self.rng.uniform(0.2, 1.2)
        stop = asyncio.Event()
        before = len(m.confirmed)

        senders = [Session(self, u, "sender") for u in SENDERS]
        live = Session(self, "r0", "live")
        for s in senders + [live]:
            await s.open()
        handed = len(m.key_handed)
        if self.keys is not None:
            await self.keys.upload()
        work = [asyncio.ensure_future(self.sender(s, stop))
            for s in senders]
        if self.keys is not None:
            work += [asyncio.ensure_future(self.keys.fetcher(u, stop))
                for u in FETCHERS]
        if self.media:
            work.append(asyncio.ensure_future(self.uploader(stop)))
        await asyncio.sleep(kill_at)
        self.d.kill()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*work), REPLY_TIMEOUT + 5)
        for s in senders + [live]:
            await s.close()
        sent_live = len(m.confirmed) - before
        handed_live = len(m.key_handed) - handed

        self.verify()
        self.d.start()
        if self.media:
            self.check_media()
        senders = [Session(self, u, "sender") for u in SENDERS]
        drains = [Session(self, u, "drain") for u in RECIPIENTS]
        for s in senders:
            await s.open()
        for s in senders:
            await self.probe_dedup(s)
        for s in drains:
            await s.open()
        await self.wait_quiet(senders + drains)
        for s in senders + drains:
            await s.close()
        if self.keys is not None:
            await asyncio.gather(*(self.keys.fetcher(u) for u in FETCHERS))
        self.check()
        keys = (f", {handed_live} one-time keys handed out before the "
            f"kill, {len(m.key_handed) - handed} in all"
            if self.keys is not None else "")
        summary = (f"killed after {kill_at:.2f} s, {sent_live} answered "
            f"sent before the kill, {len(m.delivered)} delivered so far"
            f"{keys}{', store verified' if self.tickctl else ''}"
            f"{f', {len(m.media)} uploads served' if self.media else ''}")
        return list(m.probs), summary


async def run_cycles(cycles, seed, report):
    """Runs cycles cycles, calling report(n, problems, summary) after each;
    returns the total of problems."""
    h = Harness(seed)
    total = 0
    try:
        h.start()
        for n in range(cycles):
            probs, summary = await h.cycle(n)
            total += len(probs)
            report(n, probs, summary)
    finally:
        h.cleanup()
    return total
