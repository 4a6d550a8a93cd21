"""
browser_test.py: drives the web client of www/ in headless Chromium through
Selenium, as a person would: controls are found by their accessible names
(the ones issue 18 and tickd-protocol(7) WEB CLIENT promise), never by ids.

Each Browser is one Chromium with its own profile directory, so two of
them are two independent people; quitting one and starting another on the
same profile is closing and reopening the page.  Screenshots of failing
steps go to the test's log directory, SHOTS.
"""

import os
import re
import shutil
import sys
import tempfile

TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
WWW = os.path.join(TOP_SRCDIR, "www")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1100,700"]


def skip_unless_browser():
    """Exit 77 (a TAP skip) with the reason when no browser can run."""
    why = None
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None:
        why = "chromium is not installed (Debian: chromium)"
    elif driver is None:
        why = "chromedriver is not installed (Debian: chromium-driver)"
    else:
        try:
            import selenium  # noqa: F401
        except ImportError:
            why = "python3-selenium is not installed"
    if why:
        print(f"1..0 # SKIP {why}")
        sys.exit(77)


skip_unless_browser()

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException, TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def shots_dir(script):
    """Where screenshots of failing steps go: next to the test's log."""
    base = os.path.splitext(os.path.basename(script))[0]
    top = os.environ.get("TOP_BUILDDIR") or "."
    d = os.path.join(top, "tests", "e2e", f"{base}.shots")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, exist_ok=True)
    return d


class Browser:
    """One headless Chromium on a profile directory that outlives it."""

    def __init__(self, name, url, profile=None, logdir=None):
        self.name = name
        self.url = url
        self.profile = profile or tempfile.mkdtemp(
            prefix=f"tickd-chromium-{name}-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium")
        for f in FLAGS:
            opts.add_argument(f)
        opts.add_argument(f"--user-data-dir={self.profile}")
        self.log = os.path.join(logdir or self.profile,
            f"chromedriver-{name}.log")
        self.driver = webdriver.Chrome(options=opts, service=Service(
            shutil.which("chromedriver"), log_path=self.log))
        self.driver.set_page_load_timeout(30)
        self.driver.get(url)

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass

    def remove_profile(self):
        shutil.rmtree(self.profile, ignore_errors=True)

    def shot(self, path):
        try:
            self.driver.save_screenshot(path)
        except WebDriverException:
            pass

    def wait(self, cond, timeout=15, what="a condition"):
        """cond(driver) until truthy (its value), else Failure-like error."""
        def safe(d):
            try:
                return cond(d)
            except (StaleElementReferenceException, WebDriverException):
                return None
        try:
            return WebDriverWait(self.driver, timeout, 0.1).until(safe)
        except TimeoutException:
            raise AssertionError(f"{self.name}: timed out waiting for "
                f"{what}") from None

    def named(self, role, name, timeout=15):
        """The visible element of an ARIA role with that accessible name."""
        tags = {"textbox": "input", "button": "button", "listitem": "li",
            "combobox": "select", "checkbox": "input"}[role]

        def find(d):
            for e in d.find_elements(By.TAG_NAME, tags):
                if e.is_displayed() and e.aria_role == role and \
                        e.accessible_name == name:
                    return e
            return None
        return self.wait(find, timeout, f'{role} "{name}"')

    def fill(self, label, text):
        e = self.named("textbox", label)
        e.clear()
        e.send_keys(text)
        return e

    def press(self, name):
        self.named("button", name).click()

    def register(self, user, password):
        self.fill("User name", user)
        self.fill("Password", password)
        self.press("Register")
        self.wait_online()

    def wait_online(self, timeout=15):
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR,
            "[role=status]").text == "online", timeout, "status online")

    def open_chat(self, name):
        self.fill("Chat with", name)
        self.press("Open chat")

    def send(self, text):
        self.fill("Message", text).send_keys(Keys.ENTER)

    def log_items(self):
        """[(text of the body, status or None)] of the conversation log."""
        log = self.driver.find_element(By.CSS_SELECTOR, "[role=log]")
        out = []
        for li in log.find_elements(By.TAG_NAME, "li"):
            if "event" in (li.get_attribute("class") or ""):
                continue
            body = li.find_elements(By.CLASS_NAME, "body")
            tick = li.find_elements(By.CLASS_NAME, "ticks")
            out.append((body[0].text if body else "",
                tick[0].get_attribute("title") if tick else None))
        return out

    def bodies(self):
        return [b for b, _ in self.log_items()]

    def status_of(self, body):
        for b, s in self.log_items():
            if b == body:
                return s
        return None

    def wait_status(self, body, status, timeout=15):
        self.wait(lambda d: self.status_of(body) == status, timeout,
            f'"{body}" to be {status}')

    def record_statuses(self):
        """From now on, every status each own message shows is recorded in
        the page (a MutationObserver), so fast transitions are not missed."""
        self.driver.execute_script("""
            window.__ticks = {};
            const note = (li) => {
                const b = li.querySelector('.body');
                const s = li.getAttribute('data-status');
                if (!b || !s) return;
                const seq = window.__ticks[b.textContent] ||= [];
                if (seq[seq.length - 1] !== s) seq.push(s);
            };
            const list = document.querySelector('[role=log] ul');
            new MutationObserver((ms) => ms.forEach((m) =>
                m.addedNodes.forEach((n) => n.nodeType === 1 && note(n))))
                .observe(list, { childList: true });
        """)

    def statuses(self, body):
        return self.driver.execute_script(
            "return (window.__ticks || {})[arguments[0]] || [];", body)

    def typing_text(self):
        return self.driver.find_element(By.ID, "typing").text

    def click_chat(self, name, timeout=15):
        """Opens the chat named name from the chat list, once it is there
        (the list is redrawn as items arrive: a stale item is retried)."""
        def click(d):
            li = self.chat_item(name)
            if li is None:
                return None
            li.find_element(By.TAG_NAME, "button").click()
            return d.find_element(By.ID, "conv-title").text == name
        self.wait(click, timeout, f"to open the chat {name}")

    def chat_item(self, name):
        """The listitem of the chat list named name, or None."""
        for li in self.driver.find_elements(By.CSS_SELECTOR,
                "[aria-label=Chats] li"):
            if li.accessible_name == name:
                return li
        return None


class Steps:
    """Wraps a Tap: a failed check saves a screenshot of every browser."""

    def __init__(self, t, shots):
        self.t = t
        self.shots = shots
        self.browsers = []

    def ok(self, cond, desc, diag=None):
        if not cond:
            self.snap(desc)
        return self.t.ok(cond, desc, diag)

    def snap(self, desc):
        slug = re.sub(r"[^a-z0-9]+", "-", desc.lower())[:50].strip("-")
        for b in self.browsers:
            path = os.path.join(self.shots, f"{self.t.n + 1:02d}-{slug}-"
                f"{b.name}.png")
            b.shot(path)
            self.t.diag(f"screenshot: {path}")

    def step(self, desc, fn):
        """Runs fn(); ok if it returns truthy without raising."""
        try:
            got = fn()
            err = None
        except AssertionError as e:
            got, err = None, str(e)
        except WebDriverException as e:
            got, err = None, f"webdriver: {e.msg}"
        return self.ok(bool(got) if err is None else False, desc, err)

    def add(self, b):
        self.browsers.append(b)
        return b

    def drop(self, b):
        if b in self.browsers:
            self.browsers.remove(b)
        b.quit()


async def run_in_browsers(t, shots, scenario):
    """Runs scenario(steps, url, daemon) against a tickd serving www/, then
    closes every browser it opened and removes its profile, whatever
    happened."""
    from tickd_test import Daemon
    s = Steps(t, shots)
    with Daemon(web_root=f'"{os.path.abspath(WWW)}"') as d:
        url = f"http://127.0.0.1:{d.port}/"
        try:
            await scenario(s, url, d)
        finally:
            for b in list(s.browsers):
                s.drop(b)
                b.remove_profile()
