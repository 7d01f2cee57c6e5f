"""What `tuiagents serve` does with requests a browser would not send and with the command it
shows: a real serve process on the scripted server, spoken to with plain HTTP (urllib, as curl)."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request

from serve_support import pair_config, start_serve, stop_all

from tuiagents.testing import Rule, Script, ScriptedServer

SCRIPT = Script(rules=[Rule(agent="assistant", reply="A draft.")])


def test_a_plain_get_of_the_websocket_is_a_400_and_one_plain_line(tmp_path):
    """`curl "http://127.0.0.1:P/ws?token=T"` (no websocket upgrade) gets a clean 400 that says what
    the address is for, and serve's terminal shows at most one plain line: no traceback."""
    with ScriptedServer(SCRIPT) as server:
        served = start_serve(tmp_path, ["--", "run", "--config", str(pair_config(tmp_path, server.url)),
                                        "--team", "pair", "--task", "Served task"])
        try:
            served.wait_for_output(r"Press Ctrl\+C to stop")
            before = len(served.output)
            apps_before = served.children()
            try:
                urllib.request.urlopen(f"{served.base}/ws?token={served.token}", timeout=30)
                raise AssertionError("a plain GET of /ws was answered as a page")
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read().decode()
            assert status == 400, (status, body)
            assert "websocket" in body.lower(), body
            time.sleep(1)  # what serve prints about it is printed by now
            said = "".join(served.output[before:])
            assert "Traceback" not in said and "Unhandled exception" not in said, said
            assert len(said.strip().splitlines()) <= 1, said
            assert served.children() == apps_before  # no app process for a request that is none
            assert served.process.poll() is None  # serve goes on serving
        finally:
            stop_all(served)


def test_the_banner_shows_the_served_command_quoted_as_a_shell_needs_with_keys_masked(tmp_path):
    """The banner's command can be pasted into a shell: `--task 'Served task'`, not `--task Served
    task`; a key typed into the task is still shown masked, never whole."""
    import shlex

    key = "sk-proj-" + "a1B2c3D4e5" * 4
    task = f"Served task, key {key}"
    with ScriptedServer(SCRIPT) as server:
        config = pair_config(tmp_path, server.url)
        served = start_serve(tmp_path, ["--", "run", "--config", str(config), "--team", "pair", "--task", task])
        try:
            banner = served.wait_for_output(r"Serving `([^`]*)`").group(1)
        finally:
            stop_all(served)
    assert key not in "".join(served.output)
    words = shlex.split(banner)
    assert words[:3] == ["tuiagents", "run", "--config"] and words[-4:-1] == ["--team", "pair", "--task"], banner
    assert words[-1].startswith("Served task, key sk-") and words[-1].endswith("…" + key[-4:]), banner
