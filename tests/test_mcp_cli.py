"""MCP tools on the `tuiagents` command: the README's calc example as written, exit codes and
messages for servers that cannot start and tools they lack, and Ctrl+C leaving no server behind."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuiagents.app.cli import main
from tuiagents.session.reader import read_session
from tuiagents.testing import Reply, Rule, ScriptedServer

from headless_support import pair_toml
from mcp_support import CALC, alive, server_pid
from test_readme import readme_commands

ROOT = Path(__file__).resolve().parent.parent


def calc_config(tmp_path: Path, url: str, *, tools: str = '["mcp:calc"]', args: str = "", env: str = "") -> Path:
    server = (f'\n[[mcp_servers]]\nname = "calc"\ncommand = ["{sys.executable}", "{CALC}"{args}]\n'
              f'{env}\ntimeout = 120\n')
    path = tmp_path / "config.toml"
    path.write_text(pair_toml(url, 4, assistant_lines=f"tools = {tools}", after=server))
    return path


def run_cli(capsys, config: Path, tmp_path: Path) -> tuple[int, str, str]:
    code = main(["run", "--headless", "--config", str(config), "--task", "add 2 and 3", "--approve", "all",
                 "--session", str(tmp_path / "run.jsonl")])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_readme_calc_example_runs_as_written(tmp_path):
    """The README's MCP line, on a copy of config.toml.example beside the example server it names."""
    line = next(c for c in readme_commands() if c.startswith("tuiagents run") and "--team calc" in c)
    (tmp_path / "config.toml").write_bytes((ROOT / "config.toml.example").read_bytes())
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "mcp_calc_server.py").write_bytes((ROOT / "examples" / "mcp_calc_server.py").read_bytes())
    rules = [Rule(agent="calculator", replies=[Reply.tool("multiply", a=1234, b=5678),
                                               Reply.tool("subtract", a=7006652, b=91),
                                               "1234 * 5678 - 91 = 7006561. TERMINATE"])]
    env = {**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path / "data"), "OPENAI_API_KEY": "sk-test-not-real",
           "TUIAGENTS_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_HOST": "unix:///nonexistent.sock",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("TUIAGENTS_CONFIG", None)
    with ScriptedServer(rules) as server:
        env["OPENAI_BASE_URL"] = server.url
        done = subprocess.run([sys.executable, "-m", "tuiagents", *shlex.split(line)[1:]], capture_output=True,
                              text=True, timeout=120, env=env, cwd=tmp_path)
        offered = {t["function"]["name"]: t["function"]["description"]
                   for t in server.requests_for("calculator")[0].body["tools"]}
    assert done.returncode == 0, done.stderr + done.stdout
    assert "↳ multiply: 7006652" in done.stdout and "↳ subtract: 7006561" in done.stdout
    assert "Stopped: calculator said TERMINATE" in done.stdout
    assert offered["divide"] == "Divide a by b and return the quotient; b must not be 0."


def test_a_server_that_cannot_start_exits_1_naming_it_and_its_stderr(server, capsys, tmp_path):
    config = calc_config(tmp_path, server.url, args=', "--crash"')
    code, out, err = run_cli(capsys, config, tmp_path)
    assert code == 1
    assert "MCP server 'calc'" in out and "could not start" in out
    assert "its stderr ended with:" in out and "calc: cannot open tables.db: no such file" in out
    assert "Traceback" not in out + err
    log = read_session(tmp_path / "run.jsonl")
    assert log.run_stopped.kind.value == "error" and "MCP server 'calc'" in log.run_stopped.reason


def test_a_tool_the_server_lacks_exits_2(server, capsys, tmp_path):
    config = calc_config(tmp_path, server.url, tools='["mcp:calc/power"]')
    code, out, err = run_cli(capsys, config, tmp_path)
    assert code == 2
    assert "no tool 'power'" in out and "its tools: add, calc.square, die, fail, slow, whoami" in out


def test_an_unknown_server_exits_2_at_load(server, capsys, tmp_path):
    config = calc_config(tmp_path, server.url, tools='["mcp:calculator"]')
    code, out, err = run_cli(capsys, config, tmp_path)
    assert code == 2
    assert "agents[1].tools[0]" in err and "MCP server 'calculator', which is not defined" in err
    assert not (tmp_path / "run.jsonl").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_in_the_middle_of_a_call_leaves_no_server_behind(sig, server, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("slow", seconds=120), "TERMINATE"])])
    pid_file = tmp_path / "calc.pid"
    config = calc_config(tmp_path, server.url, env=f'env = {{ MCP_PID_FILE = "{pid_file}" }}')
    proc = subprocess.Popen([sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(config),
                             "--task", "be slow", "--approve", "all", "--session", str(tmp_path / "run.jsonl")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TUIAGENTS_DATA_DIR": str(tmp_path / "data")})
    try:
        deadline = time.monotonic() + 60
        log = tmp_path / "run.jsonl"
        while not (log.exists() and '"tool_call_started"' in log.read_text()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the call never started"
            time.sleep(0.1)
        pid = server_pid(pid_file)
        assert alive(pid)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err
    assert not alive(pid)
    assert read_session(tmp_path / "run.jsonl").run_stopped is not None


def test_doctor_starts_each_mcp_server_and_lists_its_tools(server, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")  # the Docker checks fail fast
    good = calc_config(tmp_path, server.url)
    text = good.read_text() + (f'\n[[mcp_servers]]\nname = "broken"\ncommand = ["{sys.executable}", "{CALC}", '
                               f'"--crash"]\n')
    good.write_text(text)
    code = main(["doctor", "--config", str(good)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "✓ MCP server calc: started; 6 tool(s): add, calc.square, die, fail, slow, whoami" in out
    assert "✗ MCP server broken: it closed the connection (did the server exit?)" in out
    assert "calc: cannot open tables.db: no such file" in out and 'name = "broken"' in out
