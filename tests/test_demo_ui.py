"""The demo in the app, under the pilot: a rejected plan is revised (not answered), the sandbox is
offered when its image is missing (prepared with a progress bar, or declined: then no code is
offered and the coder's pane says why, once), and a demo session resumes on the demo's script."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import ProgressBar, TextArea
from ui_support import SIZE, screen_text, wait_until, waiting

from tuiagents.app.demo import (
    BANNER,
    NO_SANDBOX_REPLY,
    PLAN,
    REVISED_PLAN,
    TASK,
    demo_config,
    demo_script,
    sandbox_notice,
)
from tuiagents.app.demo_sandbox import Progress, sandbox_offer, sandbox_status
from tuiagents.engine.decisions import RequestKind
from tuiagents.app.launch import prepare_run
from tuiagents.testing import ScriptedServer
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.screens.prompt_screens import TextPromptScreen
from tuiagents.ui.screens.sandbox_screen import SandboxOffer, SandboxScreen
from tuiagents.ui.settings import UIOptions

from test_demo import SANDBOX, docker_ready, isolated_env


def _demo_run(url: str, image: str | None, tmp_path: Path, problem: str | None = None):
    run = prepare_run(demo_config(url, image), "demo", TASK, approve="ask", session_path=tmp_path / "demo.jsonl")
    run.startup_notices.append(BANNER)
    if problem:
        run.startup_notices.append(sandbox_notice(problem))
    return run


def _app(**kw) -> TuiAgentsApp:
    return TuiAgentsApp(options=UIOptions(bell=False), banner=BANNER, **kw)


async def _approve_next(pilot, app, agent: str, kind=RequestKind.MESSAGE):
    current = await wait_until(pilot, lambda: (w := waiting(app)) and w.request.agent == agent and w, what=f"{agent}")
    assert current.request.kind == kind, current.request
    await pilot.press("a" if kind != RequestKind.CODE else "y")
    await wait_until(pilot, lambda: (w := waiting(app)) is None or w.request.id != current.request.id,
                     what=f"{agent} answered")
    return current.request


async def test_rejecting_the_plan_gets_a_revised_plan_and_the_demo_goes_on(tmp_path):
    with ScriptedServer(demo_script()) as server:
        app = _app(run=_demo_run(server.url, None, tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            plan = await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w, what="the plan")
            assert plan.request.agent == "planner" and plan.request.content == PLAN
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen), what="feedback prompt")
            app.screen.query_one(TextArea).text = "Also say which city was coldest."
            await pilot.press("ctrl+s")
            revised = await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE))
                                       and w.request.id != plan.request.id and w, what="the revised plan")
            assert revised.request.agent == "planner"
            assert revised.request.content == REVISED_PLAN and "feedback" in revised.request.content
            assert "TERMINATE" not in revised.request.content
            await pilot.press("a")
            code = await _approve_next(pilot, app, "coder")
            assert "```python" in code.content  # the coder writes the code next, as before


async def test_declining_the_sandbox_says_so_once_in_the_coders_pane_and_never_offers_code(tmp_path):
    status = sandbox_status("tuiagents-sandbox:does-not-exist")  # needs a daemon; skip without one
    if status.no_daemon:
        pytest.skip("no Docker daemon: the offer is only made when the daemon answers")
    assert status.image is None and status.can_prepare == bool(status.build or status.pull)
    with ScriptedServer(demo_script()) as server:
        def start(image):
            assert image is None
            return _demo_run(server.url, None, tmp_path, problem="The sandbox image was not prepared, so the "
                                                                  "coder's code will not run.")
        offer = SandboxOffer(text="no image", choices=[("build", "Build offline", "b")], prepare=lambda c, p: "x")
        app = _app(sandbox_offer=offer, start_with_image=start)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, SandboxScreen), what="the offer")
            assert "Go on without running code [n]" in screen_text(app)
            await pilot.press("n")
            await wait_until(pilot, lambda: app.cockpit is not None and app.screen is app.cockpit, what="cockpit")
            for agent in ("planner", "coder", "critic"):
                await _approve_next(pilot, app, agent)
            await wait_until(pilot, lambda: app.cockpit.state.stop_reason is None and waiting(app), what="wrap-up")
            await _approve_next(pilot, app, "planner")
            await wait_until(pilot, lambda: app.cockpit.state.stop_reason, what="the end")
            coder_pane = app.cockpit.panes["coder"].transcript.text()
            assert coder_pane.count("coder's code will not run") == 1
            # said once: the pane on screen shows it, so no toast repeats it over the request
            assert not any("will not run" in n.message for n in app._notifications)
            assert NO_SANDBOX_REPLY in app.cockpit.panes["user"].transcript.text()
            logged = (tmp_path / "demo.jsonl").read_text()
            assert '"code_proposed"' not in logged and '"request_kind":"code"' not in logged
            assert "Run coder's code" not in logged


async def test_preparing_the_sandbox_shows_progress_and_an_estimate_then_asks_to_run_code(tmp_path):
    docker_ready()
    steps = []

    def prepare(choice: str, on_progress) -> str:
        # Stands in for the minute-long debootstrap build; the real build is checked by hand and in bench/.
        steps.append(choice)
        for i, line in enumerate(["I: Retrieving python3", "I: Unpacking python3", "I: Configuring python3"]):
            on_progress(Progress((i + 1) / 4, 30.0 - 10 * i, line))
            time.sleep(0.3)
        return SANDBOX

    with ScriptedServer(demo_script()) as server:
        offer = SandboxOffer(text="No sandbox image", prepare=prepare,
                             choices=[("build", "Build tuiagents-sandbox:latest offline", "b")])
        app = _app(sandbox_offer=offer, start_with_image=lambda image: _demo_run(server.url, image, tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, SandboxScreen), what="the offer")
            await pilot.press("b")
            await wait_until(pilot, lambda: "s left" in screen_text(app), what="an estimate")
            bar = app.screen.query_one(ProgressBar)
            assert bar.display and bar.progress > 0
            await wait_until(pilot, lambda: app.cockpit is not None and app.screen is app.cockpit, what="cockpit")
            assert steps == ["build"]
            for agent in ("planner", "coder"):
                await _approve_next(pilot, app, agent)
            code = await wait_until(pilot, lambda: (w := waiting(app, RequestKind.CODE)) and w, what="code request")
            assert "Docker sandbox" in code.request.prompt and SANDBOX in (code.request.executor or "")


async def test_the_real_offer_for_a_missing_image_builds_it_under_the_configured_tag():
    status = sandbox_status("tuiagents-sandbox:does-not-exist")
    if status.no_daemon:
        pytest.skip("no Docker daemon")
    offer = sandbox_offer(status)
    labels = " ".join(label for _, label, _ in offer.choices)
    if status.build:
        assert "Build tuiagents-sandbox:does-not-exist offline" in labels
    else:
        assert status.build_problem and status.build_problem in offer.text
    assert "sandbox build --tag tuiagents-sandbox:does-not-exist" in status.problem


def test_demo_sessions_resume_and_fork_on_the_demos_script(tmp_path):
    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock")
    done = subprocess.run([sys.executable, "-m", "tuiagents", "demo", "--headless"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    log = next((tmp_path / "data" / "sessions").glob("*demo*.jsonl"))
    # fork after the plan was delivered: the new server must know who comes next (the coder)
    lines = log.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"message_delivered"' in line and '"sender":"planner"' in line)
    forked = subprocess.run([sys.executable, "-m", "tuiagents", "resume", str(log), "--fork-at", str(at),
                             "--headless", "--approve", "all"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=180)
    out = forked.stdout
    assert forked.returncode == 0, out + forked.stderr
    assert "connection" not in (out + forked.stderr).lower()
    after = out.split("resumed after", 1)[-1]
    assert "\ncoder:\n" in after and "\ncritic:\n" in after and "Stopped: planner said TERMINATE" in after


def test_build_progress_grows_with_the_lines_logged_and_ends_at_one():
    from tuiagents.app.demo_sandbox import BUILD_LINES, build_fraction

    shares = [build_fraction(n) for n in range(BUILD_LINES + 5)]
    assert shares[0] == 0 and shares[-1] == 1.0
    assert all(a <= b for a, b in zip(shares, shares[1:]))


async def test_a_demo_session_resumes_from_the_session_browser_on_the_demos_script(tmp_path, make_config):
    from test_ui_sessions import browser, folder_config, select

    from tuiagents.app.demo import install_app_hooks
    from tuiagents.session.fork import fork_session

    folder = tmp_path / "sessions"
    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock")
    done = subprocess.run([sys.executable, "-m", "tuiagents", "demo", "--headless"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    log = next((tmp_path / "data" / "sessions").glob("*demo*.jsonl"))
    lines = log.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"message_delivered"' in line and '"sender":"planner"' in line)
    folder.mkdir()
    fork = fork_session(log, at, folder / "demo-fork.jsonl")
    install_app_hooks()
    try:
        app = TuiAgentsApp(events=[], options=UIOptions(bell=False), config=folder_config(make_config, folder))
        async with app.run_test(size=SIZE) as pilot:
            screen = await browser(pilot)
            await select(pilot, screen, fork)
            await pilot.press("r")
            draft = await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w,
                                     what="the coder's draft from the demo's script", timeout=30)
            assert draft.request.agent == "coder" and "```python" in draft.request.content
    finally:
        TuiAgentsApp.resume_override = None
