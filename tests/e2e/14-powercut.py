#!/usr/bin/python3
# The power-cut test: what a machine crash, not only a killed process, may
# leave of the store (tickd-protocol(7) MESSAGES: "sent" only after the
# commit is on disk).  tickd runs a load of 1:1 and group sends, RESP XADDs,
# acks with a ref, RESP XACKs and acks of the receipts they cause, from an
# empty data_dir, with powercut.so preloaded: it logs every write to the
# store's files (data.mdb, lock.mdb, and the new store tickd makes before
# renaming it data.mdb, tickd(8) FILES) and every fdatasync, fsync and msync
# of them, each with the time it completed, and their creations, renames
# and unlinks and each fsync of data_dir.  Then, at every record while the
# store is made and at CUTS points spread over the rest of that log, the
# files are rebuilt as a power cut there could leave them: the directory
# entries as of its last fsync with a random number of the operations since
# (a journal replays them in order: a new file or a rename may be lost);
# each 4 KiB block as of the file's last completed sync (with the writes
# that had completed when that sync began; a write through an O_DSYNC
# descriptor, LMDB's meta page, is on disk once it returns), or, for a block
# written since, any later version of it, chosen at random block by block
# (the writes since the sync land in any subset and order, torn at 4 KiB; a
# block never goes back to an older version once a newer one is on disk, as
# the page cache writes what it holds).  The lock file gets random bytes:
# LMDB rebuilds it.  While the store is made, every such image is checked
# when they are few, else some at random.  Each rebuilt store must pass
# `tickctl verify`, or have no data.mdb yet (nothing was promised), and a
# tickd started on it must leave no other *.mdb beside data.mdb and
# lock.mdb, and must hold, in each device's queue (read with XRANGE),
# every message answered `sent` (or an XADD reply) before the cut unless an
# ack of it had been sent, and nothing whose ack was answered (`ok`, or
# XACK's reply) before the cut.
#
# The load runs with sync_thread yes (tickd(8) COMMITS: the meta page is
# synced by a thread), then a shorter one with the default, no.
# The last test runs the same checker on a tickd whose fdatasync and fsync
# do nothing (TICKD_POWERCUT_NOSYNC) and wants it to find a broken promise:
# the checker can fail.  TICKD_SEED=N replays the choices of a run.

import asyncio
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import RespDaemon  # noqa: E402

import redis  # noqa: E402

SHIM = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "tests", "e2e",
    "powercut.so")
CUTS = 100              # cut points checked in the log of the load
SENDS = 600             # WebSocket sends per sender
XADDS = 200              # RESP XADDs
INLINE_SENDS = 150      # the load with sync_thread no (the default)
INLINE_CUTS = 30        # its cut points
SELF_SENDS = 30         # the load of the self-test
SELF_CUTS = 12          # at most this many cuts in the self-test
BLOCK = 4096
REC = struct.Struct("=BBHIQQQ")
USERS = ("s0", "s1", "r0", "r1")
GROUP = "#pc"           # s0's group, with r0 and r1


def tickctl_path():
    p = os.path.join(os.path.dirname(os.path.abspath(TICKD)), "tickctl")
    return p if os.access(p, os.X_OK) else None


class Model:
    """What the clients were told, with the CLOCK_MONOTONIC time in ns."""

    def __init__(self):
        self.sent = {u: {} for u in USERS}      # user -> {mid: answered}
        self.ack_sent = {}      # (user, mid) -> first ack sent
        self.ack_ok = {}        # (user, mid) -> first ack answered
        self.lock = threading.Lock()
        self.counts = {"sent": 0, "xadd": 0, "ack ok": 0, "xack": 0,
            "receipt": 0, "group": 0}

    def answered(self, users, mid, kind):
        now = time.monotonic_ns()
        with self.lock:
            for u in users:
                self.sent[u].setdefault(mid, now)
            self.counts[kind] += 1

    def acking(self, user, mids):
        now = time.monotonic_ns()
        with self.lock:
            for m in mids:
                self.ack_sent.setdefault((user, m), now)

    def acked(self, user, mids, kind):
        now = time.monotonic_ns()
        with self.lock:
            for m in mids:
                self.ack_ok.setdefault((user, m), now)
            self.counts[kind] += 1


class Device:
    """One user's WebSocket connection: sends, and acks with a ref what it
    is given (r0 leaves some of its messages to RESP XACK)."""

    def __init__(self, model, user, c, rng, xacks=None):
        self.m = model
        self.user = user
        self.c = c
        self.rng = rng
        self.xacks = xacks
        self.waiters = {}
        self.refs = {}
        self.to_ack = []
        self.nref = 0
        self.probs = []
        self.tasks = [asyncio.ensure_future(self.reader()),
            asyncio.ensure_future(self.flusher())]

    async def reader(self):
        while True:
            f = await self.c.recv(3600)
            op = f.get("op") if isinstance(f, dict) else None
            if op in ("sent", "error"):
                w = self.waiters.pop(f.get("id"), None)
                if w is not None and not w.done():
                    w.set_result(f)
            elif op == "ok" and f.get("ref") in self.refs:
                self.m.acked(self.user, self.refs.pop(f["ref"]), "ack ok")
            elif op == "msg":
                if self.xacks is not None and self.rng.random() < 0.3:
                    self.xacks.append(f.get("mid"))
                else:
                    self.to_ack.append(f.get("mid"))
            elif op == "receipt":
                self.m.counts["receipt"] += 1
                self.to_ack.append(f.get("mid"))

    async def flusher(self):
        while True:
            await asyncio.sleep(0.02)
            while self.to_ack:
                mids, self.to_ack[:] = self.to_ack[:256], self.to_ack[256:]
                self.nref += 1
                ref = f"a{self.nref}"
                self.refs[ref] = mids
                self.m.acking(self.user, mids)
                await self.c.send({"op": "ack", "mids": mids, "ref": ref})

    async def send(self, to, i):
        """One send; True when answered sent."""
        w = asyncio.get_event_loop().create_future()
        self.waiters[i] = w
        await self.c.send({"op": "send", "to": to, "id": i,
            "body": {"n": i, "pad": "x" * self.rng.randrange(2000)}})
        f = await asyncio.wait_for(w, 20)
        if f.get("op") != "sent":
            self.probs.append(f"{self.user}: {i} to {to}: {f!r}")
            return False
        users = ("r0", "r1") if to == GROUP else (to,)
        self.m.answered(users, f["mid"], "group" if to == GROUP else
            "sent")
        return True

    async def close(self):
        for t in self.tasks:
            t.cancel()
        await self.c.close()


def resp_load(d, m, xacks, n, stop, probs):
    """XADDs to inbox:r1 and the group, and XACKs of what r0 left, from
    another thread through python3-redis."""
    r = redis.Redis(host="127.0.0.1", port=d.resp_port, socket_timeout=20)
    i = 0
    try:
        while i < n or xacks:
            if i < n:
                to = GROUP if i % 3 == 0 else "r1"
                frm = "s0" if to == GROUP else "s1"
                mid = r.xadd(f"inbox:{to}", {"from": frm, "body": f"x{i}",
                    "id": f"x-{i}"}).decode()
                m.answered(("r0", "r1") if to == GROUP else ("r1",), mid,
                    "xadd")
                i += 1
            if xacks:
                mids, xacks[:] = xacks[:20], xacks[20:]
                m.acking("r0", mids)
                r.xack("queue:r0:default", "tickd", *mids)
                m.acked("r0", mids, "xack")
            if stop.is_set() and i >= n:
                time.sleep(0.05)
                if not xacks:
                    break
    except Exception as e:  # noqa: BLE001
        probs.append(f"RESP: {e!r}")
    finally:
        r.close()


def start_recording(d, log, nosync):
    """Start d with powercut.so logging its store's files into log."""
    saved = dict(os.environ)
    os.environ["LD_PRELOAD"] = SHIM
    os.environ["TICKD_POWERCUT_LOG"] = log
    os.environ["TICKD_POWERCUT_DIR"] = d.data_dir
    if nosync:
        os.environ["TICKD_POWERCUT_NOSYNC"] = "1"
    asan = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
        "verify_asan_link_order=0"
    try:
        d.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def record(workdir, seed, sends, xadds, nosync=False, **conf):
    """Run the load on a tickd under the shim, started on an empty
    data_dir, so that the log begins with the making of its store; returns
    the model, the log's path and the problems seen."""
    rng = random.Random(seed)
    d = RespDaemon(name="powercut", data_dir=os.path.join(workdir, "data"),
        **conf)
    log = os.path.join(workdir, "store.log")
    m = Model()
    probs = []
    try:
        start_recording(d, log, nosync)
        toks = {u: token_for(d, u, new=True) for u in USERS}
        conns = {u: await Client.connect(d, toks[u], name=u)
            for u in ("s0", "s1", "r0")}
        await conns["s0"].send({"op": "group_create", "group": GROUP,
            "title": "power cut", "members": ["r0", "r1"]})
        g = await conns["s0"].recv_op(("group_info", "error"), 10)
        if g is None or g.get("op") != "group_info":
            probs.append(f"group_create: {g!r}")
        xacks = []
        devs = {u: Device(m, u, c, random.Random(rng.random()),
            xacks if u == "r0" else None) for u, c in conns.items()}
        stop = threading.Event()
        th = threading.Thread(target=resp_load, args=(d, m, xacks, xadds,
            stop, probs))
        th.start()

        async def sender(u, targets):
            dev = devs[u]
            for n in range(0, sends, 8):
                await asyncio.gather(*(dev.send(rng.choice(targets),
                    f"{u}-{k}") for k in range(n, min(n + 8, sends))))

        try:
            await asyncio.gather(sender("s0", ["r0", "r1", GROUP]),
                sender("s1", ["r0", "r1", "r0"]))
        finally:
            stop.set()
            await asyncio.get_event_loop().run_in_executor(None, th.join)
        # The last acks and receipts.
        quiet = time.monotonic() + 10
        while time.monotonic() < quiet and any(x.refs or x.to_ack
                for x in devs.values()):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        for x in devs.values():
            probs.extend(x.probs)
            await x.close()
        rc = d.stop()
        if rc != 0:
            probs.append(f"tickd under the shim exited {rc}")
    finally:
        d.cleanup()
    return m, log, probs


def parse(log):
    """The records of a shim log: (type, file, flags, ns, off, data)."""
    with open(log, "rb") as f:
        raw = f.read()
    recs, pos = [], 0
    while pos + REC.size <= len(raw):
        typ, file, flags, _, ns, off, n = REC.unpack_from(raw, pos)
        pos += REC.size
        recs.append((chr(typ), file, flags, ns, off, raw[pos:pos + n]))
        pos += n
    if pos != len(raw):
        raise Failure(f"{log}: a torn record at {pos}")
    return recs


class File:
    """One store file as the page cache and the disk hold it."""

    def __init__(self, name):
        self.name = name
        self.cur = {}           # block -> its bytes now
        self.size = 0
        self.sizes = []         # (record, size after it) since the sync
        self.disk = {}          # block -> its bytes as of the last sync
        self.disk_size = 0
        self.since = {}         # block -> [(record, bytes)] since then

    def write(self, i, off, data, dsync):
        """Record i wrote data at off."""
        end = off + len(data)
        for b in range(off // BLOCK, (end + BLOCK - 1) // BLOCK):
            lo, hi = max(off, b * BLOCK), min(end, (b + 1) * BLOCK)
            blk = bytearray(self.cur.get(b, bytes(BLOCK)))
            blk[lo - b * BLOCK:hi - b * BLOCK] = data[lo - off:hi - off]
            self.cur[b] = bytes(blk)
            if dsync:
                self.disk[b] = self.cur[b]
                self.since.pop(b, None)
            else:
                self.since.setdefault(b, []).append((i, self.cur[b]))
        self.size = max(self.size, end)
        self.sizes.append((i, self.size))
        if dsync:
            self.disk_size = max(self.disk_size, end)

    def truncate(self, size):
        self.size = size
        for b in [b for b in self.cur if b * BLOCK >= size]:
            del self.cur[b]

    def sync(self, start):
        """A sync that began when start records were in the log made the
        writes among them durable, and no later one."""
        for b in list(self.since):
            vs = self.since[b]
            done = [k for k, (i, _) in enumerate(vs) if i < start]
            if done:
                self.disk[b] = vs[done[-1]][1]
                del vs[:done[-1] + 1]
            if not vs:
                del self.since[b]
        for i, size in self.sizes:
            if i < start:
                self.disk_size = max(self.disk_size, size)
        self.sizes = [(i, n) for i, n in self.sizes if i >= start]

    def crash_image(self, rng, keep, pick=None):
        """The blocks and size a power cut now could leave: each block
        written since the sync keeps its synced bytes with chance keep,
        else takes one of its later versions; or, with pick, the version
        pick names for it (0 for the synced bytes, k for the k-th one
        since)."""
        blocks, size = dict(self.disk), self.disk_size
        for b, versions in self.since.items():
            if pick is not None:
                k = pick.get((self, b), 0)
            elif rng.random() >= keep:
                k = rng.randrange(len(versions)) + 1
            else:
                k = 0
            if k:
                blocks[b] = versions[k - 1][1]
                size = max(size, min(self.size, (b + 1) * BLOCK))
        return blocks, size


class Dir:
    """The data_dir's entries: those on disk as of its last fsync, and the
    creations, renames and unlinks since, of which a power cut keeps the
    first few (a journal replays them in order)."""

    def __init__(self):
        self.disk = {}          # name -> File
        self.ops = []           # (record, op, name, File or new name)

    def apply(self, names, op):
        """names after the operation op."""
        _, kind, name, arg = op
        if kind == "create":
            names[name] = arg
        elif kind == "rename" and name in names:
            names[arg] = names.pop(name)
        elif kind == "unlink":
            names.pop(name, None)

    def now(self):
        """The entries the running process sees."""
        names = dict(self.disk)
        for op in self.ops:
            self.apply(names, op)
        return names

    def sync(self, start):
        """An fsync of the directory that began when start records were
        in the log."""
        while self.ops and self.ops[0][0] < start:
            self.apply(self.disk, self.ops.pop(0))

    def crash_names(self, keep):
        """The entries after a power cut that kept the first keep
        operations since the sync."""
        names = dict(self.disk)
        for op in self.ops[:keep]:
            self.apply(names, op)
        return names


def write_image(path, d, rng, keep, nops=None, pick=None):
    """Rebuild the store files in the directory path: the entries left by
    the first nops directory operations (at random if None), each file's
    blocks at random with chance keep of its synced bytes, or as pick
    says."""
    os.makedirs(path)
    if nops is None:
        nops = rng.randrange(len(d.ops) + 1)
    for name, f in d.crash_names(nops).items():
        with open(os.path.join(path, name), "wb") as out:
            if name == "lock.mdb":
                out.write(rng.randbytes(max(f.size, 8192)))
                continue
            blocks, size = f.crash_image(rng, keep, pick)
            out.truncate(size)
            for b in sorted(blocks):
                if b * BLOCK < size:
                    out.seek(b * BLOCK)
                    out.write(blocks[b][:size - b * BLOCK])


def images(d, rng, most):
    """The crash images of a cut: every one (directory operations kept,
    and version of each block written since its sync) if they are at most
    most, else most at random; each (keep, nops, pick)."""
    pending = [(f, b, len(v)) for f in {id(f): f for f in
        list(d.now().values()) + [op[3] for op in d.ops
        if op[1] == "create"]}.values() if f.name != "lock.mdb"
        for b, v in f.since.items()]
    n = len(d.ops) + 1
    for _, _, k in pending:
        n *= k + 1
        if n > most:
            return [(rng.choice((0.0, 0.25, 0.5, 0.75, 1.0)), None, None)
                for _ in range(most)]
    out = [(0.0, k, {}) for k in range(len(d.ops) + 1)]
    for f, b, k in pending:
        out = [(0.0, nops, {**pick, (f, b): v}) for _, nops, pick in out
            for v in range(k + 1)]
    return out


def creation(recs):
    """The records of the making of the store: up to the first sync of
    data.mdb after it is opened under that name, and one more."""
    names = {}
    for i, (typ, file, _, _, _, data) in enumerate(recs):
        if typ == "O":
            names[file] = data.decode()
        elif typ == "S" and names.get(file) == "data.mdb":
            return min(i + 2, len(recs) + 1)
    return len(recs) + 1


def cut_points(recs, n, rng, made=0):
    """n cut points (the number of records that completed): after and
    just before syncs, and anywhere, and the very end; and every one
    before made, while the store is made."""
    syncs = [i for i, r in enumerate(recs) if r[0] == "S"]
    cuts = {len(recs)}
    cuts.update(range(1, made))
    n += len(cuts)
    while len(cuts) < min(n, len(recs)):
        how = rng.randrange(3)
        if how == 0 and syncs:
            cuts.add(rng.choice(syncs) + 1)
        elif how == 1 and syncs:
            cuts.add(rng.choice(syncs))
        else:
            cuts.add(rng.randrange(1, len(recs) + 1))
    return sorted(cuts)


def quiet_env(workdir):
    """The environment for programs that may read a corrupt store in the
    self-test: sanitizer reports, if any, go under workdir, not where CI
    counts them."""
    env = dict(os.environ)
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"):
        opts = [o for o in env.get(k, "").split(":")
            if o and not o.startswith("log_path=")]
        opts.append("log_path=" + os.path.join(workdir, k.lower()))
        env[k] = ":".join(opts)
    return env


def check_cut(img, m, T, env, tally):
    """The broken promises of the store rebuilt in img at time T; tally
    counts the promises checked."""
    probs = []
    ctl = tickctl_path()
    # No data.mdb: the cut came before the store was made, and nothing
    # was promised; tickd makes it anew.
    if set(n for n in os.listdir(img) if n.endswith(".mdb")) - \
            {"data.mdb", "lock.mdb"}:
        tally["left"] += 1
    if ctl is not None and os.path.exists(os.path.join(img, "data.mdb")):
        try:
            p = subprocess.run([ctl, "-j", "-d", img, "verify"],
                capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                env=env)
            out = p.stdout.decode(errors="replace").strip()
            if p.returncode != 0 or '"consistent":true' not in \
                    out.replace(" ", ""):
                err = p.stderr.decode(errors="replace").strip()
                probs.append(f"tickctl verify: status {p.returncode}: "
                    f"{out[:200]} {err[:200]}")
        except subprocess.TimeoutExpired:
            probs.append("tickctl verify did not finish in 60 s")
    d = RespDaemon(name="cut", data_dir=img)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        try:
            d.start()
        except Failure as e:
            probs.append(f"tickd does not start: {str(e)[-300:]}")
            return probs
        finally:
            os.environ.clear()
            os.environ.update(saved)
        left = sorted(set(n for n in os.listdir(img) if n.endswith(".mdb"))
            - {"data.mdb", "lock.mdb"})
        if left:
            probs.append(f"tickd left {left} beside its store")
        r = redis.Redis(host="127.0.0.1", port=d.resp_port,
            socket_timeout=20)
        try:
            for u in USERS:
                got = {e[0].decode() for e in
                    r.xrange(f"queue:{u}:default", "-", "+")}
                want = {mid for mid, t in m.sent[u].items() if t < T and
                    m.ack_sent.get((u, mid), T) >= T}
                gone = {mid for (v, mid), t in m.ack_ok.items()
                    if v == u and t < T}
                tally["present"] += len(want)
                tally["gone"] += len(gone)
                if want - got:
                    probs.append(f"{u}: {len(want - got)} of {len(want)} "
                        f"messages answered sent are missing: "
                        f"{sorted(want - got)[:5]}")
                if gone & got:
                    probs.append(f"{u}: {len(gone & got)} items whose ack "
                        f"was answered came back: {sorted(gone & got)[:5]}")
        except (redis.RedisError, OSError) as e:
            probs.append(f"RESP: {e!r}")
        finally:
            r.close()
        rc = d.stop()
        if rc != 0:
            probs.append(f"tickd exited {rc}:\n{d.tail()}")
    finally:
        d.cleanup()
    return probs


def replay(recs, m, cuts, rng, workdir, env, made=0, first_only=False):
    """Walk the log once, from an empty data_dir, checking each cut (every
    crash image of a cut before made, while the store is made, if few,
    else some); returns (images checked, {cut: problems}, the promises
    checked)."""
    d, names = Dir(), {}
    bad, done, i = {}, 0, 0
    tally = {"present": 0, "gone": 0, "left": 0}
    for k in cuts:
        while i < k:
            typ, file, flags, ns, off, data = recs[i]
            if typ in ("O", "U"):
                names[file] = data.decode()
            if typ == "O" and names[file] != "." and \
                    names[file] not in d.now():
                d.ops.append((i, "create", names[file], File(names[file])))
            elif typ == "U":
                d.ops.append((i, "unlink", names[file], None))
            elif typ == "R":
                d.ops.append((i, "rename", names[file], data.decode()))
            elif typ == "W":
                d.now()[names[file]].write(i, off, data, flags & 1)
            elif typ == "T":
                d.now()[names[file]].truncate(off)
            elif typ == "S" and names[file] == ".":
                d.sync(off)
            elif typ == "S":
                d.now()[names[file]].sync(off)
            i += 1
        T = recs[k - 1][3]
        shots = images(d, rng, 12) if k < made else \
            [(rng.choice((0.0, 0.25, 0.5, 0.75, 1.0)), None, None)]
        for n, (keep, nops, pick) in enumerate(shots):
            img = os.path.join(workdir, f"cut-{k}-{n}")
            write_image(img, d, rng, keep, nops, pick)
            probs = check_cut(img, m, T, env, tally)
            done += 1
            shutil.rmtree(img, ignore_errors=True)
            if probs:
                bad.setdefault(k, []).extend(f"cut {k}/{len(recs)} (image "
                    f"{n}, keep {keep}, {nops} directory operations): {p}"
                    for p in probs)
        if bad and first_only:
            break
    return done, bad, tally


async def main(t):
    if VALGRIND:
        for _ in range(5):
            t.skip("the power-cut test", "under valgrind, its hundred "
                "tickd starts would take too long")
        return
    seed = int(os.environ.get("TICKD_SEED") or random.randrange(1 << 30))
    t.diag(f"seed {seed} (TICKD_SEED={seed} replays its choices)")
    rng = random.Random(seed)
    workdir = tempfile.mkdtemp(prefix="tickd-powercut-")
    try:
        start = time.monotonic()
        m, log, probs = await record(workdir, rng.random(), SENDS,
            XADDS, sync_thread="yes")
        recs = parse(log)
        kinds = {}
        for r in recs:
            kinds[r[0]] = kinds.get(r[0], 0) + 1
        datafile = [r[1] for r in recs if r[0] == "O" and
            r[5] == b"data.mdb"]
        mapped = [r for r in recs if r[0] == "M" and r[1] in datafile]
        t.ok(not probs and kinds.get("S", 0) > 10 and
            kinds.get("W", 0) > 10 and not mapped,
            f"the load ran under the shim: {m.counts}; the log holds "
            f"{len(recs)} records {kinds}, no writable map of data.mdb",
            "\n".join(probs[:10]) + f"\n{len(mapped)} writable maps")
        t.diag("opens: " + ", ".join(r[5].decode() + (" O_DSYNC" if r[2]
            else "") for r in recs if r[0] == "O"))
        t.diag("the making of the store: " + " ".join(r[0] + ("" if
            r[0] in "WST" else " " + r[5].decode()) for r in
            recs[:creation(recs) - 1]))
        t.diag(f"recorded in {time.monotonic() - start:.1f} s")

        made = creation(recs)
        cuts = cut_points(recs, CUTS, rng, made)
        env = dict(os.environ)
        done, bad, tally = replay(recs, m, cuts, rng, workdir, env, made)
        t.ok(done >= min(CUTS, len(recs)) and not bad and
            tally["present"] > 0 and tally["gone"] > 0,
            f"with sync_thread yes: {len(cuts)} power cuts ({made - 1} "
            f"while the store is made), "
            f"{done} stores rebuilt ({tally['left']} with another *.mdb "
            f"beside data.mdb): each passes tickctl verify or has "
            f"no data.mdb yet, and holds every message answered sent "
            f"({tally['present']} checks), and nothing whose ack was "
            f"answered ({tally['gone']} checks)",
            "\n".join(p for ps in bad.values() for p in ps)[:6000])
        t.diag(f"checked in {time.monotonic() - start:.1f} s")

        # The same with each commit synced whole on the event loop.
        idir = os.path.join(workdir, "inline")
        os.makedirs(idir)
        m3, log3, probs3 = await record(idir, rng.random(), INLINE_SENDS,
            INLINE_SENDS // 3, sync_thread="no")
        recs3 = parse(log3)
        cuts3 = cut_points(recs3, INLINE_CUTS, rng, creation(recs3))
        done3, bad3, tally3 = replay(recs3, m3, cuts3, rng, idir,
            dict(os.environ), creation(recs3))
        t.ok(not probs3 and done3 >= min(INLINE_CUTS, len(recs3)) and
            not bad3 and tally3["present"] > 0,
            f"with sync_thread no: {len(cuts3)} power cuts, {done3} stores "
            f"rebuilt, every promise kept ({tally3['present']} sent, "
            f"{tally3['gone']} acked)",
            "\n".join(probs3[:10]) + "\n".join(p for ps in bad3.values()
            for p in ps)[:6000])

        # The self-test: fdatasync and fsync that do nothing.
        sdir = os.path.join(workdir, "nosync")
        os.makedirs(sdir)
        m2, log2, probs2 = await record(sdir, rng.random(), SELF_SENDS,
            SELF_SENDS // 2, nosync=True)
        recs2 = parse(log2)
        t.ok(not probs2 and recs2 and not any(r[0] == "S" for r in recs2),
            f"with TICKD_POWERCUT_NOSYNC the load runs and no sync is "
            f"logged ({len(recs2)} records)", "\n".join(probs2[:10]))
        cuts2 = cut_points(recs2, SELF_CUTS, rng)
        # Late cuts, where much was answered sent.
        cuts2 = sorted(set(cuts2[len(cuts2) // 2:] + [len(recs2)]))
        done2, bad2, _ = replay(recs2, m2, cuts2, rng, sdir,
            quiet_env(sdir), first_only=True)
        t.ok(bad2, f"the checker finds the promises a tickd without "
            f"syncs breaks ({len(bad2)} cuts, {done2} stores rebuilt)",
            f"cuts {cuts2}")
        if bad2:
            t.diag(next(iter(bad2.values()))[0][:300])
        t.diag(f"done in {time.monotonic() - start:.1f} s")
    finally:
        if not os.environ.get("TICKD_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)


run(main, 5, timeout=500)
