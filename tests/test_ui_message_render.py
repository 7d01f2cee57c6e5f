"""The app shows what the agent said: pane, request box and timeline agree (raw HTML as text, line
breaks kept), hidden characters are visible where you approve, and a 5 MB line is cut in the view
with a way to see all of it. Real Textual app under the pilot; the live test uses the real engine
against the scripted server."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import EXAMPLE, kept, subsequence
from ui_support import SIZE, T0, code_request, conversation, fixed_clock, make_app, message_request, pair_config, \
    screen_text, wait_until, waiting

from tuiagents.engine.decisions import RequestKind
from tuiagents.engine.events import MessageDelivered, TokenDelta, TurnStarted
from tuiagents.engine.messages import Message
from tuiagents.testing import Rule
from tuiagents.text import inert
from tuiagents.ui.app import TuiAgentsApp
from tuiagents.ui.settings import UIOptions
from tuiagents.ui.widgets.request_panel import RequestPanel


def region_text(app, widget) -> str:
    """The rows of the screen that `widget` covers, as text."""
    r = widget.region
    strips = app.screen._compositor.render_strips()
    return "\n".join(strips[y].crop(r.x, r.x + r.width).text for y in range(r.y, min(r.y + r.height, len(strips))))


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_shows_example(text: str, where: str) -> None:
    assert 'In C# you write List<int> xs; in HTML <b>bold</b> or <div class="x">box</div>.' in flat(text), where
    rows = text.split("\n")
    one = [r for r in rows if "Line one of output" in r]
    assert one and "Line two of output" not in one[0], f"{where}: the two output lines are joined:\n{text}"
    assert any("Line two of output" in r for r in rows), where


async def test_pane_request_box_and_timeline_show_the_same_text(server, make_config, tmp_path):
    server.load([Rule(agent="coder", reply=EXAMPLE), Rule(agent="user", reply="ok")])
    app = make_app(pair_config(make_config), "pair", "Talk", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: waiting(app, RequestKind.MESSAGE), what="coder's draft")
        pane = app.cockpit.panes["coder"]
        await wait_until(pilot, lambda: "Line two of output" in region_text(app, app.cockpit.query_one(RequestPanel))
                         and "Line two of output" in region_text(app, pane), what="the draft on screen")
        assert_shows_example(region_text(app, pane), "the draft in the pane")
        assert_shows_example(region_text(app, app.cockpit.query_one(RequestPanel)), "the request box")
        await pilot.press("a")
        await wait_until(pilot, lambda: "approved by you" in region_text(app, pane)
                         and "Line two of output" in region_text(app, pane), what="approved")
        assert_shows_example(region_text(app, pane), "the approved message in the pane")
        await pilot.press("t")
        await wait_until(pilot, lambda: app.cockpit.timeline.region.height > 0
                         and "Line two of output" in screen_text(app), what="the timeline")
        assert_shows_example(screen_text(app), "the timeline")


def app_for(events) -> TuiAgentsApp:
    return TuiAgentsApp(events=events, options=UIOptions(bell=False), clock=fixed_clock())


async def settle(pilot) -> None:
    await pilot.pause(0.2)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)


SAMPLES = [
    "a <b>x</b> & y\n<script>alert(1)</script>\n漢字 e\u0301 &amp; 007) z",
    "| a | b |\n|---|---|\n| 1 | 2 | 3 |\n\\<i> `List<int>` **w**",
    "# Head <h1>\n> quote <q>\nplain\n\n```python\nx = '<b>'\n```\n- item <li>",
]


@pytest.mark.parametrize("text", SAMPLES)
async def test_the_pane_keeps_every_non_markup_character(text):
    events = conversation(["user", "coder"], kind="two_agent")
    events.append(MessageDelivered(message=Message(sender="coder", content=text), round=5, ts=T0 + 60))
    app = app_for(events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = [ch for ch in unicodedata.normalize("NFC", inert(text)) if kept(ch)]

        def pane() -> str:
            return unicodedata.normalize("NFC", region_text(app, app.cockpit.panes["coder"]))

        await wait_until(pilot, lambda: subsequence(expected, pane())[0], timeout=5, what=f"every character of {text!r}")


async def test_code_request_makes_bidi_controls_visible_and_warns():
    code = 'access = "user\u202e \u2066# admin only\u2069\u2066"\nif access == "user":\n    print("hi")\n'
    app = app_for(conversation(["user", "planner", "coder"]) + code_request("coder", "user", code))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        box = region_text(app, app.cockpit.query_one(RequestPanel))
        assert "⟨RLO⟩" in box and "⟨LRI⟩" in box and "⟨PDI⟩" in box
        assert "may read differently from how it runs" in flat(box)
        assert "⟨RLO⟩" in region_text(app, app.cockpit.panes["coder"])
        assert "\u202e" not in screen_text(app)


async def test_a_5mb_line_is_cut_in_the_view_and_can_be_seen_in_full():
    from tuiagents.ui.screens.full_text_screen import FullTextScreen

    big = "y" * 5_000_000
    events = conversation(["user", "coder"], kind="two_agent") + [
        MessageDelivered(message=Message(sender="coder", content="x" * 5_000_000), round=5, ts=T0 + 60),
        TurnStarted(agent="user", round=6, ts=T0 + 61),
        TokenDelta(agent="user", text=big, ts=T0 + 62),
    ]
    app = app_for(events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        coder = app.cockpit.panes["coder"].transcript
        entry = coder.entries[-1]
        assert entry.content == "x" * 5_000_000  # the entry (like the log) keeps all of it
        strips = coder._render_entry(coder.count - 1, coder._width)
        assert len(strips) < 400  # the view holds a cut version
        await wait_until(pilot, lambda: "more characters" in region_text(app, app.cockpit.panes["coder"]),
                         what="the cut message")
        pane = region_text(app, app.cockpit.panes["coder"])
        assert "more characters — click here or press v to see all" in flat(pane)
        user = region_text(app, app.cockpit.panes["user"])  # a streaming 5 MB line is cut too
        assert "more characters" in flat(user)
        # the key: the focused pane shows its cut message in full
        coder.focus()
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="the full view")
        assert app.screen.text == "x" * 5_000_000
        await pilot.pause(0.2)
        assert "5,000,000 characters" in screen_text(app) and "xxxxxxxx" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, FullTextScreen), what="closed")
        # the click on the line under the cut message
        rows = screen_text(app).split("\n")
        y = next(i for i, r in enumerate(rows) if "click here or press v" in r)
        x = rows[y].index("click here")
        await pilot.click(offset=(x + 2, y))
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="the full view by click")
        assert len(app.screen.text) == 5_000_000


async def test_an_autogen_import_keeps_script_text_and_line_breaks(tmp_path):
    import json

    from tuiagents.session.autogen_import import import_autogen
    from tuiagents.session.export import export_session
    from tuiagents.session.reader import read_session

    history = [{"role": "user", "name": "user_proxy", "content": "Show <script>alert(1)</script> as text"},
               {"role": "assistant", "name": "assistant", "content": "Sure: <script>alert(1)</script> is a tag."},
               {"role": "user", "name": "user_proxy",
                "content": "exitcode: 0 (execution succeeded)\nCode output: 5050"}]
    src = tmp_path / "history.json"
    src.write_text(json.dumps(history))
    log_path = import_autogen(src, tmp_path / "imported.jsonl")
    app = app_for(read_session(log_path).events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assistant = region_text(app, app.cockpit.panes["assistant"])
        assert "Sure: <script>alert(1)</script> is a tag." in flat(assistant)
        proxy = region_text(app, app.cockpit.panes["user_proxy"]).split("\n")
        row = next(r for r in proxy if "exitcode: 0" in r)
        assert "Code output: 5050" not in row and any("Code output: 5050" in r for r in proxy)
    html = export_session(log_path, "html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html


async def test_v_shows_a_cut_message_whichever_pane_has_focus():
    from tuiagents.ui.screens.full_text_screen import FullTextScreen

    long = "\n".join(f"row {i}: <b>kept</b>" for i in range(2000))
    events = conversation(["user", "coder"], kind="two_agent") + [
        MessageDelivered(message=Message(sender="coder", content=long), round=5, ts=T0 + 60)]
    app = app_for(events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.cockpit.panes["user"].transcript.focus()
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="the full view")
        assert app.screen.text == long
        app.screen.transcript.scroll_end(animate=False)
        await pilot.pause(0.2)
        assert "row 1999: <b>kept</b>" in screen_text(app)  # the last line too, as typed


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab\n漢", max_size=200), st.integers(min_value=1, max_value=30))
def test_the_full_view_pieces_hold_every_character_and_line_break(text, size):
    from tuiagents.ui.entries import chunks

    rebuilt = "".join(piece + ("" if continues else "\n") for piece, continues in chunks(text, size))
    assert rebuilt[:-1] == text or (not text and rebuilt == "\n")


async def test_a_rejected_draft_is_rendered_like_the_others():
    from tuiagents.engine.decisions import Decision
    from tuiagents.engine.events import DecisionRecorded

    draft = EXAMPLE + "\n\nSome **bold** words."
    events = conversation(["user", "coder"], kind="two_agent") + message_request("coder", draft) + [
        DecisionRecorded(request_id="rq-msg", request_kind=RequestKind.MESSAGE, agent="coder",
                         decision=Decision.reject("shorter, please"), ts=T0 + 70)]
    app = app_for(events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = region_text(app, app.cockpit.panes["coder"])
        assert "rejected by you" in pane
        assert_shows_example(pane, "the rejected draft")
        assert "Some bold words." in flat(pane) and "**bold**" not in pane


async def test_long_code_in_the_request_box_says_what_is_not_shown_and_opens_in_full():
    from tuiagents.ui.screens.full_text_screen import FullTextScreen

    code = "".join(f"x{i} = {i}\n" for i in range(5000)) + "import os; os.system('rm -rf ~')\n"
    app = app_for(conversation(["user", "planner", "coder"]) + code_request("coder", "user", code))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        box = app.cockpit.query_one(RequestPanel)
        scroll = box.query_one("#request-scroll")
        scroll.scroll_end(animate=False)
        await pilot.pause(0.2)
        rows = screen_text(app).split("\n")
        y = next(i for i, r in enumerate(rows) if "see all of it before you decide" in r)
        await pilot.click(offset=(rows[y].index("click here") + 2, y))
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="the whole block")
        assert app.screen.text == code


async def test_the_see_all_key_follows_the_keymap():
    from tuiagents.ui.screens.full_text_screen import FullTextScreen

    events = conversation(["user", "coder"], kind="two_agent") + [
        MessageDelivered(message=Message(sender="coder", content="x" * 50_000), round=5, ts=T0 + 60)]
    app = TuiAgentsApp(events=events, options=UIOptions(bell=False, keymap={"show_full": "f6"}), clock=fixed_clock())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "click here or press f6 to see all" in flat(region_text(app, app.cockpit.panes["coder"]))
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="the full view")


async def test_huge_tool_arguments_are_cut_in_the_request_box():
    import json as _json

    from tuiagents.engine.decisions import DecisionKind, DecisionRequest
    from tuiagents.engine.events import DecisionRequested
    from tuiagents.engine.messages import ToolCall
    from tuiagents.ui.screens.full_text_screen import FullTextScreen

    args = _json.dumps({"blob": "z" * 2_000_000})
    request = DecisionRequest(id="rq-tool", kind=RequestKind.TOOL_CALL, agent="coder", prompt="Run the tool?",
                              tool_calls=[ToolCall(id="c1", name="store", arguments=args)],
                              allowed=[DecisionKind.APPROVE, DecisionKind.SKIP, DecisionKind.STOP])
    app = app_for(conversation(["user", "coder"], kind="two_agent") + [DecisionRequested(request=request, ts=T0 + 65)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        box = app.cockpit.query_one(RequestPanel)
        box.query_one("#request-scroll").scroll_end(animate=False)
        await wait_until(pilot, lambda: "see all of it before you decide" in screen_text(app), what="the cut")
        rows = screen_text(app).split("\n")
        y = next(i for i, r in enumerate(rows) if "see all of it before you decide" in r)
        await pilot.click(offset=(rows[y].index("click here") + 2, y))
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="all the arguments")
        assert app.screen.text == args


async def test_long_code_output_can_be_seen_in_full():
    from tuiagents.engine.events import ExecutionOutput, ExecutionStarted
    from tuiagents.ui.screens.full_text_screen import FullTextScreen

    code = "for i in range(100): print(i)"
    output = "".join(f"out {i}\n" for i in range(100))
    events = conversation(["user", "planner", "coder"]) + code_request("coder", "user", code)[:1] + [
        ExecutionStarted(exec_id="x1", agent="user", language="python", code=code, executor="docker", ts=T0),
        ExecutionOutput(exec_id="x1", agent="user", text=output, ts=T0)]
    app = app_for(events)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: "earlier lines — click here or press v" in screen_text(app), what="the tail")
        app.cockpit.panes["user"].transcript.focus()
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen), what="the whole output")
        assert output in app.screen.text and code in app.screen.text
