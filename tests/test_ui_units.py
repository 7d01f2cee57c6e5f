"""Unit tests of the UI's parts: inert text, the virtualised transcript, cockpit state, themes, keymap."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from ui_support import T0, conversation

from tuiagents.engine.events import (
    ExecutionFinished,
    MessageDelivered,
    RunStopped,
    StopKind,
    TokenDelta,
    TurnStarted,
    UsageRecorded,
)
from tuiagents.engine.messages import Message
from tuiagents.ui.bindings import check_keymap, known_ids
from tuiagents.ui.entries import CodeEntry, MessageEntry
from tuiagents.ui.feed import result_line
from tuiagents.ui.safe_text import inert, one_line, plain
from tuiagents.ui.state import CockpitState
from tuiagents.ui.themes import BUILTIN_THEMES, load_theme_file, load_themes
from tuiagents.ui.widgets.status_bar import status_text
from tuiagents.ui.widgets.transcript import Transcript


# -- inert text ------------------------------------------------------------------------------------
def test_inert_makes_control_characters_visible():
    text = "a\x1b[31mred\x1b[0m\x07bell\x00nul\x9bcsi\r\nnext\rret\ttab"
    out = inert(text)
    assert out == "a␛[31mred␛[0m␇bell␀nul\\x9bcsi\nnext␍ret    tab"
    assert not any(ord(c) < 32 and c != "\n" for c in out)


def test_plain_does_not_parse_markup():
    text = plain("[bold red]x[/] [link=http://e]y[/link]")
    assert text.plain == "[bold red]x[/] [link=http://e]y[/link]" and not text.spans


def test_one_line_flattens_and_cuts():
    assert one_line("a\n b\x1b", 80) == "a b␛"
    assert one_line("x" * 100, 10) == "x" * 9 + "…"


# -- transcript --------------------------------------------------------------------------------------
class _One(App):
    def compose(self):
        yield Transcript(id="t")


async def test_transcript_renders_only_what_is_visible():
    app = _One()
    async with app.run_test(size=(100, 30)) as pilot:
        t = app.query_one(Transcript)
        for i in range(5000):
            t.add(MessageEntry(sender=f"a{i % 3}", content=f"message {i}\n\n```python\nprint({i})\n```"))
        await pilot.pause()
        assert t.count == 5000
        assert t.renders < 40  # only the entries on screen (bottom) were rendered
        assert t.follow and t.scroll_y == t.max_scroll_y
        shown = [t.render_line(y).text for y in range(t.size.height)]
        assert any("message 4999" in line for line in shown)
        t.scroll_home(animate=False)
        await pilot.pause()
        assert not t.follow
        assert "message 0" in "\n".join(t.render_line(y).text for y in range(t.size.height))
        t.add(MessageEntry(sender="late", content="new"))
        await pilot.pause()
        assert t.scroll_y == 0  # scrolled up: new entries do not pull the view down


async def test_transcript_rerenders_on_width_change_only():
    app = _One()
    async with app.run_test(size=(100, 30)) as pilot:
        t = app.query_one(Transcript)
        entry = t.add(MessageEntry(sender="a", content="word " * 60))
        await pilot.pause()
        before = t.renders
        t.refresh()
        await pilot.pause()
        assert t.renders == before  # cached
        await pilot.resize_terminal(60, 30)
        await pilot.pause()
        assert t.renders == before + 1  # new width, rendered again
        t.changed(entry)
        await pilot.pause()
        assert t.renders == before + 2


async def test_streaming_entry_renders_incrementally_like_the_full_text():
    app = _One()
    async with app.run_test(size=(60, 30)) as pilot:
        t = app.query_one(Transcript)
        entry = t.add(MessageEntry(sender="a", streaming=True))
        for chunk in ["one two ", "three\nfour ", "five six seven eight nine ten eleven twelve thirteen fourteen\n", "x"]:
            entry.content += chunk
            t.changed(entry)
            await pilot.pause()
        incremental = [t.render_line(y).text for y in range(t.size.height)]
        fresh = MessageEntry(sender="a", streaming=True, content=entry.content, key="other")
        t.clear()
        t.add(fresh)
        await pilot.pause()
        assert [t.render_line(y).text for y in range(t.size.height)] == incremental


def test_code_entry_tails_output():
    entry = CodeEntry(language="python", code="print(1)", output="\n".join(f"line {i}" for i in range(40)))
    assert entry.estimate(80) < 25


def test_result_line():
    done = ExecutionFinished(exec_id="x", agent="u", exit_code=0, duration=1.234)
    assert result_line(done) == ("✓ exit code 0 · 1.23 s", "success")
    failed = ExecutionFinished(exec_id="x", agent="u", exit_code=137, duration=60, timed_out=True)
    assert result_line(failed)[0].startswith("■ timed out after 60.00 s")


# -- cockpit state -----------------------------------------------------------------------------------------
def test_state_counts_tokens_rounds_speakers_and_stop():
    state = CockpitState()
    for event in conversation(["user", "planner", "coder"]):
        state.apply(event)
    assert state.round == 2 and state.speaker == "coder"
    assert state.agents["planner"].tokens == 120 and state.total_tokens == 360
    state.apply(UsageRecorded(agent="speaker_selector", model="m", prompt_tokens=5, completion_tokens=1))
    assert state.total_tokens == 366
    state.apply(TurnStarted(agent="planner", round=3))
    state.apply(TokenDelta(agent="planner", text="x"))
    assert state.agents["planner"].state == "streaming"
    state.apply(MessageDelivered(message=Message(sender="planner", content="x")))
    assert state.agents["planner"].state == "idle"
    state.apply(RunStopped(reason="max rounds 3 reached", kind=StopKind.MAX_ROUNDS, ts=T0 + 90))
    assert state.stopped and state.elapsed(T0 + 1000) == 90
    line = status_text(state, T0 + 1000).plain
    assert "round 3" in line and "■ stopped: max rounds 3 reached" in line and "1:30" in line


def test_two_agent_status_names_the_next_speaker():
    state = CockpitState()
    for event in conversation(["user", "coder"], kind="two_agent"):
        state.apply(event)
    line = status_text(state, T0 + 5).plain
    assert "turn 1" in line and "speaking: coder" in line and "next: user" in line


def test_the_agent_running_someone_elses_code_waits_for_you_too():
    from tuiagents.engine.decisions import Decision, DecisionRequest, RequestKind
    from tuiagents.engine.events import DecisionRecorded, DecisionRequested

    state = CockpitState()
    for event in conversation(["user", "coder"], kind="two_agent"):
        state.apply(event)
    state.apply(TurnStarted(agent="user", round=2))
    request = DecisionRequest(kind=RequestKind.CODE, agent="coder")
    state.apply(DecisionRequested(request=request))
    assert state.agents["user"].state == "waiting for you" and state.agents["coder"].state == "waiting for you"
    state.apply(DecisionRecorded(request_id=request.id, request_kind=RequestKind.CODE, agent="coder",
                                 decision=Decision.approve()))
    assert state.agents["user"].state == "thinking" and state.agents["coder"].state == "idle"


def test_round_robin_status_names_the_next_speaker():
    from tuiagents.engine.events import RunStarted

    state = CockpitState()
    events = conversation(["user", "planner", "coder"])
    first = events[0]
    events[0] = RunStarted(**{**first.model_dump(), "speaker_selection": "round_robin"})
    for event in events:
        state.apply(event)
    assert "next: user (round robin)" in status_text(state, T0 + 5).plain


# -- themes and keymap ------------------------------------------------------------------------------------
def test_project_themes_load():
    themes, problems = load_themes()
    assert not problems
    assert set(BUILTIN_THEMES) <= {t.name for t in themes}


def test_bad_theme_file_is_explained(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ncolour = "#fff"\n')
    with pytest.raises(ValueError, match="unknown theme key"):
        load_theme_file(bad)
    themes, problems = load_themes([tmp_path])
    assert themes == [] and "bad.toml" in problems[0]


def test_keymap_check():
    assert {"approve", "approve_session", "edit", "reject", "inject", "next_speaker", "pause", "stop",
            "run_code", "skip", "cancel_execution", "toggle_timeline", "help", "edit_review"} <= known_ids()
    assert check_keymap({"approve": "ctrl+y"}) == []
    assert "not a binding id" in check_keymap({"aprove": "x"})[0]


async def test_transcript_keeps_memory_flat_on_long_scrolls():
    app = _One()
    async with app.run_test(size=(100, 30)) as pilot:
        t = app.query_one(Transcript)
        t.MAX_CACHED = 50
        for i in range(400):
            t.add(MessageEntry(sender="a", content=f"message {i}"))
        await pilot.pause()
        for _ in range(40):
            t.scroll_relative(y=-t.size.height, animate=False)
            await pilot.pause()
        assert sum(1 for slot in t._slots if slot.strips is not None) <= 50
        t.scroll_end(animate=False)
        await pilot.pause()
        assert "message 399" in "\n".join(t.render_line(y).text for y in range(t.size.height))
