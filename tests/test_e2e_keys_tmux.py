"""Text typed right after a dialog's key, in a real terminal: one write, and a stopped process.

tmux runs `tuiagents` on the scripted server; `send-keys -l` writes the dialog's key and the text
in one write (what a paste or a fast typist gives the app in one read), or the process is stopped
(SIGSTOP) while the key and the first letters come, 30 ms apart, and continued (SIGCONT) while
the rest come. Either way the dialog must show the text, whole and in order, in its text box.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from headless_support import pair_toml
from test_demo import isolated_env
from test_e2e_tmux import Terminal, terminal  # noqa: F401 - the fixture

from tuiagents.testing import Rule, Script, ScriptedServer

pytestmark = pytest.mark.tmux

TYPED = "hello world, every key"  # e, r, w and i: controls, had the cockpit taken them
#: key -> (the dialog's title, what its text box shows after the typing)
MESSAGE_DIALOGS = {
    "i": ("Inject a message from you", TYPED),
    "r": ("Reject coder's draft", TYPED),
    "e": ("Edit coder's draft", "Draft." + TYPED),
}
REPLY_DIALOG = {"w": ("Reply as you, in coder's turn", TYPED)}


def _config(tmp_path: Path, url: str, coder_mode: str | None) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(pair_toml(
        url, 4, user="", assistant="coder",
        assistant_lines=f'human_input_mode = "{coder_mode}"' if coder_mode else "",
        after=f'\n[session]\ndir = "{tmp_path / "sessions"}"\n\n[ui]\nbell = false\n'))
    return config


def _app_pid(term: Terminal) -> int:
    """The tuiagents process: the child of the pane's shell."""
    shell = term.tmux("display-message", "-p", "-t", "e2e", "#{pane_pid}").strip()
    end = time.monotonic() + 10
    while time.monotonic() < end:
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    pytest.fail("tuiagents did not start in the pane")


def _send_in_one_write(term: Terminal, key: str) -> None:
    term.tmux("send-keys", "-t", "e2e", "-l", key + TYPED)


def _send_while_stopped(term: Terminal, key: str) -> None:
    """Stop the app, press the key and type 30 ms apart; continue it 0.4 s in, mid-text."""
    pid = _app_pid(term)
    os.kill(pid, signal.SIGSTOP)
    stopped = True
    try:
        start = time.monotonic()
        for ch in key + TYPED:
            term.tmux("send-keys", "-t", "e2e", "-l", ch)
            time.sleep(0.03)
            if stopped and time.monotonic() - start > 0.4:
                os.kill(pid, signal.SIGCONT)
                stopped = False
    finally:
        if stopped:
            os.kill(pid, signal.SIGCONT)


def _shown_in_a_box(screen: str, text: str) -> bool:
    """`text` at the start of a line of a text box (right of its tall left border)."""
    return any(f"▊ {text}" in line for line in screen.splitlines())


@pytest.mark.parametrize("send", [_send_in_one_write, _send_while_stopped], ids=["one-write", "sigstop"])
@pytest.mark.parametrize("dialogs, coder_mode, waits_for", [
    (MESSAGE_DIALOGS, None, "Deliver coder's message?"),
    (REPLY_DIALOG, "ALWAYS", "Reply… [w]"),
], ids=["i-r-e", "w"])
def test_text_typed_with_a_dialog_key_lands_in_the_dialog(terminal, tmp_path, send, dialogs, coder_mode,
                                                           waits_for):
    script = Script(rules=[Rule(agent="coder", reply="Draft."), Rule(agent="user", reply="ok")])
    with ScriptedServer(script) as server:
        config = _config(tmp_path, server.url, coder_mode)
        terminal.start(["--config", str(config), "--team", "pair", "--task", "Say hello"], isolated_env(tmp_path))
        terminal.wait_for(waits_for)
        for key, (title, expected) in dialogs.items():
            send(terminal, key)
            shown = terminal.wait_for(lambda s: title in s and expected in s, timeout=20)
            assert _shown_in_a_box(shown, expected), shown
            terminal.keys("Escape")
            terminal.wait_for(lambda s: title not in s and waits_for in s, timeout=20)
