"""A nested chat in the cockpit: a block in its owner's pane that holds the chat's drafts and
messages, folds to its summary when the chat ended, and unfolds on a key or a click; approve and
inject work inside it. The real app (Pilot) on a real run against the scripted server."""

from __future__ import annotations

from textual.widgets import Input, RadioButton, TextArea
from ui_support import SIZE, make_app, screen_text, wait_until, waiting

from tuiagents.engine.decisions import ROOT_CHAT, RequestKind
from tuiagents.engine.events import MessageDelivered
from tuiagents.testing import Rule
from tuiagents.ui.chat_block import ChatBlockEntry
from tuiagents.ui.entries import MessageEntry
from tuiagents.ui.screens.inject_screen import InjectScreen

NESTED = "root/user.nested1"


def _config(make_config):
    return make_config(
        agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                 "nested_chats": [{"recipient": "critic", "message": "Critique this:\n{last}"}],
                 "nested_trigger": ["writer"]},
                {"name": "writer", "kind": "assistant"},
                {"name": "critic", "kind": "assistant"}],
        teams=[{"name": "review", "agents": ["user", "writer"], "max_turns": 2}])


def _block(app) -> ChatBlockEntry | None:
    pane = app.cockpit.panes["user"].transcript
    return next((e for e in pane.entries if isinstance(e, ChatBlockEntry)), None)


def _delivered(app, chat: str) -> list:
    return [e.message for e in app.cockpit.run.bus.history if isinstance(e, MessageDelivered) and e.chat == chat]


async def test_approve_and_inject_inside_a_nested_chat_and_its_block_folds_to_the_summary(
        server, make_config, tmp_path):
    server.load([Rule(agent="writer", turn=0, reply="draft one"), Rule(agent="writer", reply="draft two"),
                 Rule(agent="critic", contains="Mention the meter.", reply="Count the syllables: 5-7-5."),
                 Rule(agent="critic", reply="too long")])
    app = make_app(_config(make_config), "review", "Write a haiku.", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="the writer's draft")
        await pilot.press("a")
        critic = await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent
                                  == "critic" and w, what="the critic's draft inside the nested chat")
        assert critic.chat == NESTED
        block = _block(app)
        assert block is not None and not block.folded
        assert "⤷ nested chat with critic" in screen_text(app)
        # the critic's draft waits inside the block, not in a pane of its own
        draft = next(e for e in block.children if isinstance(e, MessageEntry) and e.sender == "critic")
        assert draft.content == "too long" and draft.tags == ["draft · waiting for you"]
        assert "critic" not in app.cockpit.panes

        # inject now, to the critic: delivered inside the nested chat, and the critic drafts again
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, InjectScreen), what="inject dialog")
        app.screen.query_one(TextArea).text = "Mention the meter."
        app.screen.query_one("#inject-target", Input).value = "critic"
        app.screen.query_one("#inject-now", RadioButton).value = True
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.content
                         == "Count the syllables: 5-7-5.", what="the critic's second draft")
        injected = [m for m in _delivered(app, NESTED) if m.sender == "human"]
        assert [(m.content, m.recipient) for m in injected] == [("Mention the meter.", "critic")]
        assert not [m for m in _delivered(app, ROOT_CHAT) if m.sender == "human"]
        assert any(isinstance(e, MessageEntry) and e.human and e.content == "Mention the meter."
                   for e in block.children)

        await pilot.press("a")  # approve the critic's draft, inside the nested chat
        summary = await wait_until(pilot, lambda: (w := waiting(app, RequestKind.MESSAGE)) and w.request.agent
                                   == "user" and w, what="the user's reply: the nested chat's summary")
        assert summary.chat == ROOT_CHAT and summary.request.content == "Count the syllables: 5-7-5."
        assert [m.sender for m in _delivered(app, NESTED)] == ["user", "human", "critic"]
        # the chat ended: its block is folded to the summary
        await wait_until(pilot, lambda: block.folded, what="the block folded")
        assert block.ended and "summary: Count the syllables: 5-7-5." in block.plain_text()
        assert "Critique this:" not in app.cockpit.panes["user"].transcript.text()

        # the fold key on the focused pane unfolds it; a click on its header folds it again
        pane = app.cockpit.panes["user"].transcript
        pane.focus()
        await pilot.press("z")
        await wait_until(pilot, lambda: not block.folded, what="the block unfolded")
        assert "Critique this:" in pane.text()
        pane.action_toggle_fold(block.key)
        assert block.folded

        await pilot.press("a")  # the user's reply goes out in the root chat
        await wait_until(pilot, lambda: any(m.sender == "user" and m.content == "Count the syllables: 5-7-5."
                                            for m in _delivered(app, ROOT_CHAT)), what="the user's reply")


async def test_a_replay_shows_the_nested_chat_as_a_block_in_its_owners_pane(server, make_config, tmp_path, run_to_end):
    from tuiagents.app.launch import prepare_run
    from tuiagents.session.reader import read_session
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    server.load([Rule(agent="writer", reply="a draft"), Rule(agent="critic", reply="too long")])
    run = prepare_run(_config(make_config), "review", "Write a haiku.", approve="all",
                      session_path=tmp_path / "run.jsonl")
    await run_to_end(run)
    app = TuiAgentsApp(events=read_session(tmp_path / "run.jsonl").events, options=UIOptions(bell=False))
    async with app.run_test(size=SIZE) as pilot:
        block = await wait_until(pilot, lambda: _block(app), what="the nested chat's block")
        assert block.folded and block.summary == "too long"
        assert set(app.cockpit.panes) == {"user", "writer"}
        app.cockpit.panes["user"].transcript.action_toggle_fold(block.key)
        await pilot.pause()
        assert [e.sender for e in block.children if isinstance(e, MessageEntry)] == ["user", "critic"]
        assert "Critique this:" in screen_text(app)
