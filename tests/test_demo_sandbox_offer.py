"""The demo's sandbox offer against the real daemon: it names the image it looks for, offers an image
already built here under another tag, says what "no registry answers" means, and spells the
offline build so that it works from a venv under sudo."""

from __future__ import annotations

import sys

import pytest

from tuiagents.app.demo_sandbox import sandbox_offer, sandbox_status
from tuiagents.execution.sandbox_check import build_command, tuiagents_command
from tuiagents.execution.sandbox_image import DEFAULT_SANDBOX_TAG

MISSING = "tuiagents-sandbox:does-not-exist"


@pytest.fixture
def status():
    found = sandbox_status(MISSING)
    if found.no_daemon:
        pytest.skip("no Docker daemon: the offer is only made when the daemon answers")
    return found


@pytest.mark.docker
def test_the_offer_names_the_image_it_looks_for_and_offers_the_one_built_here(status):
    from tuiagents.execution.docker_client import connect_docker

    connect_docker().images.get(DEFAULT_SANDBOX_TAG)  # built here (the tmux tests need it too)
    offer = sandbox_offer(status)
    assert f"looks for {MISSING} (your [docker] image), and it is not on this machine" in offer.text
    cid, label, key = offer.choices[0]
    assert cid == "use" and DEFAULT_SANDBOX_TAG in label and "already built here" in label
    assert offer.prepare("use", lambda progress: None) == DEFAULT_SANDBOX_TAG


@pytest.mark.docker
def test_no_registry_says_what_it_means_and_the_build_works_from_a_venv(status):
    offer = sandbox_offer(status)
    said = offer.text + " " + (status.problem or "")
    assert "(no registry answers for" not in said
    if status.pull is None:
        assert f"{MISSING} cannot be pulled: no image registry answers from this machine" in offer.text
    assert "sudo tuiagents " not in said  # sudo resets PATH: a venv's script is not found that way
    assert build_command(MISSING) in said


def test_the_build_command_names_the_running_script_under_sudo(tmp_path, monkeypatch):
    script = tmp_path / "venv" / "bin" / "tuiagents"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    assert tuiagents_command() == str(script)
    assert build_command() == f"sudo {script} sandbox build"
    assert build_command("x:1") == f"sudo {script} sandbox build --tag x:1"
    monkeypatch.setattr(sys, "argv", ["/somewhere/tuiagents/__main__.py", "demo"])
    monkeypatch.setenv("PATH", str(tmp_path))  # no tuiagents beside this interpreter: `python -m` it
    assert tuiagents_command() == f"{sys.executable} -m tuiagents"


async def test_the_demo_paints_its_panes_first_and_the_offer_comes_when_the_check_answers(tmp_path):
    """The Docker check runs beside the app: the panes are on screen while it has not answered."""
    import threading

    from ui_support import SIZE, screen_text, wait_until

    from test_demo_ui import _app, _demo_run
    from tuiagents.app.demo import demo_agents, demo_script
    from tuiagents.testing import ScriptedServer
    from tuiagents.ui.screens.sandbox_screen import SandboxFound, SandboxOffer, SandboxScreen, SandboxWait

    answer = threading.Event()
    offer = SandboxOffer(text=f"The demo looks for {MISSING}", choices=[("use", "Use it", "u")],
                         prepare=lambda choice, progress: DEFAULT_SANDBOX_TAG)

    def check() -> SandboxFound:  # stands in for sandbox_status (checked for real above)
        assert answer.wait(30)
        return SandboxFound(offer=offer)

    with ScriptedServer(demo_script()) as server:
        started = []

        def start(image):
            started.append(image)
            return _demo_run(server.url, image, tmp_path)

        app = _app(sandbox_wait=SandboxWait(agents=demo_agents(), check=check), start_with_image=start)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: "planner" in screen_text(app) and "critic" in screen_text(app),
                             what="the demo's panes before the check answers")
            assert not answer.is_set() and not started and not isinstance(app.screen, SandboxScreen)
            answer.set()
            await wait_until(pilot, lambda: isinstance(app.screen, SandboxScreen) and MISSING in screen_text(app),
                             what="the offer")
            await pilot.press("u")
            await wait_until(pilot, lambda: app.cockpit is not None and app.cockpit.run is not None
                             and app.screen is app.cockpit, what="the run's cockpit")
            assert started == [DEFAULT_SANDBOX_TAG]
            assert len([s for s in app.screen_stack if s.__class__.__name__ == "CockpitScreen"]) == 1


def test_the_fixes_for_a_registry_image_build_the_sandbox_tag_and_name_the_config_line():
    from tuiagents.execution.sandbox_check import image_fixes

    alone = image_fixes("python:3.12-slim", [])
    assert f"`{build_command()}`, then set [docker] image = \"{DEFAULT_SANDBOX_TAG}\"" in alone
    assert "--tag python:3.12-slim" not in alone  # a Debian sandbox is not python's image
    built = image_fixes("python:3.12-slim", ["tuiagents-sandbox:v2"])
    assert built.startswith('set [docker] image = "tuiagents-sandbox:v2"') and "sandbox build" not in built
    assert f"`{build_command('mine:1')}`" in image_fixes("mine:1", [])  # built under the tag the config names
