"""End to end in a real terminal: a person edits a tool call's arguments in tuiagents under tmux
(e, the editor's keys, ctrl+s to the diff, ctrl+s to run), and the session log holds the model's
arguments and theirs. The harness is `test_e2e_tmux.py`'s."""

from __future__ import annotations

import json

from test_demo import isolated_env
from test_e2e_tmux import quit_and_session_log, terminal  # noqa: F401 - the fixture

from tuiagents.testing import Reply, Rule, Script, ScriptedServer

CALC = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''


def test_a_tool_calls_arguments_edited_in_the_terminal_run_and_are_logged(terminal, tmp_path):  # noqa: F811
    (tmp_path / "calc.py").write_text(CALC)
    script = Script(rules=[Rule(agent="assistant", turn=0, reply=Reply.tool("add", {"a": 2, "b": 3})),
                           Rule(agent="assistant", reply="The sum is 9.\n\nTERMINATE")])
    with ScriptedServer(script) as server:
        config = tmp_path / "config.toml"
        config.write_text(f"""
[[models]]
name = "default"
model = "scripted-model"
base_url = "{server.url}"
max_retries = 0

[llm]
cache_seed = false

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"
tools = ["calc:add"]

[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "assistant"]
max_turns = 4

[session]
dir = "{tmp_path / 'sessions'}"

[ui]
bell = false
""")
        terminal.start(["--config", str(config), "--team", "pair", "--task", "Add 2 and 3."], isolated_env(tmp_path))
        terminal.wait_for("Deliver assistant's message?")
        terminal.keys("a")
        # the run lives in its own process: its events reach the screen as they come over its
        # socket, so the request and the tool's description may be painted a frame apart
        shown = terminal.wait_for(lambda s: "assistant wants to call add" in s and "Add two integers." in s)
        assert "Add two integers." in shown and "a: integer, required" in shown
        terminal.keys("e")
        terminal.dialog("Edit the arguments of assistant's call of add")
        terminal.keys("Up", "End", "BSpace", "7", "C-s")
        shown = terminal.wait_for("the model's arguments → yours")
        assert '-  "b": 3' in shown and '+  "b": 7' in shown
        terminal.keys("C-s")
        terminal.wait_for(lambda s: "run with arguments edited" in s and "Deliver assistant's message?" in s)
        terminal.keys("a")
        terminal.wait_for("stopped: assistant said TERMINATE")
    log = quit_and_session_log(terminal)
    events = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    [decided] = [e for e in events if e["type"] == "decision_recorded" and e["request_kind"] == "tool_call"]
    assert json.loads(decided["decision"]["original"]) == {"a": 2, "b": 3}
    assert json.loads(decided["decision"]["content"]) == {"a": 2, "b": 7}
    [finished] = [e for e in events if e["type"] == "tool_call_finished"]
    assert finished["result"]["content"].endswith("\n9")
