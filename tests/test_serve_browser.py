"""`tuiagents serve` in a real browser: Debian's chromium driven by Playwright.

The page without the token shows no app; the printed URL opens the cockpit in xterm.js; the key `a`
typed into the page approves the assistant's draft, and the run goes on to its next message; a
reload shows the same run (the one serve started), with everything so far. The
terminal's text is read from xterm.js's own buffer (its renderer draws on a canvas, so the DOM holds
no text): a script given to the page before textual-serve's loads notes the xterm Terminal objects as
they write, and `buffer.active` gives each row's text.

Skipped when chromium or Playwright is missing, unless TUIAGENTS_REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import FIRST_DRAFT, SECOND_DRAFT, Served, alive, cmdline, pair_config, start_serve, stop_all

from tuiagents.testing import Rule, Script, ScriptedServer

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TUIAGENTS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# Runs in the page before its own scripts: xterm's modules mark their exports with
# Object.defineProperty(exports, "__esModule"), which is how the Terminal class is found; its write()
# then records each terminal that writes. Nothing of textual-serve's page is changed.
FIND_TERMINALS = r"""
(() => {
  const exported = [];
  const define = Object.defineProperty;
  Object.defineProperty = function (o, k, d) {
    if (k === "__esModule") exported.push(o);
    return define.call(Object, o, k, d);
  };
  window.__terminals = [];
  document.addEventListener("DOMContentLoaded", () => {
    Object.defineProperty = define;
    for (const o of exported) {
      const T = o && o.Terminal;
      if (typeof T === "function" && T.prototype && typeof T.prototype.write === "function"
          && typeof T.prototype.loadAddon === "function") {
        const write = T.prototype.write;
        T.prototype.write = function (...args) {
          if (!window.__terminals.includes(this)) window.__terminals.push(this);
          return write.apply(this, args);
        };
      }
    }
  });
})();
"""
SCREEN_TEXT = r"""() => {
  const t = window.__terminals[0];
  if (!t) return "";
  const b = t.buffer.active, rows = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\n");
}"""


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("Playwright is not installed (pip install -e '.[test]')" if sync_playwright is None else
               None if Path(CHROMIUM).is_file() else f"chromium is not installed at {CHROMIUM} "
               "(apt-get install chromium, or set TUIAGENTS_CHROMIUM)")
    if missing:
        if os.environ.get("TUIAGENTS_REQUIRE_BROWSER"):
            pytest.fail(f"TUIAGENTS_REQUIRE_BROWSER is set but {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.fixture
def page() -> Iterator:
    """A page of a headless chromium, 1600×1000, that can read its terminal."""
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            tab = context.new_page()
            tab.add_init_script(FIND_TERMINALS)
            yield tab
        finally:
            browser.close()


def wait_for_screen(tab, *texts: str, timeout: float = 60.0) -> str:
    """Poll the page's terminal until it shows every one of `texts`; fail with what it shows."""
    end = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < end:
        shown = tab.evaluate(SCREEN_TEXT)
        if all(text in shown for text in texts):
            return shown
        time.sleep(0.2)
    pytest.fail(f"the page's terminal never showed {texts!r} within {timeout:g} s; it shows:\n{shown}")


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()[1:] if line.strip()]


def test_the_browser_needs_the_token_then_approves_a_draft_and_the_run_goes_on(page, tmp_path):
    script = Script(rules=[Rule(agent="assistant", turn=0, reply=FIRST_DRAFT),
                           Rule(agent="assistant", reply=SECOND_DRAFT)])
    with ScriptedServer(script) as server:
        config = pair_config(tmp_path, server.url)
        served: Served = start_serve(tmp_path, ["--", "run", "--config", str(config), "--team", "pair",
                                                "--task", "Say hello."])
        try:
            refused = page.goto(served.base + "/")
            assert refused is not None and refused.status == 401
            assert page.locator(".textual-terminal").count() == 0 and "token" in page.content()
            assert served.children() == [], "a page refused for want of a token started an app"

            page.goto(served.url)
            assert page.url == served.base + "/", "the token stays in the address bar"
            wait_for_screen(page, "Deliver assistant's message?", "Hello from the scripted assistant")
            [app] = served.children()

            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("a")
            wait_for_screen(page, "Second message after your approval")

            # A reload shows the same run, everything so far included: its app attaches to the run
            # serve started, and no second run (no second log) begins.
            run_id = re.search(r"Run ([0-9a-f]{12}) \(pair\) started", "".join(served.output)).group(1)
            page.reload()
            wait_for_screen(page, "Hello from the scripted assistant", "Second message after your approval",
                            "Deliver assistant's message?")
            deadline = time.monotonic() + 30
            while (alive(app) or len(served.children()) != 1) and time.monotonic() < deadline:
                time.sleep(0.2)
            [app] = served.children()
            assert cmdline(app)[3:5] == ["attach", run_id], cmdline(app)
            assert len(served.run_pids()) == 1 and len(list((tmp_path / "sessions").glob("*.jsonl"))) == 1

            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("a")
            wait_for_screen(page, "stopped: assistant said TERMINATE")
            served.wait_for_output(rf"Run {run_id} ended: assistant said TERMINATE")
            page.keyboard.press("q")
            deadline = time.monotonic() + 30
            while alive(app) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not alive(app), "q in the page did not end the app"

            [log] = (tmp_path / "sessions").glob("*.jsonl")
            decisions = [e for e in _events(log) if e["type"] == "decision_recorded"]
            assert [d["decision"]["kind"] for d in decisions][:2] == ["approve", "approve"]
            assert {d["decision"]["sender"]["client"] for d in decisions} == {"browser"}
            delivered = [e["message"]["content"] for e in _events(log) if e["type"] == "message_delivered"]
            assert FIRST_DRAFT in delivered and any("Second message" in c for c in delivered)
            for path in tmp_path.rglob("*"):  # no log, cache or config file holds the token
                if path.is_file():
                    assert served.token.encode() not in path.read_bytes(), path
        finally:
            code = served.stop(signal.SIGINT) if served.process.poll() is None else served.process.returncode
            stop_all(served)
    assert code == 0, "".join(served.output)
