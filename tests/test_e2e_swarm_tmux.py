"""End to end in a real terminal: a swarm's handoff redirected with keys, as a person would.

tmux runs `tuiagents` on a three-agent swarm (scripted server) whose task is filled from the
config's `[context]`; the context line is on screen, the handoff waits as a transfer, `n` opens
the picker, Down and Enter send the conversation to another agent, which ends the run; the
session log records the redirect.
"""

from __future__ import annotations

import json

import pytest
from test_demo import isolated_env
from test_e2e_tmux import quit_and_session_log, terminal  # noqa: F401 - the fixture

from tuiagents.testing import Reply, Rule, ScriptedServer

pytestmark = [pytest.mark.tmux]


def test_a_handoff_is_redirected_with_keys_in_a_real_terminal(terminal, tmp_path):  # noqa: F811
    rules = [Rule(agent="triage", reply=Reply(content="Sales can help you.", tool_calls=[{"name": "transfer_to_sales"}])),
             Rule(agent="refunds", reply="Refund sent to Ada. TERMINATE")]
    with ScriptedServer(rules) as server:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[[models]]
name = "default"
model = "scripted-model"
base_url = "{server.url}"
max_retries = 0

[llm]
cache_seed = false

[context]
customer = "Ada"

[[agents]]
name = "triage"
kind = "assistant"
system_message = "You route requests from {{customer}}."
handoffs = ["refunds", "sales"]

[[agents]]
name = "refunds"
kind = "assistant"

[[agents]]
name = "sales"
kind = "assistant"

[[teams]]
name = "desk"
kind = "swarm"
agents = ["triage", "refunds", "sales"]

[session]
dir = "{tmp_path / 'sessions'}"

[ui]
bell = false
""")
        terminal.start(["--config", str(config), "--team", "desk", "--task", "{customer} wants money back"],
                       isolated_env(tmp_path))
        shown = terminal.wait_for("Deliver triage's message?")
        assert "context  customer=Ada" in shown and "Ada wants money back" in shown
        terminal.keys("a")
        shown = terminal.wait_for("triage ⇢ sales")
        assert "Hand to sales" in shown and "Redirect" in shown
        terminal.keys("n")
        terminal.dialog("Hand the conversation to")
        terminal.keys("Down", "Enter")
        # the request box and the pane's note come in frames of their own (the panes flush every 50 ms)
        terminal.wait_for(lambda s: "Deliver refunds's message?" in s and "hands the conversation to refunds" in s)
        terminal.keys("a")
        terminal.wait_for("stopped: refunds said TERMINATE")
        assert server.requests_for("sales") == []
    log = quit_and_session_log(terminal)
    decisions = [json.loads(line) for line in log.read_text().splitlines()[1:]
                 if '"decision_recorded"' in line and '"handoff"' in line]
    assert [(d["decision"]["kind"], d["decision"]["target"]) for d in decisions] == [("choose_speaker", "refunds")]
