"""SVG snapshots of the cockpit at 160×48, fed with fixed events (fixed timestamps and clock).

Update after an intended change with ``pytest tests/test_ui_snapshots.py --snapshot-update`` and
look at the SVGs in ``tests/__snapshots__/test_ui_snapshots/``.
"""

from __future__ import annotations

import pytest
from ui_support import (
    SIZE,
    T0,
    code_request,
    conversation,
    fixed_clock,
    message_request,
)

from tuiagents.engine.events import (
    ExecutionOutput,
    ExecutionStarted,
    RunStopped,
    StopKind,
)
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.settings import UIOptions

FIVE = ["user", "planner", "coder", "critic", "writer"]
CODE = "from statistics import mean\n\ntemps = {'Lisbon': [19, 21, 22], 'Oslo': [4, 6, 5]}\n" \
       "for city, values in temps.items():\n    print(f'{city}: {mean(values):.1f}')"


def app_for(events, theme: str = "tuiagents-dark") -> TuiAgentsApp:
    """A replay-style app (no engine) showing `events`, with a frozen clock."""
    return TuiAgentsApp(events=events, options=UIOptions(theme=theme, bell=False), clock=fixed_clock())


async def settle(pilot) -> None:
    """Let mounting, layout and the coalesced redraws finish."""
    await pilot.pause(0.2)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)


def test_layout_two_agents(snap_compare):
    events = conversation(["user", "coder"], kind="two_agent")
    assert snap_compare(app_for(events), terminal_size=SIZE, run_before=settle)


def test_layout_five_agents_in_tabs(snap_compare):
    events = conversation(FIVE)
    assert snap_compare(app_for(events), terminal_size=SIZE, run_before=settle)


def test_message_approval(snap_compare):
    draft = "Here is my plan:\n\n1. Load the data\n2. Compute the **mean** per city\n\n" \
            "Text from a model stays inert: [bold]not bold[/bold] \x1b[31mnot red\x1b[0m"
    events = conversation(["user", "coder"], kind="two_agent") + message_request("coder", draft)
    assert snap_compare(app_for(events), terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("theme", ["tuiagents-dark", "tuiagents-light", "tuiagents-high-contrast"])
def test_code_confirmation(snap_compare, theme):
    events = conversation(["user", "planner", "coder"]) + code_request("coder", "user", CODE)
    assert snap_compare(app_for(events, theme), terminal_size=SIZE, run_before=settle)


def test_code_running_then_stopped(snap_compare):
    events = conversation(["user", "planner", "coder"]) + code_request("coder", "user", CODE)[:1] + [
        ExecutionStarted(exec_id="x1", agent="user", language="python", code=CODE, executor="docker", ts=T0),
        ExecutionOutput(exec_id="x1", agent="user", text="Lisbon: 20.7\nOslo: 5.0\n", ts=T0),
        RunStopped(reason="stopped by you", kind=StopKind.STOPPED_BY_USER, ts=T0 + 42),
    ]
    assert snap_compare(app_for(events), terminal_size=SIZE, run_before=settle)


def test_timeline(snap_compare):
    events = conversation(["user", "planner", "coder", "critic"])

    async def show_timeline(pilot) -> None:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(app_for(events), terminal_size=SIZE, run_before=show_timeline)


def test_code_confirmation_at_80x24(snap_compare):
    """The smallest promised terminal: where the code runs and the decision stay in view, the
    code scrolls."""
    long_code = CODE + "\n" + "\n".join(f"print({i})" for i in range(20))
    events = conversation(["user", "planner", "coder"]) + code_request("coder", "user", long_code)
    assert snap_compare(app_for(events), terminal_size=(80, 24), run_before=settle)
