"""Shared test fixtures: a scripted model server, a config builder and a scripted human.

- ``server``: a started :class:`~tuiagents.testing.ScriptedServer` (empty script); a test gives it
  rules with ``server.load([...])`` and reads what the engine sent from ``server.requests_for(name)``.
- ``make_config(agents=..., teams=..., **sections)``: an ``AppConfig`` built through
  ``parse_config`` whose models point at ``server``; the LLM cache is off and retries are quick
  unless the test passes its own ``llm`` section.
- ``human``: a :class:`ScriptedHuman`, a bus subscriber that answers ``DecisionRequested`` events
  from per-kind queues and records every request it saw.

Nothing here starts Docker.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict, deque
from typing import Any, Callable, Iterator, Union

import os

import pytest
from hypothesis import settings

from tuiagents.config import AppConfig, parse_config
from tuiagents.engine.decisions import Decision, DecisionRequest, RequestKind
from tuiagents.engine.events import DecisionRequested
from tuiagents.testing import ScriptedServer

# Property tests draw the same examples on every run, so a red run is one anyone can repeat and a
# green CI stays green. `HYPOTHESIS_PROFILE=explore` draws new examples (and more of them) to hunt
# for bugs; a failure it finds becomes an @example of its test.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=2000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

#: A queued answer: a Decision, or a callable `(request) -> Decision` (sync or async).
Answer = Union[Decision, Callable[[DecisionRequest], Any]]


@pytest.fixture(autouse=True)
def app_hooks_of_the_test() -> Iterator[None]:
    """The hooks the command line installs on the app class (F2's resumer, demo resumes) last for
    the test that installed them, not for every test after it in this process."""
    from tuiagents.ui.app import TuiAgentsApp

    saved = {name: TuiAgentsApp.__dict__[name] for name in ("resume_override", "resumer")}
    yield
    for name, value in saved.items():
        setattr(TuiAgentsApp, name, value)


@pytest.fixture(autouse=True)
def runs_in_a_folder_of_the_tests() -> Iterator[None]:
    """Runs that tests start in a process of their own (`tuiagents run` in the app, `--detach`)
    keep their sockets in a folder of the test, not the user's, and none outlives it: a test that
    kills its terminal leaves its run going, as a person's would, until here. A folder per test:
    a run one test left going must not show in another's F2 or `ps`."""
    import json
    import shutil
    import signal
    import tempfile
    import time
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="trt", dir="/tmp"))  # short: a socket's path has ~100 bytes
    before = os.environ.get("TUIAGENTS_RUNTIME_DIR")
    os.environ["TUIAGENTS_RUNTIME_DIR"] = str(folder)
    try:
        yield
    finally:
        pids = []
        for record in folder.glob("*.run.json"):
            try:
                pids.append(json.loads(record.read_text())["pid"])
                os.kill(pids[-1], signal.SIGTERM)  # the run stops, and its log says why
            except (OSError, ValueError, KeyError):
                pass
        time.sleep(1.0 if pids else 0)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)
        if before is None:
            os.environ.pop("TUIAGENTS_RUNTIME_DIR", None)
        else:
            os.environ["TUIAGENTS_RUNTIME_DIR"] = before


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1, stopped after the test."""
    with ScriptedServer() as s:
        yield s


@pytest.fixture
def make_config(server: ScriptedServer) -> Callable[..., AppConfig]:
    """A builder of validated configs whose models talk to `server`.

    ``models`` defaults to one entry named "default"; entries without ``base_url`` get the
    server's. Any other keyword is a top-level config section (``llm``, ``local_execution``...).
    """

    def build(*, agents: list[dict], teams: list[dict], models: list[dict] | None = None,
              **sections: Any) -> AppConfig:
        entries = [dict(m) for m in (models or [{"name": "default", "model": "scripted-model"}])]
        for m in entries:
            m.setdefault("base_url", server.url)
            m.setdefault("max_retries", 0)
        sections.setdefault("llm", {"cache_seed": False, "retry_base_delay": 0.01, "retry_max_delay": 0.05})
        return parse_config({"models": entries, "agents": agents, "teams": teams, **sections})

    return build


class ScriptedHuman:
    """Answers decision requests like a person would, from queues the test fills in advance.

    ``queue(kind, *answers)`` adds answers for one request kind, used in order. A request with
    no queued answer is answered with ``default`` (a Decision or callable); when that is None it
    is stopped and listed in ``unanswered`` so the test can fail with a clear message. An answer
    callable that raises stops the run too, and the ``human`` fixture re-raises the error.
    """

    def __init__(self, default: Answer | None = None) -> None:
        self.answers: dict[RequestKind, deque[Answer]] = defaultdict(deque)
        self.default = default
        self.seen: list[DecisionRequest] = []
        self.unanswered: list[DecisionRequest] = []
        self.errors: list[Exception] = []  # raised by answer callables; the fixture fails on them

    def queue(self, kind: RequestKind, *answers: Answer) -> "ScriptedHuman":
        """Answer the next requests of `kind` with `answers`, in order."""
        self.answers[kind].extend(answers)
        return self

    def attach(self, run: Any) -> Any:
        """Subscribe to `run`'s event bus; returns the run."""
        run.bus.subscribe(self)
        return run

    def of_kind(self, kind: RequestKind) -> list[DecisionRequest]:
        """The requests of `kind` seen so far."""
        return [r for r in self.seen if r.kind == kind]

    async def __call__(self, event: Any) -> None:
        if not isinstance(event, DecisionRequested) or event.future is None:
            return
        request = event.request
        self.seen.append(request)
        queue = self.answers[request.kind]
        answer = queue.popleft() if queue else self.default
        if answer is None:
            self.unanswered.append(request)
            event.resolve(Decision.stop(note="the scripted human had no answer"))
            return
        try:
            decision = answer(request) if callable(answer) else answer
            if inspect.isawaitable(decision):
                decision = await decision
        except Exception as exc:  # noqa: BLE001 - the bus would drop us and the run would hang
            self.errors.append(exc)
            decision = Decision.stop(note=f"the scripted human failed: {exc!r}")
        event.resolve(decision)


@pytest.fixture
def human() -> Iterator[ScriptedHuman]:
    """A scripted human supervisor; attach it with ``human.attach(run)``."""
    scripted = ScriptedHuman()
    yield scripted
    if scripted.errors:
        raise scripted.errors[0]


async def finish(run: Any, timeout: float = 20.0) -> Any:
    """Run `run` to its end (failing the test instead of hanging), then release its resources."""
    task = asyncio.ensure_future(run.run())
    try:
        # not wait_for: a run that was asked to stop turns its cancellation into a normal end,
        # which would hide the timeout
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            pytest.fail(f"the run did not finish within {timeout} s")
        return task.result()
    finally:
        await run.aclose()


@pytest.fixture
def run_to_end() -> Callable[..., Any]:
    """`await run_to_end(run)`: the RunResult, with a timeout and the run's resources released."""
    return finish
