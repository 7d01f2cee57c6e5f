"""`tuiagents serve`: the same app in a web browser, through textual-serve.

Every browser tab that opens the page (with the token, see `serve_auth.py`) gets its own app process,
`python -m tuiagents ARGS`, whose screen textual-serve relays over a websocket to xterm.js in the page.
ARGS are what follows `serve --`: nothing (the app as `tuiagents` opens it), `demo`, `run --team T
--task X`, `replay`, `resume`, or `attach ID` to join a run that lives in its own process.

Served `run ... --task T`, the tabs share one run that `serve` starts in a process of its own:
each runs `attach ID` on it (see `serve_run.py`).

The app processes are this server's to end: each starts in a session of its own (so a stop reaches
what it started) and is told by the kernel to end if the server dies. Stopping the server (Ctrl+C,
SIGTERM, SIGHUP) asks each app to quit as its terminal would, then signals what is left of it. The
token is never given to an app (not in its arguments, not in its environment), so no session log,
export or screen of an app can hold it.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import ipaddress
import logging
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tuiagents.app.serve_auth import TOKEN_PARAM, TokenGate
from tuiagents.app.serve_run import ServedRun
from tuiagents.secrets import mask

# The commands whose process is the app: `None` is `tuiagents` itself. `attach` joins a run that
# lives in its own process; serving it needs nothing more than its name here.
APP_COMMANDS = (None, "run", "demo", "replay", "resume", "attach")
DEFAULT_PORT = 8000
GRACE_SECONDS = 5.0  # how long an app gets to quit before it is signalled, then killed
PR_SET_PDEATHSIG = 1
HOST_HEADER = re.compile(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?")

log = logging.getLogger("tuiagents.serve")


class ServeError(Exception):
    """A problem with how `serve` was asked to run; its message says what to do (`code`: 2, or 1
    when the run it was to start failed for another reason than its config)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ServeSettings:
    """Where to listen and which app to serve."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    app_args: tuple[str, ...] = ()
    allow_remote: bool = False

    @property
    def command(self) -> list[str]:
        """The app process a browser tab gets: this Python running tuiagents with `app_args`."""
        return [sys.executable, "-m", "tuiagents", *self.app_args]


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def remote_risk(host: str, port: int) -> str:
    """What serving on a non-loopback address protects and what it does not."""
    return (f"{host} can be reached from other machines, and `tuiagents serve` speaks plain HTTP (no "
            "TLS). The token keeps out whoever does not have it, but on the network the token, every key "
            "you press and everything the agents show travel unencrypted: anyone who can see the traffic "
            "can read them and take over the app. From another machine, prefer an SSH tunnel to a loopback "
            f"address: `ssh -N -L {port}:127.0.0.1:{port} THIS-HOST`, then open the printed URL there.")


def check_app_command(parsed: Any) -> None:
    """Refuses app arguments whose process is not the app (a console command, --headless, serve)."""
    command = getattr(parsed, "command", None)
    if command not in APP_COMMANDS:
        shown = ", ".join(c for c in APP_COMMANDS if c)
        raise ServeError(f"`tuiagents {command}` does not open the app, so there is nothing to show in a "
                         f"browser. Serve the app itself (nothing after `--`) or one of: {shown}.")
    if getattr(parsed, "headless", False):
        raise ServeError("--headless prints to a console, which a browser does not show: drop --headless "
                         "to serve the app.")
    if getattr(parsed, "detach", False):
        raise ServeError("--detach starts a run with no view and returns, so a browser tab would show nothing: "
                         "drop --detach (a served `run ... --task T` lives in its own process anyway).")


def url_host(host: str) -> str:
    """`host` as it goes in a URL (IPv6 in brackets; a wildcard address as 127.0.0.1)."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (0: a free port), or a ServeError saying what to change."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ServeError(f"cannot find the address {host!r} ({exc.strerror}): give an IP address "
                         "with --host, such as 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if port and exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is in use: choose another with --port N, or "
                             "--port 0 for a free one") from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _die_with_parent() -> Callable[[], None] | None:
    # Linux ends the app with SIGTERM if this server dies without stopping it (kill -9). The
    # function is looked up before the fork, so the child only makes one system call.
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _ended(process: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


class ServedApp(AppService):
    """One browser tab's app process: started without a shell, in a process group of its own, and
    ended with everything it started when the tab closes or the server stops."""

    def __init__(self, argv: Sequence[str], **kw: Any) -> None:
        super().__init__(" ".join(argv), **kw)
        self.argv = list(argv)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=environment, start_new_session=True,
            preexec_fn=_die_with_parent())
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        """The app process's id (also its process group's), once started."""
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Ask the app to quit as its terminal would; signal its process group if it does not."""
        task, self._task = self._task, None
        process = self._process
        if task is None or process is None:
            return
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        await self.send_meta({"type": "quit"})
        if not await _ended(process, GRACE_SECONDS):
            _signal_group(process.pid, signal.SIGTERM)  # the app removes its sandbox containers
            if not await _ended(process, GRACE_SECONDS):
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # anything it started and left in its group
        try:
            await asyncio.wait_for(task, GRACE_SECONDS)
        except asyncio.TimeoutError:
            task.cancel()
        try:
            await self.remote_close()
        except Exception:  # noqa: BLE001 - the browser may have gone first
            pass


class AppServer(Server):
    """textual-serve's server behind the token, serving `settings.command` to each browser tab."""

    def __init__(self, settings: ServeSettings, gate: TokenGate, served_run: ServedRun | None = None) -> None:
        super().__init__(" ".join(settings.command), host=settings.host, port=settings.port, title="tuiagents")
        self.settings = settings
        self.gate = gate
        self.served_run = served_run
        self.apps: set[ServedApp] = set()

    def tab_command(self) -> list[str]:
        """What a new tab runs: `settings.command`, or the cockpit on (the replay of) the shared run."""
        if self.served_run is None:
            return self.settings.command
        return [sys.executable, "-m", "tuiagents", *self.served_run.tab_args()]

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.gate.middleware)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: `serve_main` has printed the address and the token."""

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, with its websocket and files at the address the browser used (so an SSH tunnel
        on another local port works)."""
        if not HOST_HEADER.fullmatch(request.host):  # it goes into the page's HTML as is
            raise web.HTTPBadRequest(text="tuiagents serve: the Host header is not a host name or address\n")
        base = f"{request.scheme}://{request.host}"
        websocket = ("wss" if request.scheme == "https" else "ws") + f"://{request.host}/ws"
        return {"font_size": to_int(request.query.get("fontsize", "16"), 16), "app_websocket_url": websocket,
                "config": {"static": {"url": f"{base}/static/"}}, "application": {"name": self.title}}

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab's terminal: starts its app process and relays keys and screen until either ends."""
        websocket = web.WebSocketResponse(heartbeat=15)
        if not websocket.can_prepare(request).ok:
            # A plain GET (curl, a bookmark): aiohttp would raise from `prepare`, and the response
            # returned unprepared then ended in its "Unhandled exception" traceback and an empty reply.
            log.warning("refused a request to %s that is not a websocket (HTTP 400)", request.path)
            raise web.HTTPBadRequest(text="tuiagents serve: /ws is the websocket of the page the URL with the "
                                          "token opens; open that URL in a browser\n")
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        served: ServedApp | None = None
        try:
            await websocket.prepare(request)
            served = ServedApp(self.tab_command(), write_bytes=websocket.send_bytes,
                               write_str=websocket.send_str, close=websocket.close,
                               download_manager=self.download_manager)
            self.apps.add(served)
            await served.start(width, height)
            await self._process_messages(websocket, served)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 - one tab's failure must not end the server
            log.warning("a browser session ended with an error: %s", error)
        finally:
            if served is not None:
                await served.stop()
                self.apps.discard(served)
        return websocket

    async def stop_apps(self) -> None:
        """Ends every app process this server started."""
        await asyncio.gather(*(app.stop() for app in list(self.apps)), return_exceptions=True)

    async def run(self, sock: socket.socket, stop: asyncio.Event, ready: Callable[[], None],
                  out: Callable[[str], None] = print) -> None:
        """Serves on `sock` until `stop` is set, then ends every app and closes the server; calls
        `ready` once requests are answered, and `out` says when the shared run ends."""
        # No access log: the first request's line would hold the token.
        runner = web.AppRunner(await self._make_app(), access_log=None, handle_signals=False,
                               shutdown_timeout=GRACE_SECONDS)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        ready()
        watch = asyncio.ensure_future(self.served_run.watch(out)) if self.served_run is not None else None
        try:
            await stop.wait()
        finally:
            if watch is not None:
                watch.cancel()
            await self.stop_apps()
            await runner.cleanup()


def serve_main(settings: ServeSettings, out: Callable[[str], None] = print,
               start_run: Callable[[], ServedRun | None] | None = None) -> int:
    """Runs the server until Ctrl+C, SIGTERM or SIGHUP; returns the exit status.

    `start_run` starts the run every tab shows (once the port is bound, so a busy port starts
    none); it raises ServeError when the run cannot start, and the server then does not start."""
    if not is_loopback(settings.host) and not settings.allow_remote:
        raise ServeError(f"refusing to serve on {settings.host}: {remote_risk(settings.host, settings.port)} "
                         "To serve there anyway, on a network you trust, add --allow-remote.")
    sock = bind(settings.host, settings.port)
    try:
        served_run = start_run() if start_run is not None else None
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    gate = TokenGate(port=port)
    logging.basicConfig(level=logging.WARNING, format="tuiagents serve: %(message)s")
    url = f"http://{url_host(settings.host)}:{port}/?{TOKEN_PARAM}={gate.token}"
    # quoted as a shell needs it, so it can be pasted; a key typed into --task stays masked (each
    # argument before quoting, so quoting cannot split a key the mask would know, then the whole)
    shown = mask(shlex.join(["tuiagents", *map(mask, settings.app_args)]))

    def ready() -> None:
        if not is_loopback(settings.host):
            print(f"WARNING: {remote_risk(settings.host, port)}", file=sys.stderr, flush=True)
        if served_run is None:
            out(f"Serving `{shown}` on {settings.host}:{port}: each browser tab gets its own app.")
        else:
            record = served_run.record
            out(f"Serving `{shown}` on {settings.host}:{port}.")
            out(f"Run {record.run_id} ({record.team}) started in its own process (pid {record.pid}): every "
                "browser tab shows this one run, live, with everything so far (a reload too).")
            out(f"Without a browser: {served_run.hint()}")
        out(f"Open this URL (it holds the token; without it, no page is served):\n\n    {url}\n")
        if not is_loopback(settings.host):
            out("From another machine, put this machine's address in place of 127.0.0.1.")
        out("Press Ctrl+C to stop: the apps open in browsers quit with it"
            + (f"; run {served_run.run_id} goes on." if served_run is not None else "."))
        sys.stdout.flush()

    def say(text: str) -> None:  # at once, also when serve's output goes to a pipe or a file
        out(text)
        sys.stdout.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await AppServer(settings, gate, served_run).run(sock, stop, ready, say)

    asyncio.run(main())
    out("Stopped.")
    farewell = served_run.farewell() if served_run is not None else ""
    if farewell:
        out(farewell)
    return 0
