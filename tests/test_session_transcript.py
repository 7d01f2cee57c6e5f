"""Transcript building and the exports (Markdown, HTML, JSON)."""

from __future__ import annotations

import json
import re

import pytest

from tuiagents.engine.decisions import (
    ApprovalRule, CodeSnippet, DecidedBy, Decision, DecisionRequest, RequestKind, Scope,
)
from tuiagents.engine.events import (
    AgentInfo, CodeProposed, DecisionRecorded, DecisionRequested, ExecutionFinished, ExecutionOutput,
    ExecutionStarted, MessageDelivered, Notice, RunStarted, RunStopped, StopKind, ToolCallFinished,
    ToolCallStarted, TurnStarted, UsageRecorded,
)
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.session.export import export_session, md_fence
from tuiagents.session.log import SessionHeader, SessionWriter
from tuiagents.session.reader import read_session
from tuiagents.session.sample import sample_events
from tuiagents.session.transcript import (
    CodeEntry, DecisionEntry, ExecutionEntry, TranscriptMessage, StopEntry, ToolEntry, build_transcript,
)

SCRIPT = "<script>alert('x')</script>"
TICKS = "use ``` fences or ```` even four: ``````"
DRAFT = "The answer is 41."
EDITED = "The answer is 42."


def scenario() -> list:
    """A short run that has every kind of thing an export must show."""
    code = "import sys\nprint('hi <b>')\nsys.exit(3)\n"
    call = ToolCall(id="t1", name="lookup", arguments='{"q": "<b>x</b>"}')
    events = [
        RunStarted(run_id="r1", team="pair", team_kind="two_agent", task=f"Task with {SCRIPT}",
                   agents=[AgentInfo(name="coder", model="m"), AgentInfo(name="runner")]),
        TurnStarted(agent="coder", round=1),
        UsageRecorded(agent="coder", model="m", prompt_tokens=100, completion_tokens=20, cost=0.01),
        DecisionRequested(request=DecisionRequest(id="q1", kind=RequestKind.MESSAGE, agent="coder", content=DRAFT)),
        DecisionRecorded(request_id="q1", request_kind=RequestKind.MESSAGE, agent="coder",
                         decision=Decision.edit(EDITED)),
        MessageDelivered(message=Message(sender="coder", content=EDITED, human_edited=True, original=DRAFT), round=1),
        TurnStarted(agent="runner", round=2),
        UsageRecorded(agent="runner", model="m", prompt_tokens=50, completion_tokens=5, cost=0.002, cached=True),
        DecisionRequested(request=DecisionRequest(id="q2", kind=RequestKind.MESSAGE, agent="runner", content=TICKS)),
        DecisionRecorded(request_id="q2", request_kind=RequestKind.MESSAGE, agent="runner",
                         decision=Decision.reject("too vague, name the file")),
        MessageDelivered(message=Message(sender="human", content="too vague, name the file", origin="human",
                                         recipient="runner"), round=2),
        MessageDelivered(message=Message(sender="runner", content=f"{TICKS}\n{SCRIPT}"), round=2),
        CodeProposed(agent="coder", blocks=[CodeSnippet(language="python", code=code)], executor="docker"),
        DecisionRecorded(request_id="q3", request_kind=RequestKind.CODE, agent="coder",
                         decision=Decision.approve(scope=Scope.RULE, by=DecidedBy.POLICY,
                                                   rule=ApprovalRule(kind=RequestKind.CODE, agent="coder",
                                                                     language="python"))),
        ExecutionStarted(exec_id="x1", agent="coder", language="python", code=code, executor="docker"),
        ExecutionOutput(exec_id="x1", agent="coder", text="hi <b>\n"),
        ExecutionOutput(exec_id="x1", agent="coder", text="Traceback: boom\n"),
        ExecutionFinished(exec_id="x1", agent="coder", exit_code=3, duration=1.25),
        MessageDelivered(message=Message(sender="coder", tool_calls=[call]), round=3),
        ToolCallStarted(agent="coder", call=call),
        ToolCallFinished(agent="coder", result=ToolResult(call_id="t1", name="lookup", content="found <i>it</i>")),
        MessageDelivered(message=Message(sender="runner", origin="tool", recipient="coder",
                                         tool_results=[ToolResult(call_id="t1", name="lookup",
                                                                  content="found <i>it</i>")]), round=3),
        Notice(level="warning", text="retrying after 429", agent="coder"),
        RunStopped(reason="the budget of $0.01 was reached", kind=StopKind.COST_BUDGET, summary="partial"),
    ]
    for i, ev in enumerate(events, 1):
        ev.seq, ev.ts = i, 1_700_000_000 + i
    return events


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "scenario.jsonl"
    run = scenario()[0]
    with SessionWriter(path, SessionHeader.from_run(run, {"teams": []})) as w:
        for ev in scenario():
            w(ev)
    return read_session(path)


def test_transcript_entries_counts_usage_and_stop(log):
    t = build_transcript(log)
    assert (t.turns, t.messages, t.rounds) == (2, 5, 2)
    assert (t.usage.prompt_tokens, t.usage.completion_tokens, t.usage.total_tokens) == (100, 20, 120)  # the cache hit is a call, not billed tokens
    # one meaning of usage everywhere (engine.usage.Usage): a cache hit is a call, never billed tokens or cost
    assert t.usage.cost == pytest.approx(0.010) and t.usage.cached_calls == 1 and t.usage.calls == 2
    assert t.usage.by_agent["runner"].calls == 1 and t.usage.by_model["m"].calls == 2
    assert t.status == "finished" and t.stop_reason == "the budget of $0.01 was reached"
    assert t.stop.stop_kind == StopKind.COST_BUDGET

    edit, reject, code_ok = [e for e in t.entries if isinstance(e, DecisionEntry)]
    assert edit.proposed == DRAFT and edit.decision.content == EDITED and edit.by == DecidedBy.HUMAN
    assert reject.decision.content == "too vague, name the file" and "rejected" in reject.text
    assert code_ok.by == DecidedBy.POLICY and code_ok.request_kind == RequestKind.CODE

    edited_msg = next(e for e in t.entries if isinstance(e, TranscriptMessage) and e.human_edited)
    assert (edited_msg.content, edited_msg.original) == (EDITED, DRAFT)
    ex = next(e for e in t.entries if isinstance(e, ExecutionEntry))
    assert (ex.output, ex.exit_code, ex.duration, ex.finished) == ("hi <b>\nTraceback: boom\n", 3, 1.25, True)
    assert next(e for e in t.entries if isinstance(e, CodeEntry)).blocks[0].language == "python"
    tool = next(e for e in t.entries if isinstance(e, ToolEntry))
    assert tool.call.name == "lookup" and tool.result.content == "found <i>it</i>"
    echo = [e for e in t.entries if isinstance(e, TranscriptMessage) and e.tool_results]
    assert len(echo) == 1 and echo[0].echo
    assert isinstance(t.entries[-1], StopEntry)


def test_interrupted_and_resumed_runs(log):
    events = log.events
    assert build_transcript(events[:-1]).status == "interrupted"
    resumed = RunStarted(seq=99, run_id="r1", team="pair", team_kind="two_agent", task="t", agents=[],
                         resumed=True)
    assert build_transcript([*events, resumed]).status == "interrupted"
    again = RunStopped(seq=100, reason="done", kind=StopKind.MAX_TURNS)
    t = build_transcript([*events, resumed, again])
    assert t.status == "finished" and t.stop_reason == "done"


def test_markdown_export(log):
    md = export_session(log, "md")
    assert "coder's message: edited by human" in md
    assert f"Original:\n\n> {DRAFT}" in md and f"Edited to:\n\n> {EDITED}" in md  # Markdown, quoted
    assert "runner's message: rejected by human" in md and "too vague, name the file" in md
    assert "coder's code: approved by policy (for this session: python code from coder)" in md
    assert "```python\nimport sys" in md
    assert "exit code 3 in 1.2 s" in md and "Traceback: boom" in md
    assert "**lookup**" in md and "found <i>it</i>" in md
    assert "the budget of \\$0.01 was reached (cost\\_budget)" in md
    assert "| **total** | 2 | 1 | 100 | 20 | \\$0.0100 |" in md
    # a message is Markdown a viewer renders like the screen: backticks and raw HTML escaped, the
    # line break kept (verbatim fences are tested below, with md_fence)
    assert "> use \\`\\`\\` fences or \\`\\`\\`\\` even four: \\`\\`\\`\\`\\`\\`\\\n> \\<script\\>" in md
    # outside fences, markup from content is escaped
    assert "Task with \\<script\\>" in md


def test_md_fence_is_longer_than_any_backtick_run():
    for text in ("plain", "a ``` b", "````", "x" + "`" * 9):
        fenced = md_fence(text)
        bar = fenced.split("\n")[0].removesuffix("text")
        longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
        assert len(bar) > longest and fenced.endswith("\n" + bar)


def test_html_export_is_standalone_and_escaped(log):
    html = export_session(log, "html")
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no external assets
    assert "<link" not in html
    assert "found &lt;i&gt;it&lt;/i&gt;" in html and "hi &lt;b&gt;" in html
    assert 'style="' in html and "class=\"hl\"" in html  # pygments inline styles
    assert "coder&#x27;s message: edited by human" in html
    assert f"Original:</div><div class=\"orig\"><div class=\"md\"><p>{DRAFT}</p>" in html  # Markdown, rendered
    assert "exit code 3 in 1.2 s" in html and "the budget of $0.01 was reached" in html


def test_json_export_structure(log):
    data = json.loads(export_session(log, "json"))
    assert data["format"] == "tuiagents-export" and data["header"]["run_id"] == "r1"
    tr = data["transcript"]
    assert tr["status"] == "finished" and tr["turns"] == 2 and tr["usage"]["total_tokens"] == 120
    kinds = [e["kind"] for e in tr["entries"]]
    assert kinds[:3] == ["decision", "message", "decision"] and kinds[-1] == "stop"
    dec = tr["entries"][0]
    assert dec["decision"]["kind"] == "edit" and dec["decision"]["by"] == "human" and dec["proposed"] == DRAFT
    ex = next(e for e in tr["entries"] if e["kind"] == "execution")
    assert ex["exit_code"] == 3 and ex["output"].startswith("hi <b>")


def test_exports_scrub_secrets_even_from_old_logs(tmp_path, monkeypatch):
    key = "sk-live-0123456789abcdefghijklmnop"
    path = tmp_path / "old.jsonl"
    events = list(sample_events(2))
    lines = [SessionHeader(run_id="r", team="t").model_dump_json()] + [e.model_dump_json() for e in events]
    lines[2] = lines[2].replace("Plot the first", f"Plot {key} the first")  # as if written unscrubbed
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("OTHER_SERVICE_API_KEY", "plainvalue-9999")
    assert key in path.read_text()
    for fmt in ("md", "html", "json"):
        out = export_session(path, fmt)
        assert key not in out and "[redacted]" in out


def test_unknown_format(log):
    with pytest.raises(ValueError, match="choose one of: md, html, json"):
        export_session(log, "pdf")  # type: ignore[arg-type]


def test_sample_transcript_shape():
    t = build_transcript(sample_events(40))
    assert t.turns == 40 and t.status == "finished"
    assert any(isinstance(e, ExecutionEntry) and e.exit_code == 0 for e in t.entries)
    assert {e.decision.by for e in t.entries if isinstance(e, DecisionEntry)} == {
        DecidedBy.HUMAN, DecidedBy.SESSION_RULE}


def test_controls_and_queued_injects_are_in_the_transcript_with_who_did_them():
    from tuiagents.engine.events import MessageQueued, NextSpeakerForced, RunPaused, RunResumed, StopRequested
    from tuiagents.session.transcript import NoticeEntry

    task = Message(sender="human", content="go", origin="human")
    note = Message(sender="human", content="be brief", origin="human", recipient="coder")
    events = [RunStarted(run_id="r", team="t", team_kind="group_chat", task="go",
                         agents=[AgentInfo(name="coder"), AgentInfo(name="critic")]),
              MessageDelivered(message=task), RunPaused(), NextSpeakerForced(agent="critic"),
              MessageQueued(message=note, by=DecidedBy.HUMAN), RunResumed(by=DecidedBy.POLICY), MessageDelivered(message=note),
              StopRequested(reason="enough", kind=StopKind.STOPPED_BY_USER),
              RunStopped(reason="enough", kind=StopKind.STOPPED_BY_USER)]
    t = build_transcript(events)
    notes = [(e.text, e.by) for e in t.entries if isinstance(e, NoticeEntry)]
    assert notes == [("⏸ paused by you: the run holds before its next turn", DecidedBy.HUMAN),
                     ("→ critic speaks next (picked by you)", DecidedBy.HUMAN),
                     ("you queued a message for coder for the next turn", DecidedBy.HUMAN),
                     ("▶ resumed by policy", DecidedBy.POLICY),
                     ("■ stop requested by you: enough", DecidedBy.HUMAN)]
    assert t.messages == 2 and t.status == "finished"
