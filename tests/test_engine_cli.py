"""The `tuiagents` command: headless runs in-process and in a real subprocess, exit codes, config
error texts, --version and a --help that loads neither openai nor textual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents import __version__
from tuiagents.app.cli import main
from tuiagents.session.reader import read_session
from tuiagents.testing import Fault, Rule

AGENTS = '''
[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "ALWAYS"
default_auto_reply = "please go on"

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"
'''


def write_config(tmp_path: Path, server, body: str = "", *, agents: str = AGENTS,
                 teams: str = '[[teams]]\nname = "pair"\nagents = ["user", "assistant"]\nmax_turns = 3\n') -> Path:
    text = (f'[llm]\ncache_seed = false\n\n[[models]]\nname = "default"\nmodel = "scripted-model"\n'
            f'base_url = "{server.url}"\nmax_retries = 0\n{agents}\n{teams}\n{body}')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_headless_run_prints_the_conversation_and_writes_the_log(server, capsys, tmp_path):
    server.load([Rule(agent="assistant", replies=["Step one done.", "All done. TERMINATE"])])
    config = write_config(tmp_path, server)
    session = tmp_path / "out" / "run.jsonl"
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--team", "pair",
                             "--task", "do the thing", "--approve", "all", "--session", str(session))

    assert code == 0, err
    assert "team pair (two_agent)" in out and "task: do the thing" in out
    assert "assistant:\nStep one done." in out and "user:\nplease go on" in out
    assert "· message of assistant: approved (by policy: --approve all)" in out
    assert "· human_input of user: approved (by policy: --approve all)" in out
    assert out.rstrip().splitlines()[-2] == "Stopped: assistant said TERMINATE"
    assert f"Session log: {session}" in out
    log = read_session(session)
    assert log.finished and log.run_stopped.reason == "assistant said TERMINATE"


def test_headless_group_chat(server, capsys, tmp_path):
    server.load([Rule(agent="speaker_selector", replies=["critic", "coder"]),
                 Rule(agent="coder", reply="code written"), Rule(agent="critic", reply="looks fine")])
    agents = AGENTS + "".join(f'\n[[agents]]\nname = "{n}"\nkind = "assistant"\nmodel = "default"\n'
                              for n in ("coder", "critic"))
    teams = ('[[teams]]\nname = "crew"\nkind = "group_chat"\nagents = ["user", "coder", "critic"]\n'
             'speaker_selection = "auto"\nmax_rounds = 2\n')
    config = write_config(tmp_path, server, agents=agents, teams=teams)
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--team", "crew",
                             "--task", "build it", "--approve", "all", "--session", str(tmp_path / "g.jsonl"))
    assert code == 0, err
    assert "· next speaker: critic [auto]" in out and "· next speaker: coder [auto]" in out
    assert "critic:\nlooks fine" in out and "coder:\ncode written" in out
    assert "Stopped: max rounds 2 reached" in out


def test_run_failure_exits_1(server, capsys, tmp_path):
    server.load([Rule(agent="assistant", fault=Fault.bad_request("model 'scripted-model' does not exist"))])
    config = write_config(tmp_path, server)
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task", "x",
                             "--approve", "all", "--session", str(tmp_path / "f.jsonl"))
    assert code == 1
    assert "Stopped: assistant got no reply from its model" in out
    assert "does not exist" in out
    assert read_session(tmp_path / "f.jsonl").run_stopped.kind.value == "error"


@pytest.mark.parametrize("edit, expected", [
    (("[[agents]]\nname = \"user\"", "[[agents]]\nname = \"user\"\nmodle = \"x\""),
     ["agents[0].modle", "unknown key", "remove it or check its spelling"]),
    (("max_turns = 3", "max_turns = \"ten\""), ["teams[0].max_turns", "valid integer"]),
    (("model = \"default\"\n", "model = \"gpt-9\"\n"),
     ["agents[1].model", "'gpt-9', which is not defined", "add a [[models]] entry named 'gpt-9'",
      "or use one of: default"]),
    (("agents = [\"user\", \"assistant\"]", "agents = [\"user\", \"ghost\"]"),
     ["teams[0].agents[1]", "names agent 'ghost', which is not defined", "add an [[agents]] entry named 'ghost'"]),
    (("[llm]", "[llm"), ["not valid TOML"]),
])
def test_bad_config_exits_2_and_says_what_to_change(server, capsys, tmp_path, edit, expected):
    config = write_config(tmp_path, server)
    text = config.read_text()
    assert edit[0] in text
    config.write_text(text.replace(edit[0], edit[1], 1))
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task", "x",
                             "--session", str(tmp_path / "never.jsonl"))
    assert code == 2
    assert err.startswith(f"tuiagents: {config}: ")
    for text in expected:
        assert text in err, err
    assert not (tmp_path / "never.jsonl").exists()
    assert server.chat_requests == []


def test_missing_config_file_exits_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "--headless", "--config", str(tmp_path / "nope.toml"), "--task", "x")
    assert code == 2 and "nope.toml: file not found" in err


def test_missing_task_exits_2(server, capsys, tmp_path):
    config = write_config(tmp_path, server)
    code, _, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--approve", "all")
    assert code == 2 and "no task: pass --task TEXT" in err
    assert server.chat_requests == []


def test_unknown_team_exits_2(server, capsys, tmp_path):
    config = write_config(tmp_path, server)
    code, _, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--team", "crew",
                           "--task", "x")
    assert code == 2 and "no team named 'crew' (teams: pair)" in err


def test_default_task_from_the_team(server, capsys, tmp_path):
    server.load([Rule(agent="assistant", reply="TERMINATE")])
    config = write_config(tmp_path, server, teams='[[teams]]\nname = "pair"\nagents = ["user", "assistant"]\n'
                                                  'task = "the default task"\n')
    code, out, _ = run_cli(capsys, "run", "--headless", "--config", str(config), "--approve", "all",
                           "--session", str(tmp_path / "d.jsonl"))
    assert code == 0 and "task: the default task" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tuiagents {__version__}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TUIAGENTS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_help_imports_neither_openai_nor_textual():
    code = ("import sys\nfrom tuiagents.app.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0\nheavy = sorted(m for m in ('openai', 'textual', 'docker') if m in sys.modules)\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "usage: tuiagents" in proc.stdout and "run" in proc.stdout
    heavy = proc.stderr.strip().splitlines()[-1]
    assert "'openai'" not in heavy and "'textual'" not in heavy, heavy


def test_real_subprocess_headless_run(server, tmp_path):
    server.load([Rule(agent="assistant", reply="Hello from the model. TERMINATE")])
    config = write_config(tmp_path, server)
    session = tmp_path / "sub.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(config), "--task", "greet",
         "--approve", "all", "--session", str(session)],
        capture_output=True, text=True, env=_env(), timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "assistant:\nHello from the model. TERMINATE" in proc.stdout
    assert "Stopped: assistant said TERMINATE" in proc.stdout
    assert read_session(session).finished
    assert len(server.requests_for("assistant")) == 1


def test_headless_approve_ask_reads_decisions_from_the_console(server, capsys, tmp_path, monkeypatch):
    import io

    server.load([Rule(agent="assistant", replies=["a long rambling draft", "short draft"])])
    config = write_config(tmp_path, server)
    # reject with feedback, approve the new draft, then the user (ALWAYS) types "exit"
    monkeypatch.setattr(sys, "stdin", io.StringIO("r\nbe brief\na\nexit\n"))
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task", "explain",
                             "--approve", "ask", "--session", str(tmp_path / "ask.jsonl"))
    assert code == 0, err
    assert out.count("? Deliver assistant's message?") == 2
    assert "rejected: be brief (by you)" in out
    assert "assistant:\nshort draft" in out and "assistant:\na long rambling draft" not in out
    assert "be brief" in server.requests_for("assistant")[1].body["messages"][-1]["content"]
    assert "Stopped: stopped by you" in out


def test_a_time_limit_ends_a_console_prompt_nobody_answers(server, tmp_path):
    """--approve ask waiting on stdin: the team's time limit still ends the run and the process."""
    server.load([Rule(agent="assistant", reply="A draft that nobody will approve.")])
    # the limit leaves the draft time to arrive on a loaded machine: the prompt must be up before it
    config = write_config(tmp_path, server, teams='[[teams]]\nname = "pair"\nagents = ["user", "assistant"]\n'
                                                  'timeout = 6\n')
    read_end, write_end = os.pipe()  # we hold the write end open: the prompt never gets an answer
    proc = subprocess.Popen([sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(config),
                             "--task", "wait", "--approve", "ask", "--session", str(tmp_path / "t.jsonl")],
                            stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    os.close(read_end)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        os.close(write_end)
    assert proc.returncode == 0, err
    assert "[a]pprove" in out and "Stopped: time limit 6 s reached" in out
