"""Issue 18's whole story on one run, with real processes throughout.

A run started with `run --detach` in one tmux terminal outlives it; `ps` lists it as waiting; a
second terminal attaches and approves the assistant's draft; a browser, through `tuiagents serve --
attach ID`, approves its code; the code runs on a second Docker daemon that shares no files with
us (the work dir is copied in and out through the Docker API), and what it wrote comes back.
"""

from __future__ import annotations

import json
import re
import shutil
import signal

import pytest
from run_process_support import process_env, short_runtime_dir, stop_all, wait_ps
from serve_support import start_serve
from serve_support import stop_all as stop_serve
from test_e2e_tmux import EXITED, Terminal
from test_sandbox_remote import IMAGE, _left_on, second_daemon  # noqa: F401 - the daemon fixture
from test_serve_browser import page, wait_for_screen  # noqa: F401 - the browser fixture

from headless_support import pair_toml
from tuiagents.testing import Rule, ScriptedServer

pytestmark = [pytest.mark.tmux, pytest.mark.docker, pytest.mark.browser,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")]

CODE = "```python\n# filename: answer.py\nopen('answer.txt', 'w').write(str(sum(range(101))))\nprint('saved')\n```"


def test_one_run_outlives_its_terminal_is_approved_from_another_and_a_browser_and_runs_code_elsewhere(
        second_daemon, page, tmp_path):  # noqa: F811 - the fixtures
    runtime = short_runtime_dir()
    first, second = Terminal(tmp_path), Terminal(tmp_path)
    served = None
    rules = [Rule(agent="assistant", contains="exitcode: 0", reply="It is saved. TERMINATE"),
             Rule(agent="assistant", reply=f"Let me save it:\n\n{CODE}")]
    work_root = tmp_path / "work"
    try:
        with ScriptedServer(rules) as server:
            config = tmp_path / "config.toml"
            config.write_text(pair_toml(server.url, 6, user='code_execution = "docker"',
                                        extra=f'[docker]\nimage = "{IMAGE}"\nworkspace = "copy"\n'
                                              f'work_dir = "{work_root}"\n'))
            env = process_env(tmp_path, runtime) | {"DOCKER_HOST": second_daemon, "OPENAI_API_KEY": "sk-test-not-real"}

            first.start(["run", "--detach", "--config", str(config), "--team", "pair",
                         "--task", "Save the sum of 0..100."], env)
            shown = first.wait_for(lambda s: EXITED.search(s) is not None, timeout=90)
            assert EXITED.search(shown).group(1) == "0", shown
            run_id = re.search(r"Run ([0-9a-f]{12}) \(pair\)", shown).group(1)
            first.kill()  # the terminal that started it is gone; the run is not

            wait_ps(env, rf"{run_id}\s+pair\s+waiting\s+assistant")
            second.start(["attach", run_id], env)
            second.wait_for("Deliver assistant's message?")
            second.keys("a")
            second.wait_for("Run assistant's code")
            second.keys("q")  # leaves the run waiting for its code decision
            assert EXITED.search(second.wait_for(lambda s: EXITED.search(s) is not None)).group(1) == "0"
            wait_ps(env, rf"{run_id}\s+pair\s+waiting")

            served = start_serve(tmp_path, ["--", "attach", run_id], env=env)
            page.goto(served.url)
            wait_for_screen(page, "Run assistant's code")
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("y")
            wait_for_screen(page, "It is saved. TERMINATE", timeout=120)
            page.keyboard.press("a")
            wait_for_screen(page, "stopped")
            wait_ps(env, r"No live runs")  # a run that ended leaves the list
    finally:
        first.kill(), second.kill()
        if served is not None:
            served.stop(signal.SIGINT) if served.process.poll() is None else None
            stop_serve(served)
        stop_all(runtime)
        shutil.rmtree(runtime, ignore_errors=True)

    (answer,) = work_root.rglob("answer.txt")  # written on the other daemon, copied back here
    assert answer.read_text() == "5050"
    [log] = (tmp_path / "data" / "sessions").glob("*.jsonl")
    events = [json.loads(line) for line in log.read_text().splitlines()[1:] if line.strip()]
    [finished] = [e for e in events if e["type"] == "execution_finished"]
    assert finished["exit_code"] == 0
    clients = [e["decision"]["sender"]["client"] for e in events
               if e["type"] == "decision_recorded" and e["decision"].get("sender")]
    assert clients[0] != "browser" and "browser" in clients  # a terminal, then the browser
    assert _left_on(second_daemon) == ([], [])  # no container or volume left on it
