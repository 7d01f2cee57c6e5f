"""End to end in real terminals: a run started with `run --detach` in one tmux session survives
that session being killed; `tuiagents attach` from a second session shows it, a key approves the
waiting draft and the run goes on; `ps` lists it as waiting before and after."""

from __future__ import annotations

import re
import shutil

import pytest
from run_process_support import process_env, short_runtime_dir, stop_all, tuiagents, wait_ps, write_config
from test_e2e_tmux import EXITED, Terminal

from tuiagents.testing import Rule, Script, ScriptedServer

pytestmark = [pytest.mark.tmux, pytest.mark.skipif(shutil.which("tmux") is None,
                                                   reason="tmux is not installed (apt-get install tmux)")]


def test_a_detached_run_outlives_its_terminal_and_is_approved_from_another(tmp_path):
    runtime = short_runtime_dir()
    first, second = Terminal(tmp_path), Terminal(tmp_path)
    script = Script(rules=[Rule(agent="assistant", replies=["Draft one from the assistant.",
                                                            "Draft two, after your approval.", "done"])])
    try:
        with ScriptedServer(script) as server:
            env = process_env(tmp_path, runtime)
            config = write_config(tmp_path, server.url)
            first.start(["run", "--detach", "--config", str(config), "--task", "say hi"], env)
            shown = first.wait_for(lambda s: EXITED.search(s) is not None, timeout=90)
            assert EXITED.search(shown).group(1) == "0", shown
            run_id = re.search(r"Run ([0-9a-f]{12}) \(pair\)", shown).group(1)
            first.kill()  # the terminal that started it is gone

            wait_ps(env, rf"{run_id}\s+pair\s+waiting\s+assistant")
            second.start(["attach", run_id], env)
            second.wait_for("Draft one from the assistant.")
            second.wait_for("Waiting for you")
            second.keys("a")
            second.wait_for("Draft two, after your approval.")
            assert "approved by you" in second.wait_for("approved by you")
            second.keys("q")  # leaves the run going
            shown = second.wait_for(lambda s: EXITED.search(s) is not None)
            assert EXITED.search(shown).group(1) == "0" and f"tuiagents attach {run_id}" in shown.replace("\n", "")
            wait_ps(env, rf"{run_id}\s+pair\s+waiting\s+assistant")
            stopped = tuiagents(env, "ps")
            assert run_id in stopped.stdout
    finally:
        first.kill(), second.kill()
        stop_all(runtime)
        shutil.rmtree(runtime, ignore_errors=True)
