"""A swarm's handoffs and the `[context]` templates are checked when the config is loaded: a bad
handoff or an unknown variable is a config error naming it and where it is used (exit 2, no
traceback); `tuiagents run --headless` runs a swarm on the console, handoffs shown and decided there."""

from __future__ import annotations

import io
import sys

import pytest

from tuiagents.app.cli import main
from tuiagents.config import ConfigError, parse_config
from tuiagents.session.reader import read_session
from tuiagents.templates import TemplateError, fill_template, template_names
from tuiagents.testing import Reply, Rule

from test_engine_cli import run_cli, write_config

MODEL = {"name": "m", "model": "x", "base_url": "http://127.0.0.1:9/v1"}


def _config(agents: list[dict], team_agents: list[str], **top) -> dict:
    return {"models": [MODEL], "agents": [{"kind": "assistant", "model": "m", **a} for a in agents],
            "teams": [{"name": "desk", "kind": "swarm", "agents": team_agents}], **top}


@pytest.mark.parametrize(("agents", "team", "expected"), [
    ([{"name": "a", "handoffs": ["a"]}, {"name": "b"}], ["a", "b"],
     "agents[0].handoffs[0]: agent 'a' (in swarm team 'desk') hands off to itself"),
    ([{"name": "a", "handoffs": ["ghost"]}, {"name": "b"}], ["a", "b"],
     "agents[0].handoffs[0]: agent 'a' (in swarm team 'desk') hands off to 'ghost', which is not defined; "
     "use one of b, or \"user\" for the person"),
    ([{"name": "a"}, {"name": "b", "handoffs": ["a", "c"]}, {"name": "c"}], ["a", "b"],
     "agents[1].handoffs[1]: agent 'b' (in swarm team 'desk') hands off to 'c', which is not in team 'desk'"),
], ids=["itself", "unknown", "outside-the-team"])
def test_a_bad_handoff_is_a_config_error_naming_it(agents, team, expected):
    with pytest.raises(ConfigError) as err:
        parse_config(_config(agents, team))
    assert expected in str(err.value)


def test_handoffs_to_the_team_and_to_the_person_load():
    cfg = parse_config(_config([{"name": "a", "handoffs": ["b", "user"]}, {"name": "b", "handoffs": ["a"]}],
                               ["a", "b"]))
    assert cfg.agent("a").handoffs == ["b", "user"]
    with pytest.raises(ConfigError, match="a swarm team needs at least 2 agents"):
        parse_config(_config([{"name": "a"}], ["a"]))


@pytest.mark.parametrize(("where", "text", "expected"), [
    ("system", "Help {customer} with {prodct}.",
     "agents[0].system_message (agent 'a' system message): unknown context variable {prodct}; "
     "add prodct = \"...\" to [context] (defined: customer, product)"),
    ("task", "Refund {customer}'s {order_id}.",
     "teams[0].task (team 'desk' task): unknown context variable {order_id}"),
    ("task", "Send {\"id\": 1}.", "teams[0].task (team 'desk' task): a lone '{' near"),
], ids=["system-message", "team-task", "lone-brace"])
def test_an_unknown_variable_is_a_config_error_naming_it_and_where(where, text, expected):
    agents = [{"name": "a", **({"system_message": text} if where == "system" else {})}, {"name": "b"}]
    data = _config(agents, ["a", "b"], context={"customer": "Ada", "product": "toaster"})
    if where == "task":
        data["teams"][0]["task"] = text
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert expected in str(err.value)


def test_without_a_context_table_texts_keep_their_braces():
    data = _config([{"name": "a", "system_message": "Answer as {\"ok\": true}."}, {"name": "b"}], ["a", "b"])
    cfg = parse_config(data)
    assert cfg.context is None
    assert cfg.fill(cfg.agent("a").system_message, "x") == "Answer as {\"ok\": true}."


def test_fill_template_fills_names_and_keeps_doubled_braces():
    context = {"who": "Ada", "n": 3, "vip": True, "ratio": 0.5}
    assert fill_template("{who} has {n} orders {{not {who}}} vip={vip} r={ratio}", context, "t") == \
        "Ada has 3 orders {not Ada} vip=true r=0.5"
    assert template_names("{a} {b} {a} {{c}}") == ["a", "b"]
    with pytest.raises(TemplateError) as err:
        fill_template("hi {nobody}", context, "stage 2 task")
    assert (err.value.variable, err.value.where) == ("nobody", "stage 2 task")
    assert str(err.value).startswith("stage 2 task: unknown context variable {nobody}")


SWARM = '''
[context]
customer = "Ada"
product = "toaster"

[[agents]]
name = "triage"
kind = "assistant"
model = "default"
system_message = "You route requests from {customer}."
handoffs = ["refunds", "sales"]

[[agents]]
name = "refunds"
kind = "assistant"
model = "default"

[[agents]]
name = "sales"
kind = "assistant"
model = "default"
'''
TEAM = '[[teams]]\nname = "desk"\nkind = "swarm"\nagents = ["triage", "refunds", "sales"]\n'


def test_a_headless_swarm_shows_its_context_and_handoffs(server, capsys, tmp_path):
    server.load([Rule(agent="triage", reply=Reply(tool_calls=[{"name": "transfer_to_refunds"}])),
                 Rule(agent="refunds", reply="Refund sent for the toaster. TERMINATE")])
    config = write_config(tmp_path, server, agents=SWARM, teams=TEAM)
    session = tmp_path / "desk.jsonl"
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task",
                             "{customer} wants a refund for a {product}.", "--approve", "all",
                             "--session", str(session))
    assert code == 0, err
    assert "team desk (swarm)" in out and "task: Ada wants a refund for a toaster." in out
    assert "context: customer=Ada · product=toaster" in out
    assert "⚙ calls transfer_to_refunds({})" in out
    assert "⇢ triage hands the conversation to refunds" in out
    assert "· handoff of triage: approved (by policy: --approve all)" in out
    assert "· next speaker: refunds [handoff] (from triage)" in out
    assert "Stopped: refunds said TERMINATE" in out
    assert read_session(session).header.task == "Ada wants a refund for a toaster."


def test_a_console_supervisor_redirects_a_handoff(server, capsys, tmp_path, monkeypatch):
    server.load([Rule(agent="triage", reply=Reply(tool_calls=[{"name": "transfer_to_sales"}])),
                 Rule(agent="refunds", reply="Refund sent. TERMINATE")])
    config = write_config(tmp_path, server, agents=SWARM, teams=TEAM)
    # approve triage's message, answer the handoff with "2" (refunds), approve refunds' message
    monkeypatch.setattr(sys, "stdin", io.StringIO("a\n2\na\n"))
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task", "refund please",
                             "--approve", "ask", "--session", str(tmp_path / "ask.jsonl"))
    assert code == 0, err
    assert "? triage hands the conversation to sales." in out
    assert "  1. sales (asked for)\n  2. refunds\n" in out
    assert "· handoff of triage: chose refunds to speak next (by you)" in out
    assert "⇢ triage hands the conversation to refunds" in out
    assert server.requests_for("sales") == []


def test_an_unknown_variable_in_the_task_or_the_config_exits_2(server, capsys, tmp_path):
    config = write_config(tmp_path, server, agents=SWARM, teams=TEAM)
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task", "Help {custmer}",
                             "--approve", "all", "--session", str(tmp_path / "x.jsonl"))
    assert code == 2 and "Traceback" not in err
    assert "the task (--task, or the task typed in the app): unknown context variable {custmer}" in err
    assert not (tmp_path / "x.jsonl").exists()

    bad = write_config(tmp_path, server, agents=SWARM.replace("{customer}", "{client}"), teams=TEAM)
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(bad), "--task", "hi")
    assert code == 2 and "Traceback" not in err
    assert "agents[0].system_message (agent 'triage' system message): unknown context variable {client}" in err


def test_a_key_in_the_context_reaches_neither_the_log_nor_the_console(server, capsys, tmp_path, monkeypatch):
    key = "zq8-context-key-7f3a9c1e5b2d4f60"  # a shape no key pattern knows: only the registry finds it
    monkeypatch.setenv("SWARM_DESK_KEY", key)
    server.load([Rule(agent="triage", reply="Done. TERMINATE")])
    body = SWARM.replace('product = "toaster"', f'product = "toaster"\ntoken = "{key}"')
    config = write_config(tmp_path, server, agents=body, teams=TEAM)
    config.write_text(config.read_text().replace('max_retries = 0', 'max_retries = 0\napi_key_env = "SWARM_DESK_KEY"', 1))
    session = tmp_path / "desk.jsonl"
    code, out, err = run_cli(capsys, "run", "--headless", "--config", str(config), "--task", "use {token}",
                             "--approve", "all", "--session", str(session))
    assert code == 0, err
    assert "context: customer=Ada · product=toaster · token=" in out
    assert key not in out + err and key not in session.read_text()
    assert server.requests_for("triage")  # the run did call the model, with the filled task
