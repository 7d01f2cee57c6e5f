"""Every event and request says which chat it belongs to (format 2), the view keeps each chat's
drafts, code and executions apart, and a log of format 1 (kept in tests/fixtures, written by the
release before chats) still reads, replays, exports, forks and resumes."""

from __future__ import annotations

import shutil
from pathlib import Path

from tuiagents.config import parse_config
from tuiagents.engine.decisions import ROOT_CHAT, CodeSnippet, Decision, RequestKind
from tuiagents.engine.events import (
    CodeProposed, DecisionRecorded, DecisionRequested, MessageDelivered, MessageDrafted, RunStopped, TokenDelta,
)
from tuiagents.engine.factory import build_run
from tuiagents.engine.messages import Message
from tuiagents.engine.view import fold
from tuiagents.engine.view_parts import EntryStatus
from tuiagents.session.export import export_session
from tuiagents.session.fork import fork_session
from tuiagents.session.header import FORMAT_VERSION
from tuiagents.session.reader import read_session
from tuiagents.session.resume import prepare_resume
from tuiagents.session.transcript import build_transcript
from tuiagents.testing import Rule

FORMAT1 = Path(__file__).parent / "fixtures" / "session_format1_demo.jsonl"
ANSWER = "Cairo was the warmest city last week"


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / FORMAT1.name
    shutil.copyfile(FORMAT1, dest)
    return dest


def test_a_format_1_log_reads_replays_and_exports(tmp_path):
    log = read_session(_copy(tmp_path))
    assert log.header.format_version == 1 and log.notice is None and log.finished
    assert {e.chat for e in log.events} == {ROOT_CHAT}
    requests = [e.request for e in log.events if isinstance(e, DecisionRequested)]
    assert all(r.chat == ROOT_CHAT for r in requests)

    view = fold(log.events)
    assert view.stop_reason == "planner said TERMINATE"
    assert ANSWER in view.messages[-1].content
    assert [x.finished.exit_code for x in view.executions.values()] == [0]
    transcript = build_transcript(log.events)
    assert transcript.status == "finished" and transcript.messages == len(view.messages)
    for fmt in ("md", "html", "json"):
        assert ANSWER in export_session(log, fmt)


def test_a_fork_of_a_format_1_log_is_written_in_the_current_format(tmp_path):
    src = _copy(tmp_path)
    dest = fork_session(src, 20, tmp_path / "fork.jsonl")
    forked = read_session(dest)
    assert forked.header.format_version == FORMAT_VERSION
    assert len(forked.events) == 20 and {e.chat for e in forked.events} == {ROOT_CHAT}
    assert read_session(src).header.format_version == 1  # the original is left as it was


async def test_a_format_1_log_resumes_and_goes_on_in_the_root_chat(tmp_path, server, run_to_end):
    path = _copy(tmp_path)
    saved = read_session(path).header.config
    for model in saved["models"]:
        model["base_url"] = server.url  # the server that wrote the log is gone
    saved["llm"] = {**saved.get("llm", {}), "cache_seed": False}
    server.load([Rule(contains="Who speaks next", reply="planner"),
                 Rule(agent="planner", reply="Still Cairo. TERMINATE")])
    run = prepare_resume(path, config=parse_config(saved), approve="all", message="Check once more.")
    before = len(read_session(path).events)
    result = await run_to_end(run)

    assert result.chat_history[-1].content == "Still Cairo. TERMINATE"
    log = read_session(path)
    assert log.header.format_version == 1  # the header is the log's own; new lines carry their chat
    new = log.events[before:]
    assert new and {e.chat for e in new} == {ROOT_CHAT}
    contents = [m.content for m in fold(log.events).messages]
    assert any(ANSWER in c for c in contents[:-1]) and "Check once more." in contents


async def test_events_and_requests_carry_the_chat_they_were_made_in(make_config, server, run_to_end, tmp_path):
    server.load([Rule(agent="assistant", reply="done TERMINATE")])
    cfg = make_config(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                              {"name": "assistant", "kind": "assistant", "model": "default"}],
                      teams=[{"name": "pair", "agents": ["user", "assistant"]}])
    run = build_run(cfg, "pair", "task", approve="all", work_dir=tmp_path)
    run.chat = "stage-2"  # as a stage or a nested chat runs its steps
    recorded = []
    run.bus.subscribe(recorded.append)
    await run_to_end(run)

    assert recorded and {e.chat for e in recorded} == {"stage-2"}
    decided = [e for e in recorded if isinstance(e, DecisionRecorded)]
    assert decided and all(e.chat == "stage-2" for e in decided)


def test_the_view_keeps_one_agents_drafts_and_code_apart_per_chat():
    def stamp(event, seq, chat):
        event.seq, event.chat = seq, chat
        return event

    snippet = CodeSnippet(language="python", code="print(1)")
    events = [
        stamp(TokenDelta(agent="writer", text="outer "), 1, ROOT_CHAT),
        stamp(TokenDelta(agent="writer", text="inner"), 2, "nested-1"),
        stamp(MessageDrafted(agent="writer", content="inner draft"), 3, "nested-1"),
        stamp(CodeProposed(agent="writer", blocks=[snippet]), 4, "nested-1"),
        stamp(TokenDelta(agent="writer", text="text"), 5, ROOT_CHAT),
        stamp(MessageDelivered(message=Message(sender="writer", content="outer text")), 6, ROOT_CHAT),
    ]
    view = fold(events)
    inner = view.draft_of("writer", "nested-1")
    assert inner is not None and inner.content == "inner draft" and inner.status == EntryStatus.DRAFTED
    assert inner.chat == "nested-1"
    assert view.draft_of("writer") is None  # the root chat's draft was delivered
    outer = view.entry_for_message(view.messages[-1].id)
    assert outer.content == "outer text" and outer.chat == ROOT_CHAT and outer is not inner
    assert [b.snippet.code for b in view.open_blocks("writer", "nested-1")] == ["print(1)"]
    assert view.open_blocks("writer") == []

    # a decision in the nested chat settles its code, not anything of the root chat
    view.apply(stamp(DecisionRecorded(request_id="r1", request_kind=RequestKind.CODE, agent="writer",
                                      decision=Decision.skip()), 7, "nested-1"))
    assert view.open_blocks("writer", "nested-1") == []
    view.apply(stamp(RunStopped(reason="done", kind="external"), 8, ROOT_CHAT))
    assert inner.status == EntryStatus.NOT_DELIVERED
