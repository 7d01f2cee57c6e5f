"""`tuiagents serve -- run ... --task T` serves one run, not one per tab: a real serve process, real
websockets (aiohttp's client, as a browser tab's terminal), the real run in its own process on the
scripted server. Two tabs at once and a reload all show the run serve started (one run in
`survey()`, one session log, each tab's app is `attach ID`); once the run ends, serve's terminal
says so and a new tab replays it; a run that cannot start refuses serve at once (exit 2)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from serve_support import Served, cmdline, pair_config, start_serve, stop_all
from test_demo import isolated_env

from tuiagents.app.cli import build_parser
from tuiagents.app.serve_run import wants_one_run
from tuiagents.testing import Rule, Script, ScriptedServer

DRAFT = "A draft every tab shows."
SCRIPT = Script(rules=[Rule(agent="assistant", reply=DRAFT)])
STARTED = r"Run ([0-9a-f]{12}) \(pair\) started in its own process"


class Tab:
    """One browser tab's terminal: the page's cookie, then the websocket that starts its app."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.screen = b""

    async def __aenter__(self) -> Tab:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with self.http.get(self.served.url):
            pass
        self.ws = await self.http.ws_connect(f"{self.served.base}/ws?width=120&height=40",
                                             headers={"Origin": self.served.base})
        return self

    async def until(self, *texts: bytes, timeout: float = 90) -> bytes:
        """Read the screen until it has shown every one of `texts`."""
        end = time.monotonic() + timeout
        while not all(t in self.screen for t in texts) and time.monotonic() < end:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type != aiohttp.WSMsgType.BINARY:
                break
            self.screen += msg.data
        assert all(t in self.screen for t in texts), (texts, self.screen[-3000:])
        return self.screen

    async def __aexit__(self, *_exc: object) -> None:
        await self.ws.close()
        await self.http.close()


def _apps(served: Served, count: int) -> list[list[str]]:
    """The command lines of serve's app processes, once there are `count` of them."""
    end = time.monotonic() + 30
    while len(served.children()) != count and time.monotonic() < end:
        time.sleep(0.1)
    apps = served.children()
    assert len(apps) == count, [cmdline(p) for p in apps]
    return [cmdline(p)[1:] for p in apps]


def _survey(served: Served, monkeypatch) -> list:
    from tuiagents.session.live_runs import survey

    monkeypatch.setenv("TUIAGENTS_RUNTIME_DIR", str(served.runtime))
    return survey()


@pytest.fixture
def scripted():
    with ScriptedServer(SCRIPT) as server:
        yield server


def test_two_tabs_and_a_reload_show_the_one_run_serve_started(tmp_path, scripted, monkeypatch):
    config = pair_config(tmp_path, scripted.url)
    served = start_serve(tmp_path, ["--", "run", "--config", str(config), "--team", "pair", "--task", "Say hi."])
    try:
        run_id = served.wait_for_output(STARTED).group(1)
        assert f"tuiagents attach {run_id}" in "".join(served.output)
        attach = ["-m", "tuiagents", "attach", run_id, "--config", str(config)]

        async def two_tabs_then_a_reload() -> None:
            async with Tab(served) as first:
                await first.until(b"Deliver")
                async with Tab(served) as second:  # opened after the draft: it shows it too
                    await second.until(b"Deliver")
                    assert _apps(served, 2) == [attach, attach]
                    [run] = _survey(served, monkeypatch)
                    assert run.record.run_id == run_id and run.state == "waiting"
            _apps(served, 0)
            async with Tab(served) as reloaded:
                await reloaded.until(b"Deliver")
                assert _apps(served, 1) == [attach]

        asyncio.run(two_tabs_then_a_reload())
        [run] = _survey(served, monkeypatch)
        assert run.record.run_id == run_id
        assert len(list((tmp_path / "sessions").glob("*.jsonl"))) == 1
        assert len(scripted.chat_requests) == 1, "the tabs made model calls of their own"
        runs = served.run_pids()
        assert served.stop() == 0
        shown = "".join(served.output)
        assert f"Run {run_id} goes on in its own process" in shown and f"tuiagents attach {run_id}" in shown
        assert runs and all(Path(f"/proc/{pid}").exists() for pid in runs), "stopping serve stopped the run"
    finally:
        stop_all(served)


def test_once_the_run_ends_serve_says_why_and_a_new_tab_replays_it(tmp_path, scripted, monkeypatch):
    config = pair_config(tmp_path, scripted.url)
    served = start_serve(tmp_path, ["--", "run", "--config", str(config), "--team", "pair", "--task", "Say hi.",
                                    "--approve", "all"])
    try:
        run_id = served.wait_for_output(STARTED).group(1)
        served.wait_for_output(rf"Run {run_id} ended: [^\n]*turn", timeout=120)
        [log] = (tmp_path / "sessions").glob("*.jsonl")
        assert f"tuiagents replay {log}" in "".join(served.output)
        assert _survey(served, monkeypatch) == []

        async def reload_after_the_end() -> None:
            async with Tab(served) as tab:
                await tab.until(b"replay")
                assert _apps(served, 1) == [["-m", "tuiagents", "replay", str(log)]]

        asyncio.run(reload_after_the_end())
        assert served.stop() == 0
        assert f"Session log of run {run_id}: {log}" in "".join(served.output)
    finally:
        stop_all(served)


def test_a_run_that_cannot_start_refuses_serve_at_once(tmp_path, scripted):
    config = pair_config(tmp_path, scripted.url)
    runtime = tmp_path / "rt"
    done = subprocess.run([sys.executable, "-m", "tuiagents", "serve", "--port", "0", "--", "run", "--config",
                           str(config), "--team", "nosuch", "--task", "Say hi."], cwd=tmp_path,
                          env=isolated_env(tmp_path, TUIAGENTS_RUNTIME_DIR=str(runtime)),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert "no team named 'nosuch'" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "token=" not in done.stdout  # no URL: nothing is served
    assert not list(runtime.glob("*.run.json")) and scripted.chat_requests == []


def test_serve_resume_resumes_once_for_every_tab(tmp_path, scripted, monkeypatch):
    """`serve -- resume LOG`: the log is resumed once, in a process of its own, and every tab attaches
    to that run (a second tab's own resume would be refused: a log has one writer)."""
    config = pair_config(tmp_path, scripted.url)
    first = subprocess.run([sys.executable, "-m", "tuiagents", "run", "--headless", "--approve", "all", "--config",
                            str(config), "--team", "pair", "--task", "Say hi."], cwd=tmp_path, env=isolated_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    [log] = (tmp_path / "sessions").glob("*.jsonl")
    served = start_serve(tmp_path, ["--", "resume", str(log), "--task", "One more, please."])
    try:
        run_id = served.wait_for_output(r"Run ([0-9a-f]{12}) \(pair\) started in its own process").group(1)
        assert run_id in log.name

        async def two_tabs() -> None:
            async with Tab(served) as one, Tab(served) as two:
                await one.until(b"Deliver")
                await two.until(b"Deliver")
                assert _apps(served, 2) == [["-m", "tuiagents", "attach", run_id]] * 2

        asyncio.run(two_tabs())
        [run] = _survey(served, monkeypatch)
        assert run.record.run_id == run_id and run.record.session_path == str(log)
        assert len(list((tmp_path / "sessions").glob("*.jsonl"))) == 1  # the same log, appended to
    finally:
        stop_all(served)


@pytest.mark.parametrize(("argv", "one_run"), [
    (["run", "--task", "T"], True),
    (["--config", "c.toml", "--team", "pair", "--task", "T"], True),  # `tuiagents` itself, as run
    (["run", "--team", "pair"], False),  # each tab asks for its task: the person starts each run
    (["run", "--local", "--task", "T"], False),  # the local model lives with each tab's app
    (["attach", "ID"], False),
    (["resume", "LOG"], True),  # a log has one writer: every tab shows the one resumed run
    (["resume", "LOG", "--headless"], False),
    (["demo"], False),
])
def test_which_served_commands_share_one_run(argv, one_run):
    assert wants_one_run(build_parser().parse_args(argv)) is one_run
