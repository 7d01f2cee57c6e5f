"""What a run started in a process of its own needs from its environment is checked before it
starts: `run --detach`, `resume --detach` (real subprocesses of the command) and a run started
from the cockpit (the real app under its pilot, a real run process) refuse a model whose key
variable is not set, and not one whose fallback's is. Scripted model server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from run_process_support import process_env, short_runtime_dir, stop_all


@pytest.fixture
def runtime():
    path = short_runtime_dir()
    yield path
    stop_all(path)  # a run a failing check let start ends with the test
    shutil.rmtree(path, ignore_errors=True)


def keyed_config(tmp_path: Path, url: str, fallback: bool = False) -> Path:
    """The pair team on the scripted server, its model's key in $TRIAL_KEY; with `fallback`, the
    model falls back to a second entry whose key is in $SPARE_KEY."""
    from headless_support import pair_toml

    text = pair_toml(url, 6, user='default_auto_reply = "go on"')
    text = text.replace('max_retries = 0\n', 'max_retries = 0\napi_key_env = "TRIAL_KEY"\n'
                        + ('fallback = ["spare"]\n' if fallback else ""), 1)
    if fallback:
        text = (f'[[models]]\nname = "spare"\nmodel = "scripted-model"\nbase_url = "{url}"\n'
                f'api_key_env = "SPARE_KEY"\nmax_retries = 0\n\n' + text)
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_detached_start_whose_model_key_is_not_set_is_refused_before_it_detaches(tmp_path: Path,
                                                                                    runtime: Path):
    """`run --detach` and `resume --detach` with a model whose `api_key_env` is not set: refused
    with exit 2 and the message a run gives for it, before any process starts, instead of
    "started in the background" and a run that dies a second later."""
    import re

    from run_process_support import stop_all, tuiagents

    from tuiagents.testing import Rule, Script, ScriptedServer

    env = process_env(tmp_path, runtime)
    env.pop("TRIAL_KEY", None)
    script = Script(rules=[Rule(agent="assistant", replies=["done TERMINATE"])])
    try:
        with ScriptedServer(script) as server:
            config = keyed_config(tmp_path, server.url)
            refused = tuiagents(env, "run", "--detach", "--config", str(config), "--task", "say hi")
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert "started in the background" not in refused.stdout
            assert "environment variable TRIAL_KEY is not set" in refused.stderr, refused.stderr
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
            assert not list(runtime.glob("*.run.json"))  # no process was started for it
            assert not list((tmp_path / "data").rglob("*.jsonl"))

            # a log of a finished run, made with the key; resumed without it
            made = tuiagents({**env, "TRIAL_KEY": "k-trial"}, "run", "--headless", "--approve", "all",
                             "--config", str(config), "--task", "say hi")
            assert made.returncode == 0, made.stdout + made.stderr
            log = re.search(r"Session log: (\S+)", made.stdout).group(1)
            again = tuiagents(env, "resume", log, "--detach", "--task", "once more")
            assert again.returncode == 2, again.stdout + again.stderr
            assert "environment variable TRIAL_KEY is not set" in again.stderr, again.stderr
            assert "in the background" not in again.stdout and not list(runtime.glob("*.run.json"))
    finally:
        stop_all(runtime)


def test_a_detached_start_is_not_refused_for_a_fallback_whose_key_is_not_set(tmp_path: Path, runtime: Path):
    """The model an agent starts with has its key; only its fallback's is missing: the run can
    work, so it starts, and answers."""
    from run_process_support import stop_all, tuiagents, wait_ps

    from tuiagents.testing import Rule, Script, ScriptedServer

    env = {**process_env(tmp_path, runtime), "TRIAL_KEY": "k-trial"}
    env.pop("SPARE_KEY", None)
    script = Script(rules=[Rule(agent="assistant", replies=["a draft"])])
    try:
        with ScriptedServer(script) as server:
            started = tuiagents(env, "run", "--detach", "--config", str(keyed_config(tmp_path, server.url, True)),
                                "--task", "say hi")
            assert started.returncode == 0, started.stdout + started.stderr
            run_id = started.stdout.split()[1]
            wait_ps(env, rf"{run_id}\s+pair\s+waiting\s+assistant")  # its model answered with the key it has
    finally:
        stop_all(runtime)


async def test_the_cockpit_says_why_a_run_it_would_start_has_no_key(tmp_path: Path, runtime: Path, monkeypatch):
    """The cockpit starts its runs through the same check: it shows why, and starts no process."""
    from tuiagents.app.tui import build_app
    from tuiagents.config import load_config
    from tuiagents.testing import Rule, Script, ScriptedServer
    from tuiagents.ui.screens.start_screens import ProblemScreen

    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRIAL_KEY", raising=False)
    with ScriptedServer(Script(rules=[Rule(agent="assistant", replies=["a draft"])])) as server:
        path = keyed_config(tmp_path, server.url)
        app = build_app(load_config(path), str(path), "pair", "say hi", own_process=True)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(300):
                if isinstance(app.screen, ProblemScreen):
                    break
                await pilot.pause(0.1)
            assert isinstance(app.screen, ProblemScreen)
            shown = " ".join(str(w.render()) for w in app.screen.query("*") if hasattr(w, "render"))
            assert "environment variable TRIAL_KEY is not set" in " ".join(shown.split()), shown
    assert not list(runtime.glob("*.run.json"))
