"""The headless console prints from the run view: approvals under their message, controls with who."""

from __future__ import annotations

import io

from tuiagents.engine.decisions import DecidedBy, Decision, DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.events import (
    AgentInfo, DecisionRecorded, DecisionRequested, MessageDelivered, MessageDrafted, MessageQueued,
    NextSpeakerForced, RunPaused, RunResumed, RunStarted, RunStopped, StopKind, StopRequested, TurnStarted,
)
from tuiagents.engine.messages import Message
from tuiagents.headless import ConsolePrinter, console_decide


def test_the_console_prints_approvals_under_their_message_and_every_control():
    out = io.StringIO()
    printer = ConsolePrinter(out)
    request = DecisionRequest(kind=RequestKind.MESSAGE, agent="coder", content="done")
    note = Message(sender="human", content="check twice", origin="human", recipient="coder")
    for event in [RunStarted(run_id="r", team="t", team_kind="two_agent", task="go",
                             agents=[AgentInfo(name="coder"), AgentInfo(name="user")]),
                  TurnStarted(agent="coder", round=1), MessageDrafted(agent="coder", content="done"),
                  DecisionRequested(request=request), RunPaused(), NextSpeakerForced(agent="user"),
                  MessageQueued(message=note), RunResumed(by=DecidedBy.POLICY),
                  DecisionRecorded(request_id=request.id, request_kind=RequestKind.MESSAGE, agent="coder",
                                   decision=Decision.approve()),
                  MessageDelivered(message=Message(sender="coder", content="done"), round=1),
                  StopRequested(reason="enough", kind=StopKind.STOPPED_BY_USER),
                  RunStopped(reason="enough", kind=StopKind.STOPPED_BY_USER)]:
        printer(event)
    lines = out.getvalue().splitlines()
    assert "  · ⏸ paused by you: the run holds before its next turn" in lines
    assert "  · → user speaks next (picked by you)" in lines
    assert "  · you queued a message for coder for the next turn" in lines
    assert "  · ▶ resumed by policy" in lines
    assert "  · ■ stop requested by you: enough" in lines
    # the approval is printed once, right under the message it let through
    assert lines[lines.index("done") + 1] == "  · message of coder: approved (by you)"
    assert sum("approved" in line for line in lines) == 1
    assert printer.view.stopped and printer.view.pending == []


def _pair_config(tmp_path, server, max_turns: int = 1):
    from headless_support import pair_toml

    path = tmp_path / "config.toml"
    path.write_text(pair_toml(server.url, max_turns))
    return path


def test_ask_mode_with_stdin_at_its_end_says_input_ended(server, tmp_path, capsys, monkeypatch):
    import sys

    from tuiagents.app.cli import main
    from tuiagents.session.reader import read_session
    from tuiagents.testing import Rule

    server.load([Rule(agent="assistant", reply="A draft nobody will read.")])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    session = tmp_path / "eof.jsonl"
    code = main(["run", "--headless", "--config", str(_pair_config(tmp_path, server)), "--team", "pair",
                 "--task", "hello", "--approve", "ask", "--session", str(session)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "by you" not in out and "stopped by you" not in out
    assert "stopped the run (by policy: input ended (stdin at end of file))" in out
    assert "Stopped: input ended (stdin at end of file)" in out
    stopped = read_session(session).events[-1]
    assert stopped.type == "run_stopped" and stopped.kind == StopKind.EXTERNAL
    requested = [e for e in read_session(session).events if e.type == "stop_requested"]
    assert [(e.by, e.reason) for e in requested] == [(DecidedBy.POLICY, "input ended (stdin at end of file)")]


def test_a_person_typing_s_still_stops_the_run_by_you(server, tmp_path, capsys, monkeypatch):
    import sys

    from tuiagents.app.cli import main
    from tuiagents.testing import Rule

    server.load([Rule(agent="assistant", reply="A draft.")])
    monkeypatch.setattr(sys, "stdin", io.StringIO("s\n"))
    code = main(["run", "--headless", "--config", str(_pair_config(tmp_path, server)), "--team", "pair",
                 "--task", "hello", "--approve", "ask", "--session", str(tmp_path / "s.jsonl")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "stopped the run (by you)" in out and "Stopped: stopped by you" in out


def test_resume_headless_prints_the_conversation_so_far_then_goes_on(server, tmp_path, capsys):
    from tuiagents.app.cli import main
    from tuiagents.testing import Rule

    server.load([Rule(agent="assistant", replies=["First answer.", "Second answer."])])
    session = tmp_path / "s.jsonl"
    config = _pair_config(tmp_path, server)
    assert main(["run", "--headless", "--config", str(config), "--team", "pair", "--task", "the first task",
                 "--approve", "all", "--session", str(session)]) == 0
    capsys.readouterr()
    code = main(["resume", str(session), "--headless", "--approve", "all"])
    out, err = capsys.readouterr()
    assert code == 0, err
    notice = out.index("resumed after")
    # the earlier conversation, once, before the run goes on live
    assert out.count("user:\nthe first task") == 1 and out.index("user:\nthe first task") < notice
    assert out.count("assistant:\nFirst answer.") == 1 and out.index("assistant:\nFirst answer.") < notice
    assert out.index("assistant:\nSecond answer.") > notice
    code = main(["resume", str(session), "--headless", "--approve", "all", "--fork-at", "3"])
    out, err = capsys.readouterr()
    assert code == 0, err
    notice = out.index("forked from")
    assert out.index("user:\nthe first task") < notice
    assert "Second answer." not in out[:notice]  # the fork holds only the first 3 events


def test_the_console_offers_only_the_answers_a_request_allows():
    # a sandbox that cannot start allows run (check again), skip, reply and stop: no edit
    request = DecisionRequest(kind=RequestKind.CODE, agent="coder", prompt="The sandbox cannot start",
                              allowed=[DecisionKind.APPROVE, DecisionKind.SKIP, DecisionKind.REPLY,
                                       DecisionKind.STOP])
    out = io.StringIO()
    decision = console_decide(request, io.StringIO("e\nn\n"), out)
    shown = out.getvalue()
    assert "[e]dit" not in shown and "[y] run" in shown and "[n] skip" in shown
    assert "'e' is not an option here" in shown and decision.kind == DecisionKind.SKIP
    # a draft allows all of its answers
    out = io.StringIO()
    draft = DecisionRequest(kind=RequestKind.MESSAGE, agent="coder", content="hi",
                            allowed=[DecisionKind.APPROVE, DecisionKind.EDIT, DecisionKind.REJECT, DecisionKind.STOP])
    assert console_decide(draft, io.StringIO("r\ntoo short\n"), out).kind == DecisionKind.REJECT
    assert "[a]pprove  [A] approve for session  [e]dit  [r]eject  [s]top" in out.getvalue()


CALC = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''


def test_the_console_edits_a_tool_calls_arguments_on_one_line_checked_against_the_schema(
        server, tmp_path, capsys, monkeypatch):
    import json
    import sys

    from headless_support import pair_toml

    from tuiagents.app.cli import main
    from tuiagents.session.reader import read_session
    from tuiagents.testing import Reply, Rule

    (tmp_path / "calc.py").write_text(CALC)
    config = tmp_path / "config.toml"
    config.write_text(pair_toml(server.url, 2, assistant_lines='tools = ["calc:add"]'))
    server.load([Rule(agent="assistant", replies=[Reply.tool("add", a=2, b=3), "9. TERMINATE"])])
    # approve the draft; edit with a value against the schema; edit again, confirm; approve the last draft
    typed = 'a\ne\n{"a": "two"}\ne\n{"a": 4, "b": 5}\ny\na\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    session = tmp_path / "s.jsonl"
    code = main(["run", "--headless", "--config", str(config), "--team", "pair", "--task", "add",
                 "--approve", "ask", "--session", str(session)])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert "    add: Add two integers." in lines and "      a: integer, required" in lines
    assert any("[A] always run add" in line and "[e]dit arguments" in line for line in lines)
    assert ("  cannot run: the arguments do not fit add's schema: 'b' is a required property; "
            "a: 'two' is not of type 'integer'; choose again") in out
    assert '    -  "a": 2,' in lines and '    +  "a": 4,' in lines
    assert '  · tool_call of assistant: edited the arguments {"a": 2, "b": 3} → {"a": 4, "b": 5} (by you)' in out
    events = read_session(session).events
    [decided] = [e for e in events if e.type == "decision_recorded" and e.request_kind == RequestKind.TOOL_CALL]
    assert json.loads(decided.decision.original) == {"a": 2, "b": 3}
    assert json.loads(decided.decision.content) == {"a": 4, "b": 5}
    [finished] = [e for e in events if e.type == "tool_call_finished"]
    assert finished.result.content.endswith("\n9")


def test_a_reply_request_that_ends_the_run_says_so_where_it_asks():
    """transfer_to_user: an empty reply ends the run, and the prompt says that, not "let the agent reply"."""
    ends = DecisionRequest(kind=RequestKind.HUMAN_INPUT, agent="triage", ends_run=True,
                           prompt="triage hands the conversation to you. Reply to triage, or approve to end the run.")
    out = io.StringIO()
    assert console_decide(ends, io.StringIO("\n"), out).kind == DecisionKind.APPROVE
    assert "(empty = end the run, 'exit' = stop)" in out.getvalue() and "let the agent reply" not in out.getvalue()
    goes_on = DecisionRequest(kind=RequestKind.HUMAN_INPUT, agent="user", prompt="Reply?")
    out = io.StringIO()
    assert console_decide(goes_on, io.StringIO("more please\n"), out).content == "more please"
    assert "(empty = let the agent reply, 'exit' = stop)" in out.getvalue()
