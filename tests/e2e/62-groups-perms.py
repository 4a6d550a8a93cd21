#!/usr/bin/python3
# Groups, tickd-protocol(7) GROUPS, Permissions: the table row by row, for the
# owner (alice), an admin (bob) and a member (carol), with dave as the user
# acted on.  Anything the table does not allow is error forbidden and changes
# nothing; allowed changes answer ok.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403

REPLIES = ("ok", "error", "group_info", "groups", "sent")
G = "#perm"


async def main(t):
    with Daemon() as d:
        names = ("alice", "bob", "carol", "dave")
        toks = [token_for(d, n, new=True) for n in names]
        cl = [await Client.connect(d, tok, name=n)
            for tok, n in zip(toks, names)]
        a, b, c, dv = cl
        n = [0]

        async def version():
            await a.send({"op": "group_info", "group": G})
            return (await a.recv_op("group_info", 5) or {}).get("version")

        async def act(x, obj):
            """The answer to obj: "ok", "sent", "info" or the error code;
            a forbidden request must leave the version alone."""
            n[0] += 1
            obj = dict(obj, ref=n[0])
            if obj["op"] != "group_info":
                obj.setdefault("group", G)
            v0 = await version()
            await x.send(obj)
            r = await x.recv_op(REPLIES, 5) or {}
            if r.get("ref") != n[0]:
                return f"no reply with ref: {r!r}"
            if r.get("op") == "error":
                if r.get("code") == "forbidden" and await version() != v0:
                    return "forbidden but changed"
                return r.get("code")
            return {"group_info": "info"}.get(r["op"], r["op"])

        async def setup(*ops):
            for x, obj in ops:
                r = await act(x, obj)
                if r != "ok":
                    raise Failure(f"setup {obj!r}: {r}")

        await a.send({"op": "group_create", "group": G, "title": "P",
            "members": ["bob", "carol"]})
        await a.recv_op("group_info", 5)
        await setup((a, {"op": "group_role", "user": "bob",
            "role": "admin"}))
        actors = ((a, "owner"), (b, "admin"), (c, "member"))

        async def row(desc, want, fn):
            got = []
            for (x, role) in actors:
                got.append(await fn(x))
            t.eq(got, want, desc)

        async def send(x):
            n[0] += 1
            await x.send({"op": "send", "to": G, "id": f"s{n[0]}",
                "body": n[0]})
            r = await x.recv_op(("sent", "error"), 5) or {}
            return r.get("code", r.get("op"))

        await row("send while admin_only_send is false: everyone",
            ["sent", "sent", "sent"], send)
        await setup((a, {"op": "group_set", "admin_only_send": True}))
        await row("send while admin_only_send is true: not a member",
            ["sent", "sent", "forbidden"], send)
        await setup((a, {"op": "group_set", "admin_only_send": False}))

        async def title(x):
            n[0] += 1
            return await act(x, {"op": "group_set", "title": f"t{n[0]}",
                "description": f"d{n[0]}"})
        await row("group_set title, description while admin_only_info is "
            "false: everyone", ["ok", "ok", "ok"], title)
        await setup((a, {"op": "group_set", "admin_only_info": True}))
        await row("group_set title, description while admin_only_info is "
            "true: not a member", ["ok", "ok", "forbidden"], title)

        async def switches(x):
            r1 = await act(x, {"op": "group_set", "admin_only_send": True})
            r2 = await act(x, {"op": "group_set", "admin_only_info": False})
            if r1 == "ok":
                await setup((a, {"op": "group_set",
                    "admin_only_send": False, "admin_only_info": True}))
            return r1 if r1 == r2 else f"{r1}/{r2}"
        await row("group_set admin_only_send, admin_only_info: not a member",
            ["ok", "ok", "forbidden"], switches)
        await setup((a, {"op": "group_set", "admin_only_info": False}))

        async def add(x):
            r = await act(x, {"op": "group_add", "users": ["dave"]})
            if r == "ok":
                await setup((a, {"op": "group_remove", "users": ["dave"]}))
            return r
        await row("group_add: owner and admin", ["ok", "ok", "forbidden"],
            add)

        async def remove_member(x):
            await setup((a, {"op": "group_add", "users": ["dave"]}))
            r = await act(x, {"op": "group_remove", "users": ["dave"]})
            if r != "ok":
                await setup((a, {"op": "group_remove", "users": ["dave"]}))
            return r
        await row("group_remove of a member: owner and admin",
            ["ok", "ok", "forbidden"], remove_member)

        async def promote(x):
            await setup((a, {"op": "group_add", "users": ["dave"]}))
            r = await act(x, {"op": "group_role", "user": "dave",
                "role": "admin"})
            await setup((a, {"op": "group_remove", "users": ["dave"]}))
            return r
        await row("group_role member -> admin: owner and admin",
            ["ok", "ok", "forbidden"], promote)

        async def remove_admin(x):
            await setup((a, {"op": "group_add", "users": ["dave"]}),
                (a, {"op": "group_role", "user": "dave", "role": "admin"}))
            r = await act(x, {"op": "group_remove", "users": ["dave"]})
            if r != "ok":
                await setup((a, {"op": "group_remove", "users": ["dave"]}))
            return r
        await row("group_remove of an admin: the owner only",
            ["ok", "forbidden", "forbidden"], remove_admin)

        async def demote(x):
            await setup((a, {"op": "group_add", "users": ["dave"]}),
                (a, {"op": "group_role", "user": "dave", "role": "admin"}))
            r = await act(x, {"op": "group_role", "user": "dave",
                "role": "member"})
            await setup((a, {"op": "group_remove", "users": ["dave"]}))
            return r
        await row("group_role admin -> member: the owner only",
            ["ok", "forbidden", "forbidden"], demote)

        async def transfer(x):
            await setup((a, {"op": "group_add", "users": ["dave"]}))
            r = await act(x, {"op": "group_role", "user": "dave",
                "role": "owner"})
            if r == "ok":
                await setup((dv, {"op": "group_role", "user": "alice",
                    "role": "owner"}),
                    (a, {"op": "group_role", "user": "dave",
                        "role": "member"}))
            await setup((a, {"op": "group_remove", "users": ["dave"]}))
            return r
        await row("group_role -> owner: the owner only",
            ["ok", "forbidden", "forbidden"], transfer)

        r = await act(b, {"op": "group_remove", "users": ["alice"]})
        t.eq(r, "forbidden", "nobody can remove the owner")

        async def info(x):
            return await act(x, {"op": "group_info", "group": G})
        await row("group_info: everyone", ["info"] * 3, info)

        async def typing(x):
            return await act(x, {"op": "typing", "to": G,
                "state": "composing"})
        await row("typing: everyone", ["ok"] * 3, typing)

        got = [await act(x, {"op": "group_leave"}) for x in (c, b, a)]
        t.eq(got, ["ok"] * 3, "group_leave: everyone (the owner last)")


run(main, 15)
