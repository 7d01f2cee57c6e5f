"""Every limit in the config is checked: a bad value is refused with the key and the allowed range,
and the command exits 2 without a traceback."""

from __future__ import annotations

import pytest

from tuiagents.app.cli import main
from tuiagents.config import ConfigError, parse_config
from tuiagents.ui.settings import UIOptions

AGENTS = [{"name": "a", "kind": "assistant", "model": "m"}, {"name": "b", "kind": "user_proxy"}]
TEAM = {"name": "t", "agents": ["a", "b"]}
MODEL = {"name": "m", "model": "x", "base_url": "http://127.0.0.1:9/v1"}

BAD = [
    ("teams[0].max_turns", {"teams": [{**TEAM, "max_turns": -1}]}, "≥ 1"),
    ("teams[0].max_turns", {"teams": [{**TEAM, "max_turns": 0}]}, "≥ 1"),
    ("teams[0].max_rounds", {"teams": [{**TEAM, "kind": "group_chat", "max_rounds": 0}]}, "≥ 1"),
    ("teams[0].max_messages", {"teams": [{**TEAM, "max_messages": -5}]}, "≥ 1"),
    ("teams[0].max_tokens", {"teams": [{**TEAM, "max_tokens": 0}]}, "≥ 1"),
    ("teams[0].max_cost", {"teams": [{**TEAM, "max_cost": -0.5}]}, "> 0"),
    ("teams[0].max_cost", {"teams": [{**TEAM, "max_cost": float("nan")}]}, "finite"),
    ("teams[0].timeout", {"teams": [{**TEAM, "timeout": 0}]}, "> 0"),
    ("teams[0].timeout", {"teams": [{**TEAM, "timeout": float("inf")}]}, "finite"),
    ("agents[0].max_consecutive_auto_reply", {"agents": [{**AGENTS[0], "max_consecutive_auto_reply": -1}, AGENTS[1]]},
     "≥ 0"),
    ("ui.stream_interval_ms", {"ui": {"stream_interval_ms": 0}}, "≥ 1 and ≤ 10000"),
    ("ui.stream_interval_ms", {"ui": {"stream_interval_ms": -20}}, "≥ 1 and ≤ 10000"),
    ("models[0].timeout", {"models": [{**MODEL, "timeout": -1}]}, "> 0"),
    ("models[0].max_retries", {"models": [{**MODEL, "max_retries": -1}]}, "≥ 0 and ≤ 100"),
    ("models[0].temperature", {"models": [{**MODEL, "temperature": 9}]}, "≥ 0 and ≤ 2"),
    ("models[0].max_tokens", {"models": [{**MODEL, "max_tokens": 0}]}, "> 0"),
    ("llm.retry_base_delay", {"llm": {"retry_base_delay": -1}}, "≥ 0"),
    ("docker.timeout", {"docker": {"timeout": 0}}, "> 0"),
    ("docker.cpus", {"docker": {"cpus": -2}}, "≥ 0.01"),
    # Docker reads a zero (or a value that rounds to zero) as "no limit": every limit refuses it
    ("docker.cpus", {"docker": {"cpus": 0}}, "≥ 0.01"),
    ("docker.cpus", {"docker": {"cpus": 1e-10}}, "≥ 0.01"),
    ("docker.memory", {"docker": {"memory": "0"}}, "≥ 6m"),
    ("docker.memory", {"docker": {"memory": "0g"}}, "≥ 6m"),
    ("docker.memory", {"docker": {"memory": "0.1"}}, "≥ 6m"),
    ("docker.memory", {"docker": {"memory": "5m"}}, "≥ 6m"),
    ("docker.disk_limit", {"docker": {"disk_limit": "0"}}, "≥ 1m"),
    ("docker.disk_limit", {"docker": {"disk_limit": "0.4"}}, "≥ 1m"),
    ("docker.pids_limit", {"docker": {"pids_limit": 0}}, "≥ 8"),
    ("docker.output_limit", {"docker": {"output_limit": 0}}, "≥ 256"),
    ("docker.timeout", {"docker": {"timeout": -1}}, "> 0"),
    ("local_execution.output_limit", {"local_execution": {"output_limit": 0}}, "≥ 256"),
    ("local_execution.timeout", {"local_execution": {"timeout": 0}}, "> 0"),
    # a timeout past what select() and the event loop can wait for crashed the watchdog (OverflowError)
    ("docker.timeout", {"docker": {"timeout": 1e12}}, "> 0 and ≤ 604800"),
    ("local_execution.timeout", {"local_execution": {"timeout": 1e12}}, "> 0 and ≤ 604800"),
    ("local_execution.timeout", {"local_execution": {"timeout": -3}}, "> 0"),
    ("local.port", {"local": {"port": 70000}}, "≥ 0 and ≤ 65535"),
    ("local.n_ctx", {"local": {"n_ctx": 0}}, "≥ 1"),
]


@pytest.mark.parametrize(("key", "section", "allowed"), BAD, ids=[f"{k}={i}" for i, (k, _, _) in enumerate(BAD)])
def test_a_bad_limit_names_the_key_and_the_range(key, section, allowed):
    data = {"models": [MODEL], "agents": AGENTS, "teams": [TEAM], **section}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    line = next(line for line in str(info.value).splitlines() if line.strip().startswith(key + ":"))
    assert allowed in line and "must be" in line


def test_good_limits_pass():
    cfg = parse_config({"models": [{**MODEL, "temperature": 0, "max_retries": 0}], "agents": [
        {**AGENTS[0], "max_consecutive_auto_reply": 0}, AGENTS[1]],
        "teams": [{**TEAM, "max_turns": 1, "max_cost": 0.01, "timeout": 1}], "ui": {"stream_interval_ms": 1}})
    assert cfg.teams[0].max_turns == 1 and cfg.agents[0].max_consecutive_auto_reply == 0


def test_the_smallest_allowed_limits_pass():
    cfg = parse_config({"docker": {"memory": "6m", "disk_limit": "1m", "cpus": 0.01, "pids_limit": 8,
                                   "output_limit": 256}})
    assert (cfg.docker.memory, cfg.docker.disk_limit, cfg.docker.cpus) == ("6m", "1m", 0.01)


@pytest.mark.parametrize("toml", ['memory = "0"', 'disk_limit = "0"', "cpus = 0"])
def test_cli_refuses_a_zero_sandbox_limit(tmp_path, capsys, toml):
    path = tmp_path / "config.toml"
    path.write_text(f'[[agents]]\nname = "a"\nkind = "user_proxy"\n[[agents]]\nname = "b"\nkind = "user_proxy"\n'
                    f'[[teams]]\nname = "t"\nagents = ["a", "b"]\n[docker]\n{toml}\n')
    code = main(["run", "--headless", "--config", str(path), "--task", "x", "--approve", "all",
                 "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert code == 2
    key = toml.split(" ")[0]
    line = next(line for line in err.splitlines() if line.strip().startswith(f"docker.{key}:"))
    assert "must be ≥" in line and "Traceback" not in err + out
    assert not (tmp_path / "s.jsonl").exists()


def test_cli_exits_2_naming_the_key(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[[models]]\nname = "m"\nmodel = "x"\n[[agents]]\nname = "a"\nmodel = "m"\n'
                    '[[agents]]\nname = "b"\n[[teams]]\nname = "t"\nagents = ["a", "b"]\nmax_turns = -1\n')
    code = main(["run", "--headless", "--config", str(path), "--task", "x", "--approve", "all",
                 "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "teams[0].max_turns: must be ≥ 1 (got -1)" in err and "Traceback" not in err + out
    assert not (tmp_path / "s.jsonl").exists()


def test_ui_options_refuse_a_bad_interval():
    with pytest.raises(ValueError, match="stream_interval_ms"):
        UIOptions(stream_interval_ms=0)


@pytest.mark.parametrize("where, name", [("teams", "pa\x1b]0;TITLE\x07\x1b[31mir"), ("agents", "a\x1b[2Jb"),
                                         ("teams", "   ")])
def test_a_name_with_control_characters_is_refused_before_it_reaches_a_terminal(tmp_path, capsys, where, name):
    """Names reach the terminal as is (ps, attach's banner, `run --detach`, file names): a config
    cannot smuggle escape sequences in them."""
    escaped = name.replace("\\", "\\\\").replace("\x1b", "\\u001b").replace("\x07", "\\u0007")
    team = escaped if where == "teams" else "t"
    agent = escaped if where == "agents" else "b"
    path = tmp_path / "config.toml"
    path.write_text(f'[[models]]\nname = "m"\nmodel = "x"\n[[agents]]\nname = "a"\nmodel = "m"\n'
                    f'[[agents]]\nname = "{agent}"\n[[teams]]\nname = "{team}"\nagents = ["a", "{agent}"]\n')
    code = main(["run", "--headless", "--config", str(path), "--task", "x", "--approve", "all",
                 "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err + out
    assert f"{where}[" in err and ("control characters" in err or "cannot be empty" in err)
    assert "\x1b" not in err + out  # the refusal itself shows the name inert
