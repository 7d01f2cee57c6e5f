"""Detach tells the truth about a run asked to stop: `y` (code runs in the sandbox), `s`, then `d`
pressed at once used to leave with "Run … goes on in its own process. Come back with: tuiagents
attach …" though the run was stopping. Real run process, real socket, real Docker, Textual pilot."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
from headless_support import pair_toml
from run_process_support import short_runtime_dir, stop_all
from test_demo import SANDBOX, docker_ready
from test_ui_attached import pending_content, until

from tuiagents.config import load_config
from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule, Script, ScriptedServer

SIZE = (160, 48)
SLOW_CODE = "Running it:\n\n```python\nimport time\ntime.sleep(30)\nprint('slept')\n```"


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """Runtime, data and config dirs of the test's own; every run left is stopped after it."""
    folder = short_runtime_dir()
    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIAGENTS_CONFIG_DIR", str(tmp_path / "cfg"))
    yield folder
    stop_all(folder)
    shutil.rmtree(folder, ignore_errors=True)


def code_waiting(app) -> bool:
    current = app.cockpit.current_request() if app.cockpit is not None else None
    return current is not None and current.request.kind == RequestKind.CODE


@pytest.mark.parametrize("leave", ["d", "q"])
async def test_d_or_q_right_after_s_while_code_runs_does_not_say_the_run_goes_on(tmp_path, runtime, leave):
    from tuiagents.app.tui import build_app

    docker_ready()
    script = Script(rules=[Rule(agent="assistant", contains="exitcode", reply="TERMINATE"),
                           Rule(agent="assistant", reply=SLOW_CODE)])
    with ScriptedServer(script) as server:
        path = tmp_path / "config.toml"
        path.write_text(pair_toml(server.url, 6, user='code_execution = "docker"',
                                  extra=f'[docker]\nimage = "{SANDBOX}"\ntimeout = 60\n'))
        app = build_app(load_config(path), str(path), "pair", "sleep a while", own_process=True)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: pending_content(app) == SLOW_CODE, "the draft with code", timeout=60)
            await pilot.press("a")
            await until(pilot, lambda: code_waiting(app), "the code to approve", timeout=60)
            run_id = app.cockpit.handle.run_id
            # as fast as keys come: the run is still killing the block. q, which refuses to leave a
            # running run, no longer says "press s to stop it first": it leaves as d does
            await pilot.press("y", "s", leave)
            await until(pilot, lambda: not app.is_running, f"the view to leave on {leave}", timeout=60)
        note = app.exit_note or ""
        assert f"Run {run_id} is stopping (you asked it to stop)" in note, note
        assert "goes on in its own process" not in note and "tuiagents attach" not in note
        assert "tuiagents sessions" in note
        app.remote_handle.close()
        # and the run did stop: no live run is left once the block is killed
        from tuiagents.session.live_runs import survey

        end = time.monotonic() + 60
        while (runs := await asyncio.to_thread(survey)) and time.monotonic() < end:
            await asyncio.sleep(0.2)
        assert not runs
