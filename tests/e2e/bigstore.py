# bigstore.py: a big store for the admin tests (90-ops-admin-*), made
# faster than through the protocol: tickd-bench seed makes the accounts,
# then mdb_dump and mdb_load queue an item for each device and make some
# devices' item counts wrong, so that repair has something to fix.

import json
import subprocess
import sys
import time


def dump(data_dir, db):
    """A database's mdb_dump: its header lines and its key, value pairs
    as hex lines."""
    out = subprocess.run(["mdb_dump", "-s", db, data_dir],
        capture_output=True, check=True, timeout=120).stdout.decode()
    lines = out.splitlines()
    end = lines.index("HEADER=END") + 1
    return lines[:end], lines[end:lines.index("DATA=END")]


def load(data_dir, db, header, pairs):
    subprocess.run(["mdb_load", "-s", db, data_dir],
        input=("\n".join(header + pairs + ["DATA=END"]) + "\n").encode(),
        check=True, capture_output=True, timeout=300)


def queue_and_break(data_dir, every):
    """Queues a receipt for every device, as a store of that many items
    holds them, with the counts and the mid high-water mark to match, but
    the item count of every every-th device set to 7; how many."""
    now = int(time.time() * 1000)
    header, pairs = dump(data_dir, "devices")
    items, devices, broken = [], [], 0
    ms = now - len(pairs)
    for i in range(0, len(pairs) - 1, 2):
        v = bytearray.fromhex(pairs[i + 1].strip())
        qid = int.from_bytes(v[1:9], sys.byteorder)
        ms += 1
        frame = json.dumps({"op": "receipt", "mid": f"{ms}-0"},
            separators=(",", ":")).encode()
        key = qid.to_bytes(8, "big") + ms.to_bytes(8, "big") + bytes(8)
        val = b"\x01\x02" + now.to_bytes(8, sys.byteorder) + frame
        items += [" " + key.hex(), " " + val.hex()]
        count = 1
        if (i // 2) % every == 0:
            count = 7
            broken += 1
        v[25:33] = count.to_bytes(8, sys.byteorder)
        v[33:41] = len(frame).to_bytes(8, sys.byteorder)
        devices += [pairs[i], " " + v.hex()]
    load(data_dir, "devices", header, devices)
    header, _ = dump(data_dir, "queues")
    load(data_dir, "queues", header, items)
    header, _ = dump(data_dir, "meta")
    hw = b"\x01" + ms.to_bytes(8, sys.byteorder) + bytes(8)
    load(data_dir, "meta", header, [" " + b"mid".hex(), " " + hw.hex()])
    return len(items) // 2, broken
