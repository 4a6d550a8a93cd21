#!/usr/bin/env python3
# The RESP shim's streams against redis-server 7.0 (tickd-resp(7)): XADD with
# every id form and trimming option, XLEN, XRANGE and XREVRANGE, XDEL,
# XTRIM, XSETID, XREAD, consumer groups (XGROUP, XREADGROUP, XACK,
# XPENDING, XCLAIM, XAUTOCLAIM) and XINFO.  Replies must match but for
# generated ids, idle times and Redis's radix tree sizes.

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from resp_test import *  # noqa: E402,F403

MAX = "18446744073709551615"


def xadd(d):
    d.run([
        ["XADD", "a", "1-1", "f", "v"], ["XADD", "a", "1-1", "f", "v"],
        ["XADD", "a", "1-0", "f", "v"], ["XADD", "a", "1", "f", "v"],
        ["XADD", "a", "1-*", "f", "v"], ["XADD", "a", "1-*", "f", "v"],
        ["XADD", "a", "2", "f", "v"], ["XADD", "a", "2-*", "f", "v"],
        ["XADD", "a", "0-1", "f", "v"], ["XADD", "b", "0-0", "f", "v"],
        ["XADD", "b", "0", "f", "v"], ["XADD", "b", "0-*", "f", "v"],
        ["XADD", "b", "-", "f", "v"], ["XADD", "b", "+", "f", "v"],
        ["XADD", "b", "-1", "f", "v"], ["XADD", "b", "1-x", "f", "v"],
        ["XADD", "b", "x", "f", "v"], ["XADD", "b", " 3", "f", "v"],
        ["XADD", "b", "+4", "f", "v"], ["XADD", "b", "05", "f", "v"],
        ["XADD", "b", "6-01", "f", "v"], ["XADD", "b", MAX, "f", "v"],
        ["XADD", "b", MAX + "0", "f", "v"], ["XADD", "b", "*", "f", "v"],
        ["XADD", "b", MAX + "-*", "f", "v"],
        ["XADD", "c", f"{MAX}-{MAX}", "f", "v"], ["XADD", "c", "*", "f", "v"],
        ["XADD", "c", f"{MAX}-*", "f", "v"], ["XLEN", "c"],
        ["XADD", "a", "3-1", "f"], ["XADD", "a", "3-1"],
        ["XADD", "a", "3-1", "f", "v", "g"], ["XADD", "a", "*"],
        ["XADD", "a", "3-1", "a", "1", "b", "2", "a", "3"],
        ["XADD", "a", "3-2", "", ""], ["XADD", "a", "3-3", "bin\0", "\xff"],
        ["XRANGE", "a", "-", "+"],
        ["XADD", "d", "NOMKSTREAM", "1-1", "f", "v"], ["EXISTS", "d"],
        ["XADD", "d", "nomkstream", "*", "f", "v"],
        ["XADD", "a", "NOMKSTREAM", "4-1", "f", "v"],
        ["XADD", "a", "BOGUS", "4-1", "f", "v"],
        ["SET", "str", "x"], ["XADD", "str", "1-1", "f", "v"],
        ["XADD", "str", "BOGUS", "f", "v"],
        ["XADD", "e", "MAXLEN", "0", "1-1", "f", "v"], ["XLEN", "e"],
        ["EXISTS", "e"], ["XINFO", "STREAM", "e"],
        ["XADD", "e", "MAXLEN", "1", "MINID", "0", "*", "f", "v"],
        ["XADD", "e", "LIMIT", "5", "*", "f", "v"],
        ["XADD", "e", "MAXLEN", "5", "LIMIT", "5", "*", "f", "v"],
        ["XADD", "e", "MAXLEN", "~", "5", "LIMIT", "-1", "*", "f", "v"],
        ["XADD", "e", "MAXLEN", "-1", "*", "f", "v"],
        ["XADD", "e", "MAXLEN", "x", "*", "f", "v"],
        ["XADD", "e", "MINID", "-", "*", "f", "v"],
        ["XADD", "e", "MINID", "x", "*", "f", "v"],
        ["XADD", "e", "MAXLEN", "=", "1", "2-1", "f", "v"],
        ["XADD", "e", "MAXLEN", "~", "0", "3-1", "f", "v"],
        ["XADD", "e", "MINID", "=", "5", "4-1", "f", "v"],
        ["XADD", "e", "MINID", "~", "5", "5-1", "f", "v"],
        ["XLEN", "e"], ["XRANGE", "e", "-", "+"],
        ["XADD", "e", "maxlen", "1", "limit", "0", "6-1", "f", "v"],
    ])
    # Generated ids: only the names of the ids are compared.
    d.run([["XADD", "g", "*", "n", str(i)] for i in range(5)] +
        [["XRANGE", "g", "-", "+"], ["XREVRANGE", "g", "+", "-", "COUNT",
         "2"], ["XINFO", "STREAM", "g"]])


def trim(d):
    """MAXLEN and MINID, exact and with ~ (whole nodes of 100)."""
    cmds = []
    for i in range(1, 451):
        cmds.append(["XADD", "t", f"{i}-1", "n", str(i)])
    cmds += [
        ["XTRIM", "t", "MAXLEN", "~", "400"], ["XLEN", "t"],
        ["XTRIM", "t", "MAXLEN", "~", "120"], ["XLEN", "t"],
        ["XRANGE", "t", "-", "+", "COUNT", "2"],
        ["XTRIM", "t", "MAXLEN", "300"], ["XLEN", "t"],
        ["XTRIM", "t", "MAXLEN", "=", "290"], ["XLEN", "t"],
        ["XRANGE", "t", "-", "+", "COUNT", "2"],
        ["XTRIM", "t", "MINID", "~", "300"], ["XLEN", "t"],
        ["XTRIM", "t", "MINID", "305"], ["XLEN", "t"],
        ["XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "50"], ["XLEN", "t"],
        ["XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "150"], ["XLEN", "t"],
        ["XTRIM", "t", "MAXLEN", "~", "10"], ["XLEN", "t"],
        ["XINFO", "STREAM", "t"],
        ["XTRIM", "t", "MAXLEN", "0"], ["XLEN", "t"], ["XINFO", "STREAM", "t"],
        ["XTRIM", "nokey", "MAXLEN", "0"], ["XTRIM", "str", "MAXLEN", "0"],
        ["XTRIM", "t"], ["XTRIM", "t", "FOO"], ["XTRIM", "t", "MAXLEN"],
        ["XTRIM", "t", "LIMIT", "1"], ["XTRIM", "t", "MAXLEN", "0", "FOO"],
        ["XTRIM", "t", "MAXLEN", "0", "LIMIT", "1"],
        ["XTRIM", "t", "MINID", "-"], ["XTRIM", "t", "MAXLEN", "-3"],
    ]
    # Entries appended with XADD ... MAXLEN ~ keep the stream near its cap.
    for i in range(1, 351):
        cmds.append(["XADD", "u", "MAXLEN", "~", "100", f"{i}-0", "k", "v"])
    cmds += [["XLEN", "u"], ["XRANGE", "u", "-", "+", "COUNT", "1"]]
    for i in range(1, 251):
        cmds.append(["XADD", "w", "MINID", "~", str(i - 120), f"{i}-0", "k",
            "v"])
    cmds += [["XLEN", "w"], ["XRANGE", "w", "-", "+", "COUNT", "1"]]
    d.run(cmds)


def ranges(d):
    d.run([["XADD", "r", f"{i}-{j}", "i", str(i), "j", str(j)]
        for i in range(1, 6) for j in range(3)])
    d.run([
        ["XRANGE", "r", "-", "+"], ["XRANGE", "r", "2", "3"],
        ["XRANGE", "r", "2-1", "3-1"], ["XRANGE", "r", "(2-1", "(3-1"],
        ["XRANGE", "r", "(2", "+"], ["XRANGE", "r", "-", "(2"],
        ["XRANGE", "r", "(-", "+"], ["XRANGE", "r", "-", "(+"],
        ["XRANGE", "r", "(", "+"], ["XRANGE", "r", "4", "2"],
        ["XRANGE", "r", f"({MAX}-{MAX}", "+"], ["XRANGE", "r", "-", "(0-0"],
        ["XRANGE", "r", "-", "(0"], ["XRANGE", "r", "(0", "+", "COUNT", "1"],
        ["XRANGE", "r", "-", "+", "COUNT", "0"],
        ["XRANGE", "r", "-", "+", "COUNT", "-1"],
        ["XRANGE", "r", "-", "+", "COUNT", "3"],
        ["XRANGE", "r", "-", "+", "COUNT"], ["XRANGE", "r", "-", "+", "X"],
        ["XRANGE", "r", "-", "+", "COUNT", "x"],
        ["XRANGE", "r", "-", "+", "COUNT", "2", "COUNT", "4"],
        ["XRANGE", "r", "x", "+"], ["XRANGE", "r", "-", "x"],
        ["XRANGE", "nokey", "-", "+"], ["XRANGE", "nokey", "-", "+",
         "COUNT", "0"], ["XRANGE", "str", "-", "+"],
        ["XRANGE", "str", "-", "+", "COUNT", "0"],
        ["XREVRANGE", "r", "+", "-"], ["XREVRANGE", "r", "3", "2"],
        ["XREVRANGE", "r", "(3-1", "(2-1"], ["XREVRANGE", "r", "+", "-",
         "COUNT", "4"], ["XREVRANGE", "r", "2", "3"],
        ["XREVRANGE", "r", "+", "-", "COUNT", "0"],
        ["XREVRANGE", "nokey", "+", "-"], ["XLEN", "r"], ["XLEN", "nokey"],
        ["XLEN", "str"],
        ["XDEL", "r", "2-1", "2-1", "9-9"], ["XDEL", "r", "x"],
        ["XDEL", "r", "1-0", "x"], ["XLEN", "r"], ["XDEL", "nokey", "x"],
        ["XDEL", "str", "1-1"], ["XDEL", "r", "-"],
        ["XDEL", "r", "1-0", "1-1", "1-2"], ["XINFO", "STREAM", "r"],
        ["XDEL", "r", "5-2"], ["XINFO", "STREAM", "r"],
        ["XRANGE", "r", "-", "+"],
        ["XSETID", "r", "4-0"], ["XSETID", "r", "5-1"], ["XSETID", "r", "9-9"],
        ["XADD", "r", "9-9", "f", "v"], ["XADD", "r", "9-*", "f", "v"],
        ["XSETID", "r", "10-0", "ENTRIESADDED", "1"],
        ["XSETID", "r", "10-0", "ENTRIESADDED", "-1"],
        ["XSETID", "r", "10-0", "ENTRIESADDED", "100"],
        ["XSETID", "r", "10-0", "MAXDELETEDID", "11-0"],
        ["XSETID", "r", "10-0", "MAXDELETEDID", "1-0"],
        ["XSETID", "r", "10-0", "MAXDELETEDID", "x"],
        ["XSETID", "r", "10-0", "BOGUS", "1"], ["XSETID", "r", "x"],
        ["XSETID", "r", "-"], ["XSETID", "nokey", "1-1"],
        ["XSETID", "str", "1-1"], ["XINFO", "STREAM", "r"],
        ["XSETID", "r", "0-5"], ["XADD", "z", "1-1", "f", "v"],
        ["XDEL", "z", "1-1"], ["XSETID", "z", "0-1"],
        ["XSETID", "z", "1-1", "ENTRIESADDED", "0"], ["XINFO", "STREAM", "z"],
    ])


def xread(d):
    d.run([
        ["XADD", "x1", "1-1", "a", "1"], ["XADD", "x1", "2-1", "b", "2"],
        ["XADD", "x2", "1-1", "c", "3"],
        ["XREAD", "STREAMS", "x1", "0"], ["XREAD", "STREAMS", "x1", "1-1"],
        ["XREAD", "STREAMS", "x1", "2-1"], ["XREAD", "STREAMS", "x1", "$"],
        ["XREAD", "STREAMS", "x1", "x2", "0", "0"],
        ["XREAD", "COUNT", "1", "STREAMS", "x1", "x2", "0", "0"],
        ["XREAD", "COUNT", "0", "STREAMS", "x1", "0"],
        ["XREAD", "COUNT", "-1", "STREAMS", "x1", "0"],
        ["XREAD", "STREAMS", "x1", "nokey", "0", "0"],
        ["XREAD", "STREAMS", "nokey", "0"], ["XREAD", "STREAMS", "str", "0"],
        ["XREAD", "STREAMS", "x1", "str", "0", "0"],
        ["XREAD", "STREAMS", "x1"], ["XREAD", "STREAMS", "x1", "x2", "0"],
        ["XREAD", "STREAMS", "x1", ">"], ["XREAD", "STREAMS", "x1", "x"],
        ["XREAD", "STREAMS", "x1", "-"], ["XREAD", "STREAMS", "x1", "+"],
        ["XREAD", "GROUP", "g", "c", "STREAMS", "x1", "0"],
        ["XREAD", "NOACK", "STREAMS", "x1", "0"],
        ["XREAD", "COUNT", "x", "STREAMS", "x1", "0"],
        ["XREAD", "BLOCK", "x", "STREAMS", "x1", "0"],
        ["XREAD", "BLOCK", "-1", "STREAMS", "x1", "0"],
        ["XREAD", "BLOCK", "100", "STREAMS", "x1", "0"],
        ["XREAD", "BLOCK", "50", "STREAMS", "x1", "$"],
        ["XREAD", "BLOCK", "50", "STREAMS", "nokey", "$"],
        ["XREAD", "FOO", "STREAMS", "x1", "0"], ["XREAD", "COUNT", "1", "x1"],
        ["XREAD", "streams", "x1", "0"],
    ])


def groups(d):
    d.run([
        ["XGROUP", "CREATE", "nokey", "g", "0"],
        ["XGROUP", "CREATE", "nokey", "g", "0", "FOO"],
        ["XGROUP", "CREATE", "nokey", "g", "0", "MKSTREAM", "FOO"],
        ["XGROUP", "SETID", "nokey", "g", "0"],
        ["XGROUP", "DESTROY", "nokey", "g"],
        ["XGROUP", "CREATECONSUMER", "nokey", "g", "c"],
        ["XGROUP", "DELCONSUMER", "nokey", "g", "c"],
        ["XGROUP", "CREATE", "str", "g", "0"],
        ["XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"], ["XLEN", "mk"],
        ["XINFO", "STREAM", "mk"], ["XINFO", "GROUPS", "mk"],
        ["XADD", "q", "1-1", "a", "1"], ["XADD", "q", "2-1", "b", "2"],
        ["XADD", "q", "3-1", "c", "3"],
        ["XGROUP", "CREATE", "q", "g", "0"],
        ["XGROUP", "CREATE", "q", "g", "0"],
        ["XGROUP", "CREATE", "q", "g2", "$"],
        ["XGROUP", "CREATE", "q", "g3", "(1"],
        ["XGROUP", "CREATE", "q", "g3", "-"],
        ["XGROUP", "CREATE", "q", "g4", "2-1", "ENTRIESREAD", "2"],
        ["XGROUP", "CREATE", "q", "g5", "0", "ENTRIESREAD", "-2"],
        ["XGROUP", "CREATE", "q", "g5", "0", "ENTRIESREAD", "x"],
        ["XGROUP", "CREATE", "q", "g5", "0", "0"],
        ["XGROUP", "CREATE", "q", "g6", "0", "ENTRIESREAD", "-1",
         "MKSTREAM"],
        ["XINFO", "GROUPS", "q"],
        ["XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "c2", "BLOCK", "30", "STREAMS", "q",
         ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "0"],
        ["XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "q",
         "0"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "2-1"],
        ["XREADGROUP", "GROUP", "g", "c3", "STREAMS", "q", "0"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "$"],
        ["XREADGROUP", "GROUP", "nog", "c1", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "nokey", ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "str", ">"],
        ["XREADGROUP", "STREAMS", "q", ">"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "x"],
        ["XINFO", "GROUPS", "q"], ["XINFO", "CONSUMERS", "q", "g"],
        ["XPENDING", "q", "g"], ["XPENDING", "q", "g", "-", "+", "10"],
        ["XPENDING", "q", "g", "-", "+", "10", "c1"],
        ["XPENDING", "q", "g", "-", "+", "10", "nobody"],
        ["XPENDING", "q", "g", "IDLE", "0", "-", "+", "10"],
        ["XPENDING", "q", "g", "IDLE", "99999999", "-", "+", "10"],
        ["XPENDING", "q", "g", "IDLE", "x", "-", "+", "10"],
        ["XPENDING", "q", "g", "IDLE", "0", "-", "+"],
        ["XPENDING", "q", "g", "-", "+", "x"], ["XPENDING", "q", "g", "-"],
        ["XPENDING", "q", "g", "-", "+"], ["XPENDING", "q", "g", "-", "+",
         "-5"], ["XPENDING", "q", "g", "(1-1", "+", "10"],
        ["XPENDING", "q", "g", "-", "(2-1", "10"],
        ["XPENDING", "q", "g", "(", "+", "10"],
        ["XPENDING", "q", "g", "-", "+", "10", "c1", "x"],
        ["XPENDING", "q", "nog"], ["XPENDING", "nokey", "g"],
        ["XPENDING", "str", "g"], ["XPENDING", "q", "g2"],
        ["XACK", "q", "g", "1-1", "x"], ["XACK", "q", "g", "1-1", "1-1",
         "9-9"], ["XACK", "nokey", "g", "1-1"], ["XACK", "q", "nog", "1-1"],
        ["XACK", "str", "g", "1-1"], ["XACK", "nokey", "g", "x"],
        ["XPENDING", "q", "g"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "JUSTID"],
        ["XCLAIM", "q", "g", "c2", "x", "2-1"],
        ["XCLAIM", "q", "g", "c2", "-5", "2-1", "RETRYCOUNT", "7"],
        ["XPENDING", "q", "g", "-", "+", "10"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "FOO"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "IDLE", "x"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "TIME", "x"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "RETRYCOUNT", "x"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "LASTID", "x"],
        ["XCLAIM", "q", "g", "c2", "0", "2-1", "LASTID", "9-9", "JUSTID"],
        ["XINFO", "GROUPS", "q"],
        ["XCLAIM", "q", "g", "c3", "0", "3-1", "FORCE", "JUSTID"],
        ["XCLAIM", "q", "g", "c3", "0", "3-1", "1-1", "junk"],
        ["XCLAIM", "q", "g", "c3", "0", "3-1", "x", "1-1"],
        ["XCLAIM", "q", "g", "c4", "99999999", "3-1"],
        ["XCLAIM", "q", "g", "c4", "0", "8-1"],
        ["XCLAIM", "q", "g", "c4", "0", "8-1", "FORCE"],
        ["XCLAIM", "nokey", "g", "c", "0", "1-1"],
        ["XCLAIM", "q", "nog", "c", "0", "1-1"],
        ["XCLAIM", "str", "g", "c", "0", "1-1"],
        ["XINFO", "CONSUMERS", "q", "g"],
        ["XDEL", "q", "3-1"], ["XPENDING", "q", "g", "-", "+", "10"],
        ["XREADGROUP", "GROUP", "g", "c3", "STREAMS", "q", "0"],
        ["XCLAIM", "q", "g", "c4", "0", "3-1"],
        ["XPENDING", "q", "g", "-", "+", "10"],
        ["XADD", "q", "4-1", "d", "4"], ["XADD", "q", "5-1", "e", "5"],
        ["XADD", "q", "6-1", "f", "6"],
        ["XREADGROUP", "GROUP", "g", "c5", "STREAMS", "q", ">"],
        ["XGROUP", "SETID", "q", "g", "0"],
        ["XREADGROUP", "GROUP", "g", "c6", "COUNT", "2", "STREAMS", "q", ">"],
        ["XPENDING", "q", "g", "-", "+", "10"], ["XPENDING", "q", "g"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "1"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "0"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "0"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "x"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "0", "JUSTID", "COUNT", "2"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "(4-1", "JUSTID"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "0", "FOO"],
        ["XAUTOCLAIM", "q", "g", "c7", "x", "0"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", "x"],
        ["XAUTOCLAIM", "q", "g", "c7", "99999999", "0"],
        ["XAUTOCLAIM", "nokey", "g", "c7", "0", "0"],
        ["XAUTOCLAIM", "q", "g", "c7", "0", f"({MAX}-{MAX}"],
        ["XDEL", "q", "5-1"],
        ["XAUTOCLAIM", "q", "g", "c8", "0", "0", "COUNT", "1"],
        ["XAUTOCLAIM", "q", "g", "c8", "0", "0"],
        ["XPENDING", "q", "g"], ["XINFO", "CONSUMERS", "q", "g"],
        ["XREADGROUP", "GROUP", "g", "c9", "NOACK", "STREAMS", "q", ">"],
        ["XGROUP", "SETID", "q", "g", "0", "ENTRIESREAD", "0"],
        ["XREADGROUP", "GROUP", "g", "c9", "NOACK", "COUNT", "1", "STREAMS",
         "q", ">"], ["XPENDING", "q", "g"], ["XINFO", "GROUPS", "q"],
        ["XGROUP", "SETID", "q", "g", "-"], ["XGROUP", "SETID", "q", "g", "+"],
        ["XGROUP", "SETID", "q", "g", "$"], ["XGROUP", "SETID", "q", "g", "x"],
        ["XGROUP", "SETID", "q", "g", "5", "ENTRIESREAD", "3"],
        ["XGROUP", "SETID", "q", "g", "5", "FOO", "3"],
        ["XGROUP", "SETID", "q", "g", "5", "ENTRIESREAD", "x"],
        ["XGROUP", "SETID", "q", "g", "5", "ENTRIESREAD", "-3"],
        ["XGROUP", "SETID", "q", "nog", "0"], ["XINFO", "GROUPS", "q"],
        ["XGROUP", "CREATECONSUMER", "q", "g", "c1"],
        ["XGROUP", "CREATECONSUMER", "q", "g", "new"],
        ["XGROUP", "CREATECONSUMER", "q", "nog", "new"],
        ["XGROUP", "DELCONSUMER", "q", "g", "c6"],
        ["XGROUP", "DELCONSUMER", "q", "g", "nobody"],
        ["XGROUP", "DELCONSUMER", "q", "nog", "c1"],
        ["XINFO", "CONSUMERS", "q", "g"], ["XPENDING", "q", "g"],
        ["XGROUP", "DESTROY", "q", "g2"], ["XGROUP", "DESTROY", "q", "g2"],
        ["XGROUP", "DESTROY", "q", "g"], ["XINFO", "GROUPS", "q"],
        ["XINFO", "CONSUMERS", "q", "g"], ["XINFO", "CONSUMERS", "q", "nog"],
        ["XINFO", "STREAM", "q"], ["XINFO", "STREAM", "q", "FULLX"],
        ["XINFO", "STREAM", "nokey"], ["XINFO", "STREAM", "str"],
        ["XINFO", "GROUPS", "nokey"], ["XINFO", "GROUPS", "q", "x"],
        ["XINFO", "FOO", "q"],
        ["DEL", "q"], ["XINFO", "GROUPS", "q"], ["EXISTS", "q"],
    ])


def lag(d):
    """entries-read and lag, through XDEL tombstones and SETID."""
    cmds = [["XADD", "l", f"{i}-0", "n", str(i)] for i in range(1, 11)]
    cmds += [
        ["XGROUP", "CREATE", "l", "a", "0"], ["XGROUP", "CREATE", "l", "b",
         "$"], ["XGROUP", "CREATE", "l", "c", "5"], ["XINFO", "GROUPS", "l"],
        ["XREADGROUP", "GROUP", "a", "x", "COUNT", "3", "STREAMS", "l", ">"],
        ["XINFO", "GROUPS", "l"], ["XDEL", "l", "7-0"],
        ["XINFO", "GROUPS", "l"],
        ["XREADGROUP", "GROUP", "a", "x", "COUNT", "3", "STREAMS", "l", ">"],
        ["XINFO", "GROUPS", "l"],
        ["XREADGROUP", "GROUP", "c", "x", "COUNT", "1", "STREAMS", "l", ">"],
        ["XREADGROUP", "GROUP", "a", "x", "STREAMS", "l", ">"],
        ["XINFO", "GROUPS", "l"], ["XDEL", "l", "1-0"],
        ["XINFO", "GROUPS", "l"], ["XTRIM", "l", "MAXLEN", "3"],
        ["XINFO", "GROUPS", "l"], ["XADD", "l", "11-0", "n", "11"],
        ["XINFO", "GROUPS", "l"], ["XGROUP", "SETID", "l", "b", "0"],
        ["XINFO", "GROUPS", "l"],
        ["XREADGROUP", "GROUP", "b", "x", "STREAMS", "l", ">"],
        ["XINFO", "GROUPS", "l"], ["XINFO", "STREAM", "l"],
    ]
    d.run(cmds)


def empty_consumer(d):
    """A consumer named "" is a consumer like any other."""
    d.run([
        ["XADD", "ec", "1-1", "f", "v"], ["XADD", "ec", "2-1", "f", "v"],
        ["XADD", "ec", "3-1", "f", "v"], ["XGROUP", "CREATE", "ec", "g", "0"],
        ["XREADGROUP", "GROUP", "g", "", "COUNT", "3", "STREAMS", "ec", ">"],
        ["XINFO", "CONSUMERS", "ec", "g"], ["XACK", "ec", "g", "1-1"],
        ["XINFO", "CONSUMERS", "ec", "g"], ["XPENDING", "ec", "g"],
        ["XCLAIM", "ec", "g", "other", "0", "2-1", "JUSTID"],
        ["XINFO", "CONSUMERS", "ec", "g"],
        ["XAUTOCLAIM", "ec", "g", "other", "99999999", "0", "JUSTID"],
        ["XCLAIM", "ec", "g", "", "99999999", "2-1", "JUSTID"],
        ["XCLAIM", "ec", "g", "", "0", "2-1", "JUSTID"],
        ["XINFO", "CONSUMERS", "ec", "g"], ["XPENDING", "ec", "g"],
        ["XGROUP", "DELCONSUMER", "ec", "g", ""],
        ["XINFO", "CONSUMERS", "ec", "g"], ["XPENDING", "ec", "g"],
    ])


async def main(t):
    need_redis()
    redis = Redis()
    with RespDaemon() as tk:
        d = Differ(t, tk.conn(name="tickd"), redis.conn(name="redis"),
            "streams")
        d.cmd("SET", "str", "x")
        for name, fn in [("XADD: ids, NOMKSTREAM, trimming options",
            xadd), ("XTRIM and trimming XADD, exact and ~", trim),
            ("XRANGE, XREVRANGE, XLEN, XDEL, XSETID", ranges),
            ("XREAD", xread),
            ("XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, "
             "XINFO", groups), ("consumer group entries-read and lag", lag),
            ('a consumer named ""', empty_consumer)]:
            fn(d)
            d.check(f"{name} reply as redis-server does")


run(main, 7)
