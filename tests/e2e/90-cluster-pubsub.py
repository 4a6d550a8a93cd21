#!/usr/bin/python3
# The channels of tickd-cluster(7) as an outside client sees them, with
# SSUBSCRIBE on a connection of the test's own: bob's home sends SPUBLISH
# tickd:pc:{bob} when his presence changes; PUBSUB SHARDNUMSUB of it is 1
# while alice on n1 watches bob and 0 once she is gone; typing to bob goes
# with SPUBLISH tickd:t:{n2} to his home n2; plain SUBSCRIBE to either
# channel sees nothing (sharded channels are a namespace of their own).

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()

W = 4 if VALGRIND else 1    # valgrind's slowdown on every wait
PFX = "tickd:"              # cluster_prefix (Cluster.wait_up's too)
PC = f"{PFX}pc:{{bob}}"
TN2 = f"{PFX}t:{{n2}}"


def smessages(sub, channel, timeout):
    """The payloads of the smessage pushes on channel within timeout s."""
    return [p[2] for p in sub.pushes(timeout) if isinstance(p, list) and
        len(p) == 3 and p[0] == "smessage" and p[1] == channel]


async def main(t):
    with Cluster() as cl:
        n1, n2 = cl.node(1), cl.node(2)
        port = cl.redis.port
        for d, u in ((n1, "alice"), (n2, "bob")):
            t.eq(register(d, u).status, 201, f"{u} registers on {d.name}")
        t.ok(wait_for(lambda: shard_numsub(port, TN2) == 1, 10),
            f"n2 subscribes to {TN2} with SSUBSCRIBE: SHARDNUMSUB 1")

        plain = RespClient(port)
        t.eq(plain.call("SUBSCRIBE", PC, TN2)[0], "subscribe",
            "an outside client SUBSCRIBEs (plain) to both channels")
        plain.read(5)

        a = await Client.connect(n1, token_for(n1, "alice", "phone"),
            name="alice")
        await a.send({"op": "subscribe", "users": ["bob"]})
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is False,
            "alice on n1 watches bob on n2", f)
        t.ok(wait_for(lambda: shard_numsub(port, PC) == 1, 5),
            f"n1 sends SSUBSCRIBE {PC}: PUBSUB SHARDNUMSUB is 1",
            shard_numsub(port, PC))

        ssub = RespClient(port)
        r = ssub.call("SSUBSCRIBE", PC, TN2)
        t.ok(r == ["ssubscribe", PC, 1],
            "an outside client SSUBSCRIBEs to both channels", r)
        ssub.read(5)

        b = await Client.connect(n2, token_for(n2, "bob", "laptop"),
            name="bob")
        f = await a.recv_op("presence", 10 * W)
        t.ok(f is not None and f.get("online") is True,
            "bob connects on n2: alice sees him online", f)
        got = smessages(ssub, PC, 1.5 * W)
        t.ok(got != [] and all(m == "bob" for m in got),
            f"the outside client gets SPUBLISH {PC} from bob's home", got)

        r = await a.request({"op": "typing", "to": "bob",
            "state": "composing", "ref": 1})
        f = await b.recv_op("typing", 5 * W)
        t.ok(r == {"op": "ok", "ref": 1} and f is not None,
            "alice types to bob: he gets it", [r, f])
        got = [json.loads(m) for m in smessages(ssub, TN2, 1.5 * W)]
        t.eq(got, [{"from": "alice", "to": "bob", "state": "composing"}],
            f"the outside client gets it on {TN2}, with SPUBLISH")

        got = plain.pushes(0.5)
        t.eq(got, [], "plain SUBSCRIBE to the channels sees nothing")
        plain.close()
        ssub.close()

        await a.close()
        t.ok(wait_for(lambda: shard_numsub(port, PC) == 0, 5),
            f"alice goes, nobody on n1 watches bob: SUNSUBSCRIBE, "
            f"SHARDNUMSUB {PC} 0", shard_numsub(port, PC))
        await b.close()


run(main, 13, timeout=120)
