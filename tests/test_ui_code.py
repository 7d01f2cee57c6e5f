"""Pilot tests of code confirmation: run, skip, edit then run, always allow, cancel.

The user proxy runs code with the `local` executor (no Docker needed); the coder's replies come from
the scripted model server.
"""

from __future__ import annotations

import os

import pytest
from textual.widgets import TextArea
from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Rule
from tuiagents.ui.screens.edit_screen import EditScreen

CODE = "Run this:\n\n```python\nprint(6 * 7)\n```"


def code_app(server, make_config, tmp_path, coder_replies, max_turns=3):
    server.load([Rule(agent="coder", replies=coder_replies), Rule(agent="user", reply="Thanks.")])
    return make_app(pair_config(make_config, code="local", max_turns=max_turns), "pair", "Compute", tmp_path)


async def approve_draft_then_wait_code(pilot, app):
    await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
    await pilot.press("a")
    return await wait_until(pilot, lambda: waiting(app, RequestKind.CODE), what="code request")


def exec_messages(app):
    return [m for m in app.cockpit.run.transcript if m.origin == "execution"]


async def test_code_confirmation_shows_code_language_and_executor_then_runs(server, make_config, tmp_path):
    app = code_app(server, make_config, tmp_path, [CODE, "Done."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.pause()
        shown = screen_text(app)
        assert "code from coder" in shown and "UNSANDBOXED" in shown
        assert "print(6 * 7)" in shown and "python" in shown
        assert "local · UNSANDBOXED on the host · 20 s" in shown  # the executor and its limits
        assert "Run [y]" in shown and "Skip [x]" in shown and "Always allow coder's python [A]" in shown
        await pilot.press("y")
        await wait_until(pilot, lambda: exec_messages(app), what="execution result")
        assert "42" in exec_messages(app)[0].content
        pane = app.cockpit.panes["coder"].transcript.text()
        await wait_until(pilot, lambda: "exit code 0" in app.cockpit.panes["coder"].transcript.text(),
                         what="exit code under the block")
        pane = app.cockpit.panes["coder"].transcript.text()
        assert "42" in pane
        assert "exit code 0" in app.cockpit.panes["user"].transcript.text()  # the runner's pane shows it too


async def test_enter_runs_code(server, make_config, tmp_path):
    app = code_app(server, make_config, tmp_path, [CODE, "Done."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        app.set_focus(None)
        await pilot.press("enter")
        await wait_until(pilot, lambda: exec_messages(app), what="execution result")


async def test_skip_does_not_run_the_code(server, make_config, tmp_path):
    app = code_app(server, make_config, tmp_path, [CODE, "Ok, skipped."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.press("x")
        await wait_until(pilot, lambda: exec_messages(app), what="skip result")
        assert "not run: skipped by you" in exec_messages(app)[0].content
        assert "42" not in exec_messages(app)[0].content
        await wait_until(pilot, lambda: "skipped by you" in app.cockpit.panes["coder"].transcript.text(),
                         what="skipped mark")


async def test_edit_then_run_runs_the_edited_code(server, make_config, tmp_path):
    app = code_app(server, make_config, tmp_path, [CODE, "Done."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditScreen), what="code editor")
        area = app.screen.query_one(TextArea)
        assert area.text.strip() == "print(6 * 7)"
        area.text = "print(6 * 8)\n"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "+print(6 * 8)" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: exec_messages(app), what="edited execution")
        assert "48" in exec_messages(app)[0].content
        await wait_until(pilot, lambda: "your edited code" in app.cockpit.panes["coder"].transcript.text()
                         or "exit code 0" in app.cockpit.panes["coder"].transcript.text(), what="edited block shown")
        assert "print(6 * 8)" in app.cockpit.panes["coder"].transcript.text()


async def test_always_allow_runs_later_blocks_of_that_agent_and_language(server, make_config, tmp_path):
    second = "Again:\n\n```python\nprint(7 * 7)\n```"
    app = code_app(server, make_config, tmp_path, [CODE, second, "Done."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.press("A")
        await wait_until(pilot, lambda: len(exec_messages(app)) == 1, what="first run")
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's second draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: len(exec_messages(app)) == 2, what="second run without asking")
        assert "49" in exec_messages(app)[1].content
        rule = app.cockpit.run.supervisor.rules[0]
        assert (rule.kind, rule.agent, rule.language) == (RequestKind.CODE, "coder", "python")
        assert "approved for this session: python code from coder" in app.cockpit.timeline.text()


async def test_cancel_kills_running_code_and_shows_how_it_ended(server, make_config, tmp_path):
    slow = "```python\nimport time\nprint('started', flush=True)\ntime.sleep(30)\nprint('ZZ' + 'TOP')\n```"
    app = code_app(server, make_config, tmp_path, [slow, "Stopped."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.press("y")
        pane = app.cockpit.panes["coder"].transcript
        await wait_until(pilot, lambda: "started" in pane.text(), what="output tail while running")
        assert "running" in screen_text(app)
        await pilot.press("c")
        await wait_until(pilot, lambda: "cancelled after" in pane.text(), what="cancelled mark", timeout=20)
        assert "ZZTOP" not in pane.text()


async def test_code_output_is_shown_inert(server, make_config, tmp_path):
    ansi = "```python\nprint('\\x1b[31mred\\x1b[0m [bold]loud[/bold]')\n```"
    app = code_app(server, make_config, tmp_path, [ansi, "Done."])
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.press("y")
        pane = app.cockpit.panes["coder"].transcript
        await wait_until(pilot, lambda: "exit code 0" in pane.text(), what="finished")
        await pilot.pause()
        shown = screen_text(app)
        assert "␛[31mred␛[0m [bold]loud[/bold]" in shown
        assert "\x1b" not in shown


@pytest.mark.docker
async def test_code_runs_in_the_docker_sandbox(server, make_config, tmp_path):
    import docker

    from tuiagents.execution.docker_client import connect_docker, docker_host

    image = os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest")
    try:
        connect_docker().images.get(image)
    except docker.errors.ImageNotFound:
        pytest.fail(f"sandbox image {image} is missing: run `tuiagents sandbox build`")
    except docker.errors.DockerException as exc:
        reason = f"Docker daemon not reachable at {docker_host()}: {exc}"
        if os.environ.get("TUIAGENTS_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server.load([Rule(agent="coder", replies=[CODE, "Done."]), Rule(agent="user", reply="Thanks.")])
    config = pair_config(make_config, code="docker")
    config.docker.image = image
    app = make_app(config, "pair", "Compute", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await approve_draft_then_wait_code(pilot, app)
        await pilot.pause()
        shown = screen_text(app)
        assert f"docker · {image} · network none" in shown  # image, network, memory, timeout
        await pilot.press("y")
        await wait_until(pilot, lambda: exec_messages(app), what="execution in Docker", timeout=60)
        assert "42" in exec_messages(app)[0].content
        await wait_until(pilot, lambda: "exit code 0" in app.cockpit.panes["coder"].transcript.text(),
                         what="exit code")
