"""A sandbox that cannot start (its image missing) is found before the first block, against the real
daemon: the person is told what is missing and how to fix it, and may check again, skip or stop;
the model never reads the daemon's pull error as code output."""

from __future__ import annotations

import shutil
import uuid

import pytest
from headless_support import pair_toml

from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, RequestKind
from tuiagents.engine.events import ExecutionStarted, Notice, StopKind
from tuiagents.engine.factory import build_run
from tuiagents.execution.docker_client import connect_docker
from tuiagents.execution.sandbox_image import DEFAULT_SANDBOX_TAG
from tuiagents.testing import Rule

pytestmark = pytest.mark.docker

MISSING = "tuiagents-sandbox:does-not-exist"
PY = "```python\nprint(6 * 7)\n```"


@pytest.fixture(scope="module")
def daemon():
    """A docker client with the demo's image built (the tmux tests need the same)."""
    import docker

    try:
        client = connect_docker()
        client.images.get(DEFAULT_SANDBOX_TAG)
    except docker.errors.DockerException as exc:
        pytest.skip(f"needs a Docker daemon with {DEFAULT_SANDBOX_TAG}: {exc}")
    yield client
    client.close()


def docker_run(make_config, tmp_path, image: str, approve: str = "ask"):
    """user (runs code in the sandbox `image`) <-> assistant."""
    cfg = make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "docker"},
                {"name": "assistant", "kind": "assistant", "model": "default"}],
        teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 4}],
        docker={"image": image, "timeout": 30})
    return build_run(cfg, "pair", "compute", approve=approve, work_dir=tmp_path / "work")


def model_read(server) -> str:
    """Everything the assistant's model was sent after its first request."""
    return "\n".join(str(m.get("content")) for r in server.requests_for("assistant")[1:]
                     for m in r.body["messages"])


async def test_a_missing_image_is_named_before_the_first_block_and_skipping_sends_no_error(
        daemon, server, make_config, human, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[f"Let me compute.\n{PY}", "Fine. TERMINATE"])])
    run = human.attach(docker_run(make_config, tmp_path, MISSING))
    human.queue(RequestKind.MESSAGE, *[Decision.approve()] * 3)
    human.queue(RequestKind.CODE, Decision.skip())
    result = await run_to_end(run)

    [request] = human.of_kind(RequestKind.CODE)
    assert MISSING in request.prompt and "cannot start" in request.prompt
    assert DecisionKind.EDIT not in request.allowed and DecisionKind.SKIP in request.allowed
    errors = [e.text for e in run.bus.history if isinstance(e, Notice) and e.level == "error"]
    assert errors and MISSING in errors[0]
    # what fixes it: the demo's image that is here, the offline build, the config line
    assert DEFAULT_SANDBOX_TAG in errors[0] and "sandbox build" in errors[0] and "[docker] image" in errors[0]
    assert not [e for e in run.bus.history if isinstance(e, ExecutionStarted)]
    read = model_read(server)
    assert "The code was not run" in read
    assert "exitcode" not in read and MISSING not in read and "pull" not in read
    assert result.stop_reason == "assistant said TERMINATE"


async def test_with_every_step_approved_the_run_stops_saying_what_to_do(
        daemon, server, make_config, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", replies=[f"Let me compute.\n{PY}", "Fine. TERMINATE"])])
    run = docker_run(make_config, tmp_path, MISSING, approve="all")
    result = await run_to_end(run)

    assert result.stop_kind == StopKind.ERROR
    assert MISSING in result.stop_reason and "sandbox build" in result.stop_reason
    assert not [e for e in run.bus.history if isinstance(e, ExecutionStarted)]
    assert len(server.requests_for("assistant")) == 1  # the model was never sent an outcome


async def test_run_after_the_image_appears_checks_again_and_runs_the_approved_code(
        daemon, server, make_config, human, run_to_end, tmp_path):
    image = f"tuiagents-sandbox:test-{uuid.uuid4().hex[:8]}"
    server.load([Rule(agent="assistant", replies=[f"Let me compute.\n{PY}", "It is 42. TERMINATE"])])
    run = human.attach(docker_run(make_config, tmp_path, image))
    human.queue(RequestKind.MESSAGE, *[Decision.approve()] * 3)

    def build_then_run(request):
        assert image in request.prompt  # still missing: the person builds it, then presses Run
        daemon.images.get(DEFAULT_SANDBOX_TAG).tag(*image.split(":"))
        return Decision.approve()

    human.queue(RequestKind.CODE, Decision.approve(), build_then_run)
    try:
        result = await run_to_end(run, timeout=60)
    finally:
        daemon.images.remove(image)
    first, second = human.of_kind(RequestKind.CODE)
    assert image in first.prompt and second.id != first.id  # Run while still missing: asked again
    decided = [e.decision for e in run.bus.history if getattr(e, "type", "") == "decision_recorded"
               and e.request_kind == RequestKind.CODE]
    assert decided[-1].by == DecidedBy.HUMAN and decided[-1].code_sha256  # the approval ran, hashed
    outputs = [m.content for m in result.chat_history if m.origin == "execution"]
    assert outputs == ["exitcode: 0 (execution succeeded)\nCode output: 42"]


async def test_in_the_app_the_person_sees_what_is_missing_and_skips(daemon, server, make_config, tmp_path):
    from ui_support import SIZE, make_app, pair_config, screen_text, wait_until, waiting

    server.load([Rule(agent="coder", replies=[f"Run this:\n\n{PY}", "Done."]), Rule(agent="user", reply="Thanks.")])
    config = pair_config(make_config, code="docker")
    config.docker.image = MISSING
    app = make_app(config, "pair", "Compute", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.CODE), what="code request")
        await pilot.pause()
        shown = screen_text(app)
        assert "The sandbox cannot start" in shown and MISSING in shown
        assert "Skip [x]" in shown and "Edit [e]" not in shown
        pane = app.cockpit.panes["user"].transcript.text()
        assert "sandbox build" in pane and DEFAULT_SANDBOX_TAG in pane  # the fixes, in the runner's pane
        await pilot.press("x")
        await wait_until(pilot, lambda: [m for m in app.cockpit.run.transcript if m.origin == "execution"],
                         what="the skip reaching the coder")
        [told] = [m.content for m in app.cockpit.run.transcript if m.origin == "execution"]
        assert told.startswith("The code was not run") and MISSING not in told


@pytest.mark.tmux
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_own_config_without_docker_section_after_the_demo_built_its_image(daemon, tmp_path):
    """The issue's case, in a real terminal: the default image cannot be pulled, the demo's is here."""
    import docker

    from test_demo import isolated_env
    from test_e2e_tmux import Terminal
    from tuiagents.execution.settings import DEFAULT_IMAGE
    from tuiagents.testing import Script, ScriptedServer

    try:
        daemon.images.get(DEFAULT_IMAGE)
        pytest.skip(f"{DEFAULT_IMAGE} is on this machine: nothing is missing")
    except docker.errors.ImageNotFound:
        pass
    script = Script(rules=[
        Rule(agent="assistant", contains="The code was not run", reply="Then I cannot check it.\n\nTERMINATE"),
        Rule(agent="assistant", reply=f"Let me compute it:\n\n{PY}"),
    ])
    terminal = Terminal(tmp_path)
    with ScriptedServer(script) as server:
        config = tmp_path / "config.toml"
        config.write_text(pair_toml(server.url, 6, user='code_execution = "docker"',
                                    after="\n[ui]\nbell = false\n"))
        try:
            terminal.start(["--config", str(config), "--team", "pair", "--task", "Compute."], isolated_env(tmp_path))
            terminal.wait_for("Deliver assistant's message?")
            terminal.keys("a")
            shown = terminal.wait_for("The sandbox cannot start")
            flat = " ".join(shown.split())
            assert DEFAULT_IMAGE in flat and "Skip" in flat
            assert f'image = "{DEFAULT_SANDBOX_TAG}"' in flat  # the demo's image, built here, is named
            terminal.keys("x")
            terminal.wait_for("Then I cannot check it.")
            terminal.keys("a")
            terminal.wait_for("stopped: assistant said TERMINATE")
        finally:
            terminal.kill()
        read = model_read(server)
    assert "The code was not run" in read and "pull" not in read and "exitcode" not in read


async def test_a_container_that_fails_to_start_after_approval_goes_back_to_the_person(
        daemon, server, make_config, human, run_to_end, tmp_path):
    from tuiagents.engine.events import ExecutionFinished

    server.load([Rule(agent="assistant", replies=[f"Let me compute.\n{PY}", "Fine. TERMINATE"])])
    run = docker_run(make_config, tmp_path, DEFAULT_SANDBOX_TAG)
    run.agents["user"].code_executor.settings.cpus = 64  # more than the daemon has: it refuses to start
    human.attach(run)
    human.queue(RequestKind.MESSAGE, *[Decision.approve()] * 3)
    human.queue(RequestKind.CODE, Decision.approve(), Decision.skip())
    result = await run_to_end(run, timeout=60)

    first, second = human.of_kind(RequestKind.CODE)
    assert "cannot start" not in first.prompt and "cannot start" in second.prompt
    [finished] = [e for e in run.bus.history if isinstance(e, ExecutionFinished)]
    assert finished.exit_code == -1  # the block's story ends as not run
    read = model_read(server)
    assert "The code was not run" in read and "exitcode" not in read and "CPU" not in read
    assert result.stop_reason == "assistant said TERMINATE"
