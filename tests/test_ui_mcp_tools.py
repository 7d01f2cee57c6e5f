"""Pilot tests of MCP tools in the cockpit, on a real run with a real MCP server: the person sees
the server's description of a tool when deciding on its call; a server that cannot start is a
clear notice, not a traceback; quitting the app in the middle of a run leaves no server behind."""

from __future__ import annotations

from typing import Any

from ui_support import make_app, screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.testing import Reply, Rule

from mcp_support import alive, calc_stdio, server_pid

ADD_DESCRIPTION = "Add two whole numbers and return their sum (from the calc MCP server)."
SIZE = (160, 48)


def calc_config(make_config: Any, server_entry: dict) -> Any:
    agents = [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "default_auto_reply": "go on"},
              {"name": "assistant", "kind": "assistant", "model": "default", "tools": ["mcp:calc"]}]
    return make_config(agents=agents, teams=[{"name": "pair", "agents": ["user", "assistant"], "max_turns": 3}],
                       mcp_servers=[server_entry])


def flat(text: str) -> str:
    """Screen text with line breaks, borders and runs of spaces folded to single spaces."""
    return " ".join(text.replace("│", " ").replace("┃", " ").replace("▌", " ").split())


async def test_the_person_sees_the_mcp_tools_description_when_deciding(server, make_config, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "It is 5. TERMINATE"])])
    pid_file = tmp_path / "calc.pid"
    app = make_app(calc_config(make_config, calc_stdio(pid_file=pid_file)), "pair", "Add 2 and 3", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), timeout=60, what="the draft")
        await pilot.press("a")
        await wait_until(pilot, lambda: waiting(app, RequestKind.TOOL_CALL), what="the tool call request")
        await pilot.pause()
        assert ADD_DESCRIPTION in flat(screen_text(app)), screen_text(app)
        await pilot.press("a")
        await wait_until(pilot, lambda: "↳ add: 5" in app.cockpit.timeline.text(), what="the MCP result")
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the answer")
        await pilot.press("a")
        await wait_until(pilot, lambda: app.cockpit.result is not None, what="the end of the run")
        await pilot.press("q")  # right away: the servers are still being stopped
    assert not alive(server_pid(pid_file))


async def test_a_server_that_cannot_start_is_a_clear_notice(server, make_config, tmp_path):
    app = make_app(calc_config(make_config, calc_stdio("calc", "--crash")), "pair", "Add", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.cockpit.result is not None, timeout=60, what="the end of the run")
        await pilot.pause()
        shown = flat(screen_text(app))
        assert "stopped: MCP server 'calc' could not start" in shown, screen_text(app)  # the status bar
        # a toast says it all: which server, why, and the last lines of its stderr
        toasts = [n for n in app._notifications if "MCP server 'calc' could not start" in n.message]
        assert any(n.severity == "error" and "cannot open tables.db: no such file" in n.message for n in toasts)
        assert "cannot open tables.db" in flat(app.cockpit.timeline.text())
        assert not any("Traceback" in n.message for n in app._notifications) and "Traceback" not in shown
        assert app.cockpit.engine_error is None
    assert server.requests_for("assistant") == []


async def test_quitting_while_a_call_waits_leaves_no_server_behind(server, make_config, tmp_path):
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "TERMINATE"])])
    pid_file = tmp_path / "calc.pid"
    app = make_app(calc_config(make_config, calc_stdio(pid_file=pid_file)), "pair", "Add", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), timeout=60, what="the draft")
        pid = server_pid(pid_file)
        assert alive(pid)
        await app.action_quit()
    assert not alive(pid)
