"""`tuiagents serve` over real HTTP and websockets (aiohttp's client against a real serve process):
no page, file or websocket without the token, and no app process started for a refused request; with
the token, the websocket starts the app, which never sees the token; stopping serve (or killing it)
ends every app it started; bad arguments are exit 2 with a message that says what to do."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from serve_support import alive, children_of, pair_config, start_serve, stop_all
from test_demo import isolated_env

from tuiagents.app.serve import ServeError, ServeSettings, check_app_command, is_loopback
from tuiagents.testing import Rule, Script, ScriptedServer

SCRIPT = Script(rules=[Rule(agent="assistant", reply="A draft the browser shows.")])
WS_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def wait_until(test, timeout: float = 30.0, what: str = "") -> None:
    """Poll `test()` until it is true; fail naming `what` if it never is."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if test():
            return
        time.sleep(0.1)
    pytest.fail(f"never happened within {timeout:g} s: {what}")


@pytest.fixture
def served_pair(tmp_path):
    """`tuiagents serve -- --config C --team pair --task T` on the scripted server: the run every tab
    shows (started with serve) ends with the test."""
    with ScriptedServer(SCRIPT) as server:
        config = pair_config(tmp_path, server.url)
        served = start_serve(tmp_path, ["--", "--config", str(config), "--team", "pair", "--task", "Say hi."])
        try:
            yield served
        finally:
            apps = served.children()
            stop_all(served)
            for pid in apps:  # a failed test must not leave an app behind either
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


async def _refused(base: str, **kw) -> list[tuple[str, int, str]]:
    got = []
    async with aiohttp.ClientSession(**kw) as http:
        for path in ("/", "/static/js/textual.js", "/static/", "/download/x", "/ws", "/no-such-page"):
            async with http.get(base + path, allow_redirects=False) as r:
                got.append((path, r.status, await r.text()))
            async with http.get(base + path, headers=WS_HEADERS, allow_redirects=False) as r:
                got.append((path + " (websocket)", r.status, await r.text()))
    return got


def test_without_the_token_every_route_is_refused_and_no_app_starts(served_pair):
    base = served_pair.base
    for label, kw in (("no token", {}), ("wrong cookie", {"cookies": {f"tuiagents_serve_{base.rsplit(':', 1)[1]}": "x"}})):
        for path, status, body in asyncio.run(_refused(base, **kw)):
            assert status in (401, 403), (label, path, status, body)
            assert "<html" not in body.lower() and "textual" not in body.lower(), (label, path, body)
            assert "token" in body, body  # it says what to do
    wrong = served_pair.token[:-1] + ("A" if served_pair.token[-1] != "A" else "B")
    for token in (wrong, "", "ü" * 10, served_pair.token + "x"):
        for path, status, body in asyncio.run(_with_query(base, token)):
            assert status in (401, 403), (token, path, status)
            assert "<html" not in body.lower(), (token, path, body)
    assert served_pair.children() == [], "a refused request started an app"


def _with_query(base: str, token: str):
    async def go():
        got = []
        async with aiohttp.ClientSession() as http:
            for path in ("/", "/static/js/textual.js", "/ws"):
                async with http.get(base + path, params={"token": token}, allow_redirects=False) as r:
                    got.append((path, r.status, await r.text()))
        return got
    return go()


async def _open_app(served, origin: str | None = None) -> tuple[str, str, bytes]:
    """Follows the printed URL like a browser; returns the page, the cookie and the first screen bytes."""
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP address, as browsers do
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(served.url, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/", r.status
            assert served.token not in r.headers["Location"]
        async with http.get(served.base + "/") as r:
            assert r.status == 200
            page = await r.text()
        headers = {"Origin": origin} if origin else {}
        screen = b""
        async with http.ws_connect(f"{served.base}/ws?width=100&height=30", headers=headers) as ws:
            end = time.monotonic() + 60
            while b"Deliver" not in screen and time.monotonic() < end:
                msg = await ws.receive(timeout=60)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    screen += msg.data
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
            return page, cookie, screen


def test_the_token_opens_the_page_whose_websocket_runs_the_app(served_pair):
    page, cookie, screen = asyncio.run(_open_app(served_pair, origin=served_pair.base))
    assert 'class="textual-terminal"' in page and f"{served_pair.base.split('//')[1]}/ws" in page
    assert served_pair.token in cookie
    assert b"Deliver" in screen, screen[-2000:]  # the cockpit painted, at the approval gate
    wait_until(lambda: served_pair.children() == [], what="the app ends when its websocket closes")


def test_the_page_finds_its_websocket_where_the_browser_found_it(served_pair):
    # An SSH tunnel on another local port (ssh -L 9000:127.0.0.1:PORT) reaches serve with that Host.
    async def go() -> str:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(served_pair.url):
                pass
            async with http.get(served_pair.base + "/", headers={"Host": "127.0.0.1:9000"}) as r:
                assert r.status == 200
                return await r.text()
    page = asyncio.run(go())
    assert 'data-session-websocket-url="ws://127.0.0.1:9000/ws"' in page
    assert "http://127.0.0.1:9000/static/js/textual.js" in page


def test_a_host_header_that_is_no_host_does_not_reach_the_page(served_pair):
    async def go() -> tuple[int, str]:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(served_pair.url):
                pass
            async with http.get(served_pair.base + "/", headers={"Host": 'x"><script>alert(1)</script>'}) as r:
                return r.status, await r.text()
    status, body = asyncio.run(go())
    assert status == 400 and "<script>" not in body


def test_a_websocket_from_a_page_of_another_origin_is_refused(served_pair):
    async def go() -> int:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(served_pair.url):
                pass
            async with http.get(f"{served_pair.base}/ws", headers={**WS_HEADERS, "Origin": "http://localhost:1"}) as r:
                return r.status
    assert asyncio.run(go()) == 403
    assert served_pair.children() == []


def _open_and_hold(served):
    """Opens the app in a websocket and keeps it open in a thread; returns the thread's stop."""
    import threading

    ready, done = threading.Event(), threading.Event()

    async def go():
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(served.url):
                pass
            async with http.ws_connect(f"{served.base}/ws") as ws:
                seen = b""
                while b"Deliver" not in seen:
                    msg = await ws.receive(timeout=60)
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        break
                    seen += msg.data
                ready.set()
                while not done.is_set():
                    try:
                        msg = await ws.receive(timeout=0.2)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        return

    thread = threading.Thread(target=lambda: asyncio.run(go()), daemon=True)
    thread.start()
    assert ready.wait(90), "the app never painted"
    return done, thread


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stopping_serve_ends_the_apps_it_started(served_pair, sig):
    done, thread = _open_and_hold(served_pair)
    apps = served_pair.children()
    assert len(apps) == 1
    app = apps[0]
    environ = Path(f"/proc/{app}/environ").read_bytes() + Path(f"/proc/{app}/cmdline").read_bytes()
    assert served_pair.token.encode() not in environ  # the app never holds the token
    [run] = served_pair.run_pids()  # the run serve started for its tabs, in its own process
    code = served_pair.stop(sig)
    assert code == (-9 if sig is signal.SIGKILL else 0), "".join(served_pair.output)
    wait_until(lambda: not alive(app), what=f"app {app} ends after serve got {sig.name}")
    done.set()
    thread.join(10)
    assert alive(run), "stopping serve stopped the run: it goes on, as a detached run does"
    if sig is not signal.SIGKILL:
        assert "Stopped." in "".join(served_pair.output)
        assert "goes on in its own process. Come back to it with: tuiagents attach " in "".join(served_pair.output)


def _serve_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuiagents", *args], cwd=tmp_path, env=isolated_env(tmp_path),
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("args", "says"), [
    (["serve", "--host", "0.0.0.0"], "no TLS"),
    (["serve", "--host", "0.0.0.0"], "--allow-remote"),
    (["serve", "--", "sessions"], "does not open the app"),
    (["serve", "--", "demo", "--headless"], "drop --headless"),
    (["serve", "--", "run", "--detach", "--task", "t"], "drop --detach"),
    (["serve", "--", "serve"], "does not open the app"),
    (["serve", "--", "no-such-command"], "not valid"),
    (["--config", "c.toml", "serve"], "after `--`"),
    (["serve", "--", "--config", "missing.toml"], "missing.toml"),
    (["serve", "--", "replay", "no-such-session"], "no session log 'no-such-session'"),
    (["serve", "--port", "70000"], "not a port"),
])
def test_bad_arguments_are_exit_2_with_what_to_do(tmp_path, args, says):
    done = _serve_cli(tmp_path, *args)
    assert done.returncode == 2, done
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_exit_2_naming_it(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _serve_cli(tmp_path, "serve", "--port", str(port))
    assert done.returncode == 2 and f"port {port}" in done.stderr and "--port 0" in done.stderr, done.stderr


def test_allow_remote_serves_with_a_loud_warning(tmp_path):
    served = start_serve(tmp_path, ["--host", "0.0.0.0", "--allow-remote"])
    try:
        shown = "".join(served.output)
        assert "WARNING" in shown and "no TLS" in shown and "ssh -N -L" in shown
        assert served.url.startswith("http://127.0.0.1:")
    finally:
        assert served.stop() == 0


def test_loopback_hosts():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.2", "example.com", ""]))


def test_each_tab_runs_what_follows_the_double_dash_attach_included():
    # `attach ID` (a run in its own process) is served like any app command once the parser knows it.
    check_app_command(argparse.Namespace(command="attach"))
    settings = ServeSettings(app_args=("attach", "RUN-ID"))
    assert settings.command == [sys.executable, "-m", "tuiagents", "attach", "RUN-ID"]
    with pytest.raises(ServeError, match="does not open the app"):
        check_app_command(argparse.Namespace(command="ps"))


def test_an_app_that_ignores_quit_and_sigterm_is_killed_with_what_it_started(tmp_path, monkeypatch):
    # The escalation of ServedApp.stop on a real process tree: quit (ignored), SIGTERM (ignored),
    # then SIGKILL to the app's process group, which takes the child it started too.
    from textual_serve.download_manager import DownloadManager

    import tuiagents.app.serve as serve

    monkeypatch.setattr(serve, "GRACE_SECONDS", 0.5)
    pids = tmp_path / "pids"
    stubborn = ("import os, signal, subprocess, sys, time\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "child = subprocess.Popen(['sleep', '300'])\n"
                f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
                "print('__GANGLION__', flush=True)\n"
                "time.sleep(300)\n")

    async def go() -> tuple[int, int]:
        async def ignore(*_args) -> None:
            return None

        app = serve.ServedApp([sys.executable, "-c", stubborn], write_bytes=ignore, write_str=ignore,
                              close=ignore, download_manager=DownloadManager())
        await app.start(80, 24)
        for _ in range(200):
            if pids.exists() and pids.read_text():
                break
            await asyncio.sleep(0.05)
        pid, child = map(int, pids.read_text().split())
        assert alive(pid) and alive(child)
        await app.stop()
        return pid, child

    pid, child = asyncio.run(go())
    for _ in range(100):  # a SIGKILL is delivered, not awaited: the kernel ends them a moment later
        if not alive(pid) and not alive(child):
            break
        time.sleep(0.05)
    assert not alive(pid) and not alive(child)
