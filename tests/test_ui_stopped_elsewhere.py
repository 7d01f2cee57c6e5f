"""Two views of one run: view A has a reject dialog open when view B stops the run. A says once
that the run stopped, and what A sends from its dialog afterwards is refused as stopped (by whom),
not as "answered already". Real detached run, real sockets, Textual pilot for A, a second real
client (its own connection and sender) for B."""

from __future__ import annotations

import asyncio

from test_ui_attached import SIZE, detached, pending_content, until  # noqa: F401 - the fixture
from textual.widgets import Static

from tuiagents.testing import Rule, Script
from tuiagents.ui.screens.answered_elsewhere import ANSWERED_ID
from tuiagents.ui.screens.prompt_screens import TextPromptScreen


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_stop_from_another_view_is_told_once_and_a_dialog_s_send_says_the_run_stopped(detached):
    from tuiagents.app.attach import attach_app
    from tuiagents.engine.decisions import Sender
    from tuiagents.engine.handle import StopRun
    from tuiagents.session.run_client import RemoteRunHandle

    rec = detached(Script(rules=[Rule(agent="assistant", replies=["first draft", "second draft"])]))
    app = attach_app(rec.run_id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pending_content(app) == "first draft", "the first draft")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TextPromptScreen), "the reject dialog")
        await pilot.press(*"too short")
        other = await asyncio.to_thread(RemoteRunHandle, rec.socket, Sender(user="bob", client="attached",
                                                                            where="pts/9"))
        try:
            assert (await asyncio.to_thread(other.control, StopRun())).applied
            await until(pilot, lambda: app.cockpit.state.stopped, "the stop, in view A")
            await pilot.pause(3)  # the run process ends meanwhile: its connection closes
            stopped = [n for n in notes(app) if n.startswith("Run stopped")]
            assert len(stopped) == 1, notes(app)
            assert "pts/9" in stopped[0]
            # the dialog says what became of its request: the run stopped, not an answer
            line = str(app.screen.query_one(f"#{ANSWERED_ID}", Static).render())
            assert line.startswith("The run stopped: stopped by ") and "pts/9" in line, line
            assert "answered already" not in line.lower()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: any(n.startswith("Not sent") for n in notes(app)), "the refusal")
            [refusal] = [n for n in notes(app) if n.startswith("Not sent")]
            assert "answered already" not in refusal and "stopped" in refusal and "pts/9" in refusal, refusal
        finally:
            other.close()
