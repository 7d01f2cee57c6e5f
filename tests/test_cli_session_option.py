"""`--session FILE` is honoured wherever `--help` offers it: before the subcommand, after it, and
for a run in the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.app.cli import build_parser
from tuiagents.app.tui import build_app
from tuiagents.testing import Rule, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("before", [True, False])
def test_headless_run_writes_the_session_named_before_or_after_the_command(tmp_path, before):
    log = tmp_path / "logs" / "mine.jsonl"
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path / "data"), "OPENAI_API_KEY": "sk-test-not-real"}
    env.pop("TUIAGENTS_CONFIG", None)
    with ScriptedServer([Rule(agent="assistant", reply="Done. TERMINATE")]) as server:
        env["OPENAI_BASE_URL"] = server.url
        run = ["run", "--headless", "--config", str(ROOT / "config.toml.example"), "--team", "pair",
               "--task", "hi", "--approve", "all"]
        argv = ["--session", str(log), *run] if before else [*run, "--session", str(log)]
        done = subprocess.run([sys.executable, "-m", "tuiagents", *argv], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert log.exists() and '"run_started"' in log.read_text()
    assert not (tmp_path / "data" / "sessions").exists() or not list((tmp_path / "data" / "sessions").glob("*.jsonl"))


def test_options_given_before_run_are_kept():
    args = build_parser().parse_args(["--team", "pair", "--task", "t", "--session", "x.jsonl", "run"])
    assert (args.team, args.task, args.session) == ("pair", "t", "x.jsonl")
    args = build_parser().parse_args(["run", "--team", "g"])
    assert args.team == "g" and args.session is None


def test_the_app_logs_its_run_to_the_session_given(tmp_path, make_config):
    config = make_config(agents=[{"name": "assistant", "kind": "assistant", "model": "default"},
                                 {"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"}],
                         teams=[{"name": "pair", "kind": "two_agent", "agents": ["user", "assistant"]}])
    log = tmp_path / "app.jsonl"
    app = build_app(config, None, "pair", "hi", "ask", session=log)
    run = app.run_factory("pair", "hi")
    try:
        assert Path(run.session_path) == log
    finally:
        import asyncio
        asyncio.run(run.aclose())
