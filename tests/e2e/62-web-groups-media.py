#!/usr/bin/python3
# The web client's groups (tickd-protocol(7) GROUPS) and attachments (MEDIA) in
# three headless Chromium profiles (issue 18): alice makes a group of three,
# her message is seen by bob and carol and her tick turns read; the members
# dialog removes and re-adds a member; carol leaves; an image sent by alice
# shows inline in bob's window.  It needs a server with groups and media, so it
# is not in TESTS until those land (see Makefile.am).

import os
import struct
import sys
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from browser_test import Browser, run_in_browsers, shots_dir  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SHOTS = shots_dir(__file__)


def png(path, w=24, h=16):
    """A small valid PNG: a red and blue stripe."""
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + \
            struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    rows = b"".join(b"\0" + (b"\xff\0\0" if y < h // 2 else b"\0\0\xff") * w
        for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB",
            w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) +
            chunk(b"IEND", b""))


async def main(t):
    await run_in_browsers(t, SHOTS, scenario)


def events(b):
    return [li.text for li in b.driver.find_elements(By.CSS_SELECTOR,
        "[role=log] li.event")]


async def scenario(s, url, d):
    alice = s.add(Browser("alice", url, logdir=SHOTS))
    bob = s.add(Browser("bob", url, logdir=SHOTS))
    carol = s.add(Browser("carol", url, logdir=SHOTS))

    s.step("alice, bob and carol register", lambda: (
        alice.register("alice", "alice secret"),
        bob.register("bob", "bob secret"),
        carol.register("carol", "carol secret")))

    def create():
        alice.press("New group")
        alice.fill("Group title", "Trio")
        alice.fill("Members", "bob, carol")
        alice.press("Create group")
        alice.wait(lambda dr: alice.chat_item("Trio"), 10,
            "Trio in alice's chat list")
        return alice.driver.find_element(By.ID, "conv-title").text == "Trio"
    s.step("alice creates the group Trio with bob and carol (New group)",
        create)

    def listed():
        for b in (bob, carol):
            b.wait(lambda dr, b=b: b.chat_item("Trio"), 15,
                "Trio in the chat list")
        return True
    s.step("bob and carol get a listitem named Trio", listed)

    def seen_by_all():
        alice.record_statuses()
        alice.send("hello trio")
        for b in (bob, carol):
            b.click_chat("Trio")
            b.wait(lambda dr, b=b: "hello trio" in b.bodies(), 15,
                "hello trio")
        alice.wait_status("hello trio", "read", 20)
        return True
    s.step("alice's group message reaches bob and carol; once both read "
        "it her tick turns read", seen_by_all)
    seq = alice.statuses("hello trio")
    s.ok(seq[-3:] == ["sent", "delivered", "read"],
        "the group tick went sent -> delivered -> read", seq)

    def members():
        alice.press("Members")
        alice.press("Remove carol")
        carol.wait(lambda dr: any("removed carol" in e for e in
            events(carol)), 15, "carol to see her removal")
        alice.fill("Add member", "carol")
        alice.press("Add")
        carol.wait(lambda dr: any("added carol" in e for e in
            events(carol)), 15, "carol to see she was added again")
        alice.press("Make bob admin")
        bob.wait(lambda dr: any("bob is now admin" in e for e in
            events(bob)), 15, "bob to see he is admin")
        alice.press("Close")
        return True
    s.step("the members dialog removes carol, adds her again and makes bob "
        "admin; the others see each event", members)

    def leave():
        carol.press("Members")
        carol.press("Leave group")
        alice.wait(lambda dr: any("carol left" in e for e in events(alice)),
            15, "alice to see carol leave")
        return True
    s.step("carol leaves (Leave group) and alice sees it", leave)

    def image():
        path = os.path.join(SHOTS, "stripes.png")
        png(path)
        alice.open_chat("bob")
        field = alice.driver.find_element(By.CSS_SELECTOR,
            "input[type=file]")
        alice.driver.execute_script("arguments[0].hidden = false;", field)
        field.send_keys(path)
        bob.click_chat("alice")
        return bob.wait(lambda dr: dr.execute_script("""
            const i = document.querySelector('[role=log] img');
            return i && i.complete && i.naturalWidth === 24 &&
                i.src.startsWith('blob:');"""), 20,
            "the image inline in bob's log")
    s.step("an image alice attaches shows inline in bob's window", image)


run(main, 8, timeout=240 if VALGRIND else 150)
