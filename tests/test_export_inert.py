"""Nothing tuiagents prints or writes carries a live control sequence, and the HTML export renders
each message's Markdown as the screen does (raw HTML as text, line breaks, highlighted fences).

A session log holding a hostile reply (terminal title, OSC 52 clipboard write, clear screen, an 8-bit
CSI, a bidi override) is exported to md, html and json, printed by `tuiagents export` on stdout and
by `tuiagents replay --headless`, and printed live by the headless console."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tuiagents.engine.decisions import CodeSnippet, DecisionRequest, RequestKind
from tuiagents.engine.events import AgentInfo, MessageDelivered, Notice, RunStarted, RunStopped, StopKind, TurnStarted
from tuiagents.engine.messages import Message
from tuiagents.headless import ConsolePrinter, console_decide
from tuiagents.session.export import export_session
from tuiagents.session.log import SessionHeader, SessionWriter

HOSTILE = ("Done.\x1b]0;pwned title\x07 \x1b]52;c;ZXZpbA==\x07 \x1b[2J\x1b[H \x9b31m8-bit\x9b0m "
           "\u202eevil\u202c \x07bell\n"
           "In C# you write List<int> xs; in HTML <b>bold</b>.\nLine one of output\nLine two of output\n\n"
           "```python\nprint('highlighted')\n```\n")

#: Bytes that start or are a live control on a terminal (ESC, BEL, C1 in UTF-8, bidi controls).
LIVE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def assert_inert(data: bytes | str, where: str) -> None:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    m = LIVE.search(raw.replace(b"\r\n", b"\n"))
    context = raw[max(0, m.start() - 40):m.end() + 20] if m else b""
    assert m is None, f"{where} carries a live control {m.group()!r} at {m.start()}: {context!r}"


@pytest.fixture
def hostile_log(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    agents = [AgentInfo(name="user", kind="user_proxy"), AgentInfo(name="coder", kind="assistant", model="m")]
    header = SessionHeader(run_id="r1", team="pair", team_kind="two_agent", task="Say \x1b[5mhi\x1b[0m", agents=agents)
    events = [RunStarted(run_id="r1", team="pair", team_kind="two_agent", task="Say \x1b[5mhi\x1b[0m", agents=agents),
              TurnStarted(agent="coder", round=1),
              MessageDelivered(message=Message(sender="coder", content=HOSTILE), round=1),
              Notice(level="warning", text="odd \x1b[31mnotice\u202e", agent="coder"),
              RunStopped(reason="done \x1b]0;x\x07", kind=StopKind.EXTERNAL)]
    for i, ev in enumerate(events, 1):
        ev.seq, ev.ts = i, 1_700_000_000.0 + i
    with SessionWriter(path, header) as w:
        w.write_many(events)
    return path


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_exports_carry_no_live_control_sequence(hostile_log, fmt):
    text = export_session(hostile_log, fmt)
    assert_inert(text, f"the {fmt} export")
    if fmt == "json":
        data = json.loads(text)  # still valid JSON, holding the same text
        contents = [e.get("content") for e in data["transcript"]["entries"] if e["kind"] == "message"]
        assert HOSTILE in contents
    else:
        assert "␛]0;pwned title␇" in text and "⟨RLO⟩evil⟨PDF⟩" in text


def test_html_export_renders_markdown_and_highlights_fenced_code(hostile_log):
    html = export_session(hostile_log, "html")
    assert "List&lt;int&gt; xs; in HTML &lt;b&gt;bold&lt;/b&gt;." in html  # raw HTML shown as text
    assert re.search(r"Line one of output<br\s*/?>\s*Line two of output", html)  # line breaks kept
    assert "```python" not in html  # the fence is rendered, not shown as Markdown source
    fence = html[html.index("highlighted") - 600:html.index("highlighted")]
    assert 'style="color' in fence and "print" in fence  # highlighted by Pygments, inline styles
    assert "<script" not in html.lower() and not re.search(r"""(src|href)=["']?https?:""", html)  # self-contained


def test_cli_export_and_headless_replay_print_nothing_live(hostile_log):
    for args in (["export", str(hostile_log)], ["export", str(hostile_log), "--format", "html"],
                 ["export", str(hostile_log), "--format", "json"], ["replay", str(hostile_log), "--headless"]):
        done = subprocess.run([sys.executable, "-m", "tuiagents.app.cli", *args], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        assert_inert(done.stdout, f"tuiagents {' '.join(args[:1] + args[2:])} on stdout")
        assert b"Line two of output" in done.stdout


def test_headless_console_prints_inert_and_warns_about_hidden_characters():
    out = io.StringIO()
    printer = ConsolePrinter(out)
    printer(RunStarted(run_id="r", team="t\x1b[31m", team_kind="two_agent", task="x\x9b2J",
                       agents=[AgentInfo(name="a\u202eb", kind="assistant")]))
    printer(MessageDelivered(message=Message(sender="coder\x1b]0;t\x07", content=HOSTILE)))
    printer(RunStopped(reason="r\x1b[2J", kind=StopKind.EXTERNAL))
    code = 'ok = "user\u202e \u2066# admin\u2069\u2066"\n'
    request = DecisionRequest(id="q", kind=RequestKind.CODE, agent="coder", prompt="Run it?\x1b[2J",
                              code_blocks=[CodeSnippet(language="python", code=code)], executor="docker")
    console_decide(request, io.StringIO("n\n"), out)
    printed = out.getvalue()
    assert_inert(printed, "the headless console")
    assert "⟨RLO⟩" in printed and "may read differently from how it runs" in printed
    assert "Line one of output\nLine two of output" in printed


def test_markdown_export_renders_in_a_viewer_like_the_screen(hostile_log):
    from markdown_it import MarkdownIt

    md = export_session(hostile_log, "md")
    html = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(md)
    assert "List&lt;int&gt; xs; in HTML &lt;b&gt;bold&lt;/b&gt;." in html and "<b>bold" not in html
    assert re.search(r"Line one of output<br\s*/?>\s*Line two of output", html)
    assert '<code class="language-python">print(' in html  # the fence is a fence, highlighted by viewers
