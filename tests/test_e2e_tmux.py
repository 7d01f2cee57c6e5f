"""End to end in a real terminal: tmux runs `tuiagents`, send-keys drives it like a person, and
capture-pane reads what the terminal shows.

(a) a two-agent team on the scripted server whose user proxy runs the assistant's code in the Docker
    sandbox: approve the draft, run the code with y, see the sandbox's output and the stop reason, quit,
    find the session log; (b) `tuiagents demo` through to "planner said TERMINATE", trying reject with
    feedback, inject, next speaker and the code confirmation on the way; (c) the first-run setup with
    nothing configured, onto an OpenAI-compatible URL, into a run.

Each test has its own tmux server (`tmux -L <unique>`), killed in a finally. Skipped without tmux;
the Docker parts skip without a daemon or image unless TUIAGENTS_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_demo import SANDBOX, docker_ready, isolated_env

from tuiagents.testing import Rule, Script, ScriptedServer

pytestmark = [pytest.mark.tmux, pytest.mark.skipif(shutil.which("tmux") is None,
                                                   reason="tmux is not installed (apt-get install tmux)")]
WIDTH, HEIGHT = 160, 48
EXITED = re.compile(r"\[tuiagents exited with (\d+)\]")


def tuiagents_command() -> list[str]:
    """The `tuiagents` console script of this Python (or `python -m tuiagents` without one)."""
    script = Path(sys.executable).parent / "tuiagents"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tuiagents"]


class Terminal:
    """One tmux server and session running a command at 160×48, driven with send-keys."""

    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"tuiagents-test-{uuid.uuid4().hex[:10]}"
        self.tmp_path = tmp_path

    def tmux(self, *args: str, check: bool = True) -> str:
        """Run a tmux command on this test's own server; returns its output."""
        done = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=30, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def start(self, args: list[str], env: dict[str, str]) -> None:
        """Start `tuiagents ARGS`; when it ends the shell prints its exit code and waits."""
        line = " ".join(shlex.quote(a) for a in [*tuiagents_command(), *args])
        shell = f"cd {shlex.quote(str(self.tmp_path))}; {line}; echo \"[tuiagents exited with $?]\"; sleep 600"
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "e2e",
                        "-x", str(WIDTH), "-y", str(HEIGHT), "sh", "-c", shell],
                       env=env, check=True, timeout=30)

    def screen(self) -> str:
        """What the terminal shows now."""
        return self.tmux("capture-pane", "-p", "-t", "e2e")

    def keys(self, *keys: str) -> None:
        """Press keys (tmux key names: Enter, Down, C-s, ...)."""
        for key in keys:
            self.tmux("send-keys", "-t", "e2e", key)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        """Type `text` literally, and wait until the screen shows it."""
        self.tmux("send-keys", "-t", "e2e", "-l", text)
        self.wait_for(text[:40], timeout=10)

    def dialog(self, title: str) -> str:
        """Wait for a dialog titled `title` (keys typed from here reach its input: the app holds
        them until the dialog has taken the focus)."""
        return self.wait_for(title)

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 45.0) -> str:
        """Poll the screen until it shows `what` (text, or a predicate); fail with the screen if not.

        The screen returned is the one a moment after `what` first showed, still showing it: the
        app paints a new panel over more than one refresh (its text, then its buttons), and a
        capture between the two would fail a test's next look for no fault of the app."""
        test = (lambda s: what in s) if isinstance(what, str) else what
        end = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < end:
            shown = self.screen()
            if test(shown):
                time.sleep(0.3)
                settled = self.screen()
                if test(settled):
                    return settled
                continue
            time.sleep(0.2)
        pytest.fail(f"the terminal never showed {what!r} within {timeout:g} s; it shows:\n{shown}")

    def kill(self) -> None:
        """Kill this test's tmux server (and tuiagents in it)."""
        self.tmux("kill-server", check=False)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """A private tmux server for the test, always killed afterwards."""
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.kill()


def quit_and_session_log(term: Terminal) -> Path:
    """Press q, wait for tuiagents to exit 0, and return the session log it printed."""
    term.keys("q")
    shown = term.wait_for(lambda s: EXITED.search(s) is not None)
    assert EXITED.search(shown).group(1) == "0", shown
    match = re.search(r"Session log: (\S+\.jsonl)", shown.replace("\n", ""))
    assert match, f"no session log printed:\n{shown}"
    return Path(match.group(1))


@pytest.mark.docker
def test_code_runs_in_the_sandbox_after_y_and_the_stop_reason_shows(terminal, tmp_path):
    docker_ready()
    script = Script(rules=[
        Rule(agent="assistant", contains="exitcode: 0", reply="The sandbox printed the sum.\n\nTERMINATE"),
        Rule(agent="assistant", reply="Let me compute it:\n\n```python\nprint(sum(range(1, 101)))\n```"),
    ])
    with ScriptedServer(script) as server:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[[models]]
name = "default"
model = "scripted-model"
base_url = "{server.url}"
max_retries = 0

[llm]
cache_seed = false

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
code_execution = "docker"

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "assistant"]
max_turns = 6

[docker]
image = "{SANDBOX}"
timeout = 60

[session]
dir = "{tmp_path / 'sessions'}"

[ui]
bell = false
""")
        terminal.start(["--config", str(config), "--team", "pair", "--task", "Sum 1..100 with Python code."],
                       isolated_env(tmp_path))
        terminal.wait_for("Deliver assistant's message?")
        terminal.keys("a")
        terminal.wait_for("Run assistant's code in the Docker sandbox")
        terminal.keys("y")
        terminal.wait_for(lambda s: "The sandbox printed the sum." in s and "Deliver assistant's message?" in s,
                          timeout=90)
        terminal.keys("a")
        shown = terminal.wait_for(lambda s: all(text in s for text in ("stopped: assistant said TERMINATE", "5050",
                                                                      "exit code 0")))
        assert "Deliver assistant's message?" not in shown
    log = quit_and_session_log(terminal)
    assert log.is_file() and log.parent == tmp_path / "sessions"
    assert "5050" in log.read_text()


def test_demo_reject_inject_next_speaker_then_terminate(terminal, tmp_path):
    try:
        docker_ready("tuiagents-sandbox:latest")
        docker = True
    except pytest.skip.Exception:
        docker = False
    terminal.start(["demo"], isolated_env(tmp_path, **({} if docker else {"DOCKER_HOST": "unix:///nonexistent.sock"})))
    shown = terminal.wait_for("Deliver planner's message?")
    assert "SCRIPTED DEMO" in shown and all(name in shown for name in ("user", "planner", "coder", "critic"))
    assert docker or "Docker is not available" in shown
    terminal.keys("a")
    terminal.wait_for("Deliver coder's message?")

    terminal.keys("r")  # reject with feedback: the coder writes a revised draft
    terminal.dialog("Reject coder's draft")
    terminal.type("Say that the data is inline.")
    terminal.keys("C-s")
    terminal.wait_for("Revised after your feedback")

    terminal.keys("a")
    if docker:
        terminal.wait_for("Run coder's code in the Docker sandbox")
        terminal.keys("y")
        output = ("warmest: Cairo", "exit code 0")
    else:  # no code is offered (the coder's pane said why when the run started): the critic says so
        output = ("The code did not run",)
    shown = terminal.wait_for(lambda s: "Deliver critic's message?" in s and all(text in s for text in output),
                              timeout=90)
    assert docker or "Run coder's code" not in shown

    terminal.keys("i")  # inject a message for everyone (the default target), queued for the next turn
    shown = terminal.dialog("Inject a message from you")
    assert re.search(r"To:\s+▊\s+all\s", shown), shown
    terminal.type("Also mention the coldest city.")
    terminal.keys("C-s")
    terminal.wait_for("Message for all queued for the next turn")

    terminal.keys("n")  # pick the next speaker
    terminal.dialog("Who speaks next?")
    terminal.keys("Down", "Enter")
    terminal.wait_for("next: planner (your pick)")
    terminal.keys("a")
    terminal.wait_for("Deliver planner's message?")
    terminal.keys("a")
    terminal.wait_for("stopped: planner said TERMINATE")
    log = quit_and_session_log(terminal)
    text = log.read_text()
    assert log.is_file() and "Also mention the coldest city." in text and "Say that the data is inline." in text


def test_demo_without_its_image_offers_the_sandbox_then_declined_runs_without_code(terminal, tmp_path):
    try:
        from tuiagents.execution.docker_client import connect_docker

        connect_docker().close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Docker daemon: {exc}")
    config = tmp_path / "config.toml"
    config.write_text('[docker]\nimage = "tuiagents-sandbox:does-not-exist"\n')
    terminal.start(["demo"], isolated_env(tmp_path, TUIAGENTS_CONFIG=str(config)))
    shown = terminal.wait_for("The demo's Docker sandbox is not ready")
    assert "Go on without running code [n]" in shown
    terminal.keys("n")
    shown = terminal.wait_for("Deliver planner's message?")
    # Said once, in the coder's pane (where the pane wraps it is not the point).
    coder_column = [line.split("▕")[2] for line in shown.splitlines() if line.count("▕") >= 3]
    coder_text = " ".join(" ".join(coder_column).split())
    assert coder_text.count("will not run") == 1, shown
    assert shown.count("will not") == 1, shown  # nowhere else on screen
    for agent in ("planner", "coder", "critic"):
        terminal.wait_for(f"Deliver {agent}'s message?")
        terminal.keys("a")
    shown = terminal.wait_for("Deliver planner's message?")
    assert "Run coder's code" not in shown
    terminal.keys("a")
    terminal.wait_for("stopped: planner said TERMINATE")
    quit_and_session_log(terminal)


def test_first_run_setup_onto_a_compatible_url_then_a_run(terminal, tmp_path):
    with ScriptedServer(Script(rules=[Rule(agent="assistant", reply="Hello from your own server.")])) as server:
        url = server.url
        terminal.start([], isolated_env(tmp_path))
        terminal.dialog("Welcome to tuiagents")
        terminal.keys("Down")  # the focus starts on the choices: the arrow picks the second one
        terminal.wait_for("Base URL")
        terminal.keys("Tab")
        terminal.type(server.url)
        terminal.keys("Tab")
        terminal.type("scripted-model")
        terminal.keys("C-t")
        terminal.wait_for("'scripted-model' is there")
        terminal.keys("C-s")
        terminal.dialog("what should the team do?")
        terminal.type("Say hello.")
        terminal.keys("C-s")
        terminal.wait_for("Hello from your own server.")
        terminal.keys("C-q")
        shown = terminal.wait_for(lambda s: EXITED.search(s) is not None)
    assert EXITED.search(shown).group(1) == "0" and "Session log: " in shown
    written = tmp_path / "config" / "config.toml"
    assert f'base_url = "{url}"' in written.read_text()
