#!/usr/bin/python3
# The web client of www/ in two headless Chromium profiles (issue 18):
# alice and bob register, chat live with ticks sent -> delivered -> read,
# bob closes his page while alice sends three, reopens and sees each once in
# order, after a reload too; the typing indicator comes and goes.
# TICKD_SCREENSHOT=path saves alice's window of the chat there (the README
# picture).

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tickd_test import *  # noqa: E402,F403
from browser_test import Browser, run_in_browsers, shots_dir  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SHOTS = shots_dir(__file__)
THREE = ["one", "two", "three"]


async def main(t):
    await run_in_browsers(t, SHOTS, scenario)


def in_order_once(bodies, want):
    """Every body of want appears exactly once, in want's order."""
    picked = [b for b in bodies if b in want]
    return picked == want


async def scenario(s, url, d):
    alice = s.add(Browser("alice", url, logdir=SHOTS))
    bob = s.add(Browser("bob", url, logdir=SHOTS))

    s.step("alice and bob register from the login form (User name, "
        "Password, Register) and come online", lambda: (
            alice.register("alice", "alice secret"),
            bob.register("bob", "bob secret")))

    def first():
        alice.open_chat("bob")
        alice.record_statuses()
        alice.send("hello bob")
        alice.wait_status("hello bob", "delivered")
        return True
    s.step("alice sends from Message with Enter; bob's online client "
        "takes it: delivered", first)

    def live():
        item = bob.wait(lambda d: bob.chat_item("alice"), 15,
            "a chat named alice in bob's list")
        return "1" in item.text
    s.step("bob's chat list shows a listitem named alice with 1 unread",
        live)

    def bob_reads():
        bob.click_chat("alice")
        bob.wait(lambda d: "hello bob" in bob.bodies(), 10,
            "hello bob in bob's log")
        alice.wait_status("hello bob", "read")
        return True
    s.step("bob opens the chat and sees the message; alice's tick turns "
        "read", bob_reads)
    seq = alice.statuses("hello bob")
    s.ok(seq[-3:] == ["sent", "delivered", "read"] and
        set(seq) <= {"sending", "pending", "sent", "delivered", "read"},
        "alice's ticks went sent -> delivered -> read, in that order",
        f"statuses seen: {seq}")

    def reply():
        bob.send("hi alice!")
        alice.wait(lambda d: "hi alice!" in alice.bodies(), 10,
            "bob's reply in alice's log")
        return alice.status_of("hi alice!") is None
    s.step("bob replies and alice sees it live (no ticks on others' "
        "messages)", reply)

    def typing():
        bob.fill("Message", "typing something")
        alice.wait(lambda d: alice.typing_text() == "bob is typing…", 10,
            "alice to see bob typing")
        return True
    s.step("bob typing shows \"bob is typing…\" to alice", typing)

    def typing_gone():
        alice.wait(lambda d: alice.typing_text() == "", 15,
            "the typing indicator to go")
        bob.fill("Message", "")
        return True
    s.step("once bob stops typing the indicator goes", typing_gone)

    def presence_online():
        return alice.wait(lambda dr: dr.find_element(By.ID,
            "presence").text == "online", 10, "bob shown online")
    s.step("alice's conversation header shows bob online", presence_online)

    profile = bob.profile
    s.drop(bob)

    def presence_gone():
        return alice.wait(lambda dr: dr.find_element(By.ID,
            "presence").text.startswith("last seen "), 15,
            "bob shown last seen")
    s.step("once bob closed his page alice sees \"last seen\"",
        presence_gone)

    def offline_three():
        for text in THREE:
            alice.send(text)
        for text in THREE:
            alice.wait_status(text, "sent")
        time.sleep(1)
        return all(alice.status_of(x) == "sent" for x in THREE)
    s.step("bob closed his page; alice sends three, each sent but not "
        "delivered", offline_three)

    bob = s.add(Browser("bob", url, profile=profile, logdir=SHOTS))

    def reopened():
        bob.wait_online()
        bob.wait(lambda d: in_order_once(bob.bodies(),
            ["hello bob", "hi alice!"] + THREE), 20,
            "all messages in bob's log")
        return True
    s.step("bob reopens the page (same profile): logged in, the three "
        "arrive", reopened)
    b = bob.bodies()
    s.ok(in_order_once(b, ["hello bob", "hi alice!"] + THREE) and
        len(b) == 5, "bob sees every message exactly once, in order", b)

    def read_three():
        for text in THREE:
            alice.wait_status(text, "read", 20)
        return True
    s.step("bob's open chat marks the three read: alice's ticks turn read",
        read_three)

    bob.driver.refresh()
    def reloaded():
        bob.wait_online()
        bob.wait(lambda d: len(bob.bodies()) >= 5, 15, "history after reload")
        time.sleep(1)
        return True
    s.step("bob reloads the page", reloaded)
    b = bob.bodies()
    s.ok(in_order_once(b, ["hello bob", "hi alice!"] + THREE) and
        len(b) == 5, "after the reload bob still sees each message once, "
        "in order, from IndexedDB", b)

    alice.driver.refresh()
    def alice_reloaded():
        alice.wait_online()
        alice.wait(lambda d: len(alice.bodies()) >= 5, 15,
            "alice's history after reload")
        return [alice.status_of(x) for x in ["hello bob"] + THREE] == \
            ["read"] * 4
    s.step("alice's history and read ticks survive her reload too",
        alice_reloaded)

    def block_unblock():
        alice.press("Block")
        alice.named("button", "Unblock")
        alice.press("Unblock")
        alice.named("button", "Block")
        return alice.driver.find_element(By.CSS_SELECTOR,
            "[role=alert]").text == ""
    s.step("Block turns into Unblock and back, without an error",
        block_unblock)

    def settings():
        alice.press("Settings")
        alice.named("checkbox", "Send read receipts").click()
        alice.press("Save")
        time.sleep(1)
        return alice.driver.find_element(By.CSS_SELECTOR,
            "[role=alert]").text == ""
    s.step("Settings saves read receipts off without an error", settings)

    shot = os.environ.get("TICKD_SCREENSHOT")
    if shot:
        alice.shot(shot)
        s.t.diag(f"screenshot of the chat: {shot}")


run(main, 19, timeout=240 if VALGRIND else 150)
