#!/usr/bin/python3
# rediss:// (tickd-cluster(7), TLS): two nodes reach a redis-server that
# speaks only TLS through tickd's relay, whose socket sits in a 0700
# directory of data_dir removed at exit; alice on n1 sends bob on n2, and
# the receipt comes back; each node SSUBSCRIBEs its typing channel over
# TLS and alice's typing reaches bob; one started as root for nobody too.  A node whose cluster_redis_ca_file names
# another CA logs the failed verification, reports Redis down, and still
# serves its own users; one whose URL names an address the certificate
# does not logs the mismatch, and reaches Redis by the name it does, with
# the URL's credentials.

import os
import pwd
import stat
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from cluster_test import *  # noqa: E402,F403

skip_unless_cluster()


async def main(t):
    tls, other = TlsFiles(), TlsFiles(san="DNS:localhost")
    other_redis = Redis(tls=other, password="s3cret").start()
    try:
        with Cluster(n=2, tls=tls) as cl:
            n1, n2 = cl.node(1), cl.node(2)
            t.ok(all(cluster_metric(d, "tickd_cluster_redis_up") == 1
                for d in (n1, n2)), "both nodes reach Redis over TLS")
            sdir = os.path.join(n1.data_dir, "redis-tls")
            st = os.stat(sdir)
            t.ok(stat.S_IMODE(st.st_mode) == 0o700 and
                stat.S_ISSOCK(os.stat(os.path.join(sdir, "s")).st_mode),
                "the relay's socket is in a 0700 directory of data_dir")

            t.eq(register(n1, "alice").status, 201, "alice registers on n1")
            t.eq(register(n2, "bob").status, 201, "bob registers on n2")
            t.eq(cl.redis.cmd("GET", "tickd:u:{bob}"), "n2",
                "the directory, read over TLS, says n2 for bob")
            a = await Client.connect(n1, token_for(n1, "alice"),
                name="alice")
            b = await Client.connect(n2, token_for(n2, "bob"), name="bob")
            s = await a.request({"op": "send", "to": "bob", "id": "m1",
                "body": "over tls"})
            t.ok(s is not None and s.get("op") == "sent",
                "alice on n1 to bob on n2: sent", s)
            m = await b.recv_op("msg", 20)
            t.ok(m is not None and m.get("from") == "alice" and
                m.get("body") == "over tls", "bob gets it on n2", m)
            await b.send({"op": "ack", "mid": m["mid"]})
            d = await a.recv_op("receipt", 20)
            t.ok(d is not None and d.get("status") == "delivered" and
                d.get("for") == s["mid"], "alice: delivered", d)
            ok = wait_for(lambda: shard_numsub(cl.redis.port,
                "tickd:t:{n2}", tls=tls) == 1, 10)
            r = await a.request({"op": "typing", "to": "bob",
                "state": "composing", "ref": 1})
            f = await b.recv_op("typing", 10)
            t.ok(ok and r == {"op": "ok", "ref": 1} and f is not None,
                "n2 SSUBSCRIBEs tickd:t:{n2} through the relay; alice's "
                "typing reaches bob", [r, f])
            await a.close()
            await b.close()

            # Started as root for nobody: the CA file, which only root
            # can read, is read before the switch, the relay's socket made
            # after it, in data_dir.
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                p = Daemon(name="p4", node_name="p4", user="nobody",
                    group="nogroup", cluster_redis="rediss://127.0.0.1:"
                    f"{cl.redis.port}", cluster_redis_ca_file=tls.ca,
                    cluster_heartbeat="1s", cluster_redis_timeout="3s")
                p.conf["cluster_url"] = f"http://127.0.0.1:{p.port}"
                os.chmod(p.dir, 0o755)
                os.rmdir(p.data_dir)
                p.start()
                ok = wait_for(lambda: cluster_metric(p,
                    "tickd_cluster_redis_up") == 1, 15)
                t.ok(ok, "a node started as root for nobody reaches Redis "
                    "over TLS", p.tail())
                st = os.stat(os.path.join(p.data_dir, "redis-tls"))
                t.eq(st.st_uid, nobody.pw_uid, "its relay's directory "
                    "belongs to nobody")
                p.cleanup()
            else:
                t.skip("as root", "not root")
                t.skip("as root, the directory", "not root")

            # Its users exist before it joins: a new name needs Redis.
            bad = Daemon(name="n3")
            bad.start()
            t.eq([register(bad, u).status for u in ("carol", "dave")],
                [201, 201], "carol and dave register on a lone node")
            bad.stop()
            bad.conf.update(node_name="n3",
                cluster_redis=f"rediss://127.0.0.1:{cl.redis.port}",
                cluster_redis_ca_file=other.ca, cluster_retry="2s",
                cluster_heartbeat="1s", cluster_redis_timeout="3s",
                cluster_url=f"http://127.0.0.1:{bad.port}")
            bad.start()
            ok = wait_for(lambda: "certificate verification failed" in
                bad.tail(50), 10)
            t.ok(ok, "that node, with another CA: the failed verification "
                "is logged", bad.tail())
            time.sleep(1)
            t.eq(cluster_metric(bad, "tickd_cluster_redis_up"), 0,
                "and it reports Redis down")
            t.eq(cl.redis.cmd("EXISTS", "tickd:alive:{n3}"), "0",
                "it never reached Redis")
            c = await Client.connect(bad, token_for(bad, "carol"),
                name="carol")
            e = await Client.connect(bad, token_for(bad, "dave"),
                name="dave")
            s = await c.request({"op": "send", "to": "dave", "id": "l1",
                "body": "local"})
            m = await e.recv_op("msg", 10)
            t.ok(s is not None and s.get("op") == "sent" and
                m is not None and m.get("body") == "local",
                "its local traffic still flows", [s, m])
            await c.close()
            await e.close()

            # The right CA, but a certificate for localhost only.
            bad.stop()
            bad.conf["cluster_redis"] = \
                f"rediss://127.0.0.1:{other_redis.port}"
            bad.start()
            ok = wait_for(lambda: "IP address mismatch" in bad.tail(50), 10)
            t.ok(ok, "127.0.0.1, which that certificate does not name: "
                "the mismatch is logged", bad.tail())
            t.eq(cluster_metric(bad, "tickd_cluster_redis_up"), 0,
                "and Redis is down")
            bad.stop()
            bad.conf["cluster_redis"] = \
                f"rediss://default:s3cret@localhost:{other_redis.port}"
            bad.start()
            ok = wait_for(lambda: cluster_metric(bad,
                "tickd_cluster_redis_up") == 1, 15)
            t.ok(ok and other_redis.cmd("EXISTS", "tickd:alive:{n3}") ==
                "1", "localhost, which it names, with the URL's user and "
                "password for AUTH: Redis is up", bad.tail())
            bad.stop()
            n1.stop()
            t.ok(not os.path.exists(sdir),
                "the relay's directory is gone after a clean stop")
    finally:
        other_redis.cleanup()
        tls.cleanup()
        other.cleanup()


run(main, 20, timeout=120)
