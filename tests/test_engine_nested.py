"""Nested chats (AutoGen's register_nested_chats): an agent answers a trigger's message with the
summary of chats it runs with its recipients. Real config, factory, engine, LLM client and
scripted server; the session log is a real file, resumed by the real resume path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiagents.app.launch import prepare_run
from tuiagents.config import ConfigError
from tuiagents.engine.decisions import ROOT_CHAT, Decision, RequestKind
from tuiagents.engine.events import (
    ChatEnded, ChatStarted, MessageDelivered, MessageDrafted, TurnStarted,
)
from tuiagents.engine.factory import build_run
from tuiagents.engine.nested import fill_message
from tuiagents.engine.view import fold
from tuiagents.session.export import export_session
from tuiagents.session.log import SessionWriter
from tuiagents.session.reader import read_session
from tuiagents.session.resume import prepare_resume
from tuiagents.testing import Rule

NESTED = "root/user.nested1"


def _agents(**user: object) -> list[dict]:
    nested = {"nested_chats": [{"recipient": "critic", "message": "Critique this:\n{last}", "max_turns": 1}],
              "nested_trigger": ["writer"]}
    return [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", **nested, **user},
            {"name": "writer", "kind": "assistant"},
            {"name": "critic", "kind": "assistant", "system_message": "You critique drafts."}]


def _config(make_config, **user: object):
    return make_config(agents=_agents(**user), teams=[{"name": "review", "agents": ["user", "writer"], "max_turns": 2}])


def _rules() -> list[Rule]:
    return [Rule(agent="writer", turn=0, reply="draft one"), Rule(agent="writer", reply="draft two"),
            Rule(agent="critic", contains="Critique this:\ndraft one", reply="too long; cut line 2")]


def _said(events, chat: str = ROOT_CHAT) -> list[tuple[str, str]]:
    return [(e.message.sender, e.message.content) for e in events if isinstance(e, MessageDelivered) and e.chat == chat]


async def test_the_critics_critique_is_the_users_reply_and_every_event_inside_carries_the_nested_chat(
        make_config, server, human, run_to_end, tmp_path):
    server.load(_rules())
    run = human.attach(build_run(_config(make_config), "review", "Write a haiku.", work_dir=tmp_path))
    human.default = Decision.approve()
    await run_to_end(run)
    events = run.bus.history

    started = [e for e in events if isinstance(e, ChatStarted)]
    assert [(e.chat, e.parent, e.scope, e.owner, e.title, e.index) for e in started] == \
        [(NESTED, ROOT_CHAT, "nested", "user", "nested chat with critic", 1)]
    assert started[0].task == "Critique this:\ndraft one"  # {last} is the triggering message
    assert [a.name for a in started[0].agents] == ["user", "critic"]  # the inner sender is the agent itself
    assert _said(events, NESTED) == [("user", "Critique this:\ndraft one"), ("critic", "too long; cut line 2")]
    assert _said(events) == [("user", "Write a haiku."), ("writer", "draft one"),
                             ("user", "too long; cut line 2"), ("writer", "draft two")]
    ended = next(e for e in events if isinstance(e, ChatEnded))
    assert (ended.chat, ended.summary) == (NESTED, "too long; cut line 2")
    # inside the nested chat, the critic's turn, draft and request all carry its id
    critic = [e for e in events if getattr(e, "agent", None) == "critic"
              and isinstance(e, (TurnStarted, MessageDrafted))]
    assert critic and {e.chat for e in critic} == {NESTED}
    asked = [(r.agent, r.chat) for r in human.of_kind(RequestKind.MESSAGE)]
    # the summary is the user's own draft in the root chat, asked like any other
    assert asked == [("writer", ROOT_CHAT), ("critic", NESTED), ("user", ROOT_CHAT), ("writer", ROOT_CHAT)]


async def test_the_outer_reply_is_supervised_an_edit_is_delivered_and_a_rejection_asks_the_critic_again(
        make_config, server, human, run_to_end, tmp_path):
    server.load([Rule(agent="critic", contains="rejected it: be kinder", reply="nice; cut line 2"), *_rules()])
    run = human.attach(build_run(_config(make_config), "review", "Write a haiku.", work_dir=tmp_path))
    human.default = Decision.approve()
    human.queue(RequestKind.MESSAGE, Decision.approve(), Decision.approve(),  # writer, critic
                Decision.reject("be kinder"), Decision.approve(),  # the user's summary; the critic again
                Decision.edit("Cut line 2, please."))  # the user's second summary, edited
    await run_to_end(run)
    events = run.bus.history

    chats = [e.chat for e in events if isinstance(e, ChatStarted)]
    assert chats == [NESTED, "root/user.nested2"]  # a second try is a chat of its own
    again = next(e for e in events if isinstance(e, ChatStarted) and e.chat == "root/user.nested2")
    assert "too long; cut line 2" in again.task and "be kinder" in again.task
    reply = next(e.message for e in events if isinstance(e, MessageDelivered) and e.chat == ROOT_CHAT
                 and e.message.sender == "user" and e.message.origin == "agent")
    assert (reply.content, reply.human_edited, reply.original) == ("Cut line 2, please.", True, "nice; cut line 2")


def test_fill_message_fills_last_and_keeps_doubled_braces():
    assert fill_message("Critique {{this}}:\n{last}", "a {draft}") == "Critique {this}:\na {draft}"
    assert fill_message(None, "as is {last}") == "as is {last}"


@pytest.mark.parametrize("user, critic, expected", [
    ({}, {"nested_chats": [{"recipient": "user"}], "nested_trigger": ["user"]},
     "agents[0].nested_chats: nested chats loop: user → critic → user"),
    ({"nested_chats": [{"recipient": "user"}]}, {}, "cannot run a nested chat with itself"),
    ({"nested_chats": [{"recipient": "ghost"}]}, {}, "names 'ghost', which is not defined"),
    ({"nested_trigger": ["wrter"]}, {}, "agents[0].nested_trigger[0]: 'wrter' is not a defined agent"),
    ({"nested_chats": [{"recipient": "critic", "message": "Critique {draft}"}]}, {},
     "'{draft}' is not a placeholder here"),
])
def test_nested_chat_config_errors_name_the_key_and_the_loop(make_config, user, critic, expected):
    agents = _agents(**user)
    agents[2].update(critic)
    with pytest.raises(ConfigError) as err:
        make_config(agents=agents, teams=[{"name": "review", "agents": ["user", "writer"]}])
    assert expected in str(err.value)


def test_a_loop_through_a_third_agent_is_named_and_the_command_exits_2(tmp_path, server):
    import subprocess
    import sys

    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[[models]]
name = "default"
model = "scripted-model"
base_url = "{server.url}"

[[agents]]
name = "a"
kind = "user_proxy"
nested_chats = [{{ recipient = "b" }}]
nested_trigger = ["c"]

[[agents]]
name = "b"
nested_chats = [{{ recipient = "c" }}]
nested_trigger = ["a"]

[[agents]]
name = "c"
kind = "assistant"
nested_chats = [{{ recipient = "a" }}]
nested_trigger = ["b"]

[[teams]]
name = "t"
agents = ["a", "c"]
""")
    done = subprocess.run([sys.executable, "-m", "tuiagents", "run", "--headless", "--config", str(cfg),
                           "--task", "x"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "nested chats loop: a → b → c → a" in done.stderr and "Traceback" not in done.stderr


def _calls(server, agent: str) -> list:
    return [r for r in server.chat_requests if r.body.get("user") == agent]


def _cut(path: Path, dest: Path, keep) -> int:
    """Write `dest`: the header of `path` and its events up to the first one `keep` refuses."""
    log = read_session(path)
    events = log.events
    n = next(i for i, e in enumerate(events) if not keep(e))
    with SessionWriter(dest, log.header) as writer:
        writer.write_many(events[:n])
    return n


@pytest.mark.parametrize("cut_at", ["critic's turn", "the user's summary"])
async def test_a_log_cut_off_inside_a_nested_chat_resumes_in_it(make_config, server, run_to_end, tmp_path, cut_at):
    server.load(_rules())
    cfg = _config(make_config)
    first = prepare_run(cfg, "review", "Write a haiku.", approve="all", session_path=tmp_path / "full.jsonl")
    await run_to_end(first)
    critic_calls = len(_calls(server, "critic"))

    if cut_at == "critic's turn":  # the process died as the critic's draft came
        keep = lambda e: not (isinstance(e, MessageDrafted) and e.chat == NESTED)  # noqa: E731
    else:  # it died after the nested chat ended, as the user's summary was drafted
        keep = lambda e: not (isinstance(e, MessageDrafted) and e.agent == "user")  # noqa: E731
    _cut(tmp_path / "full.jsonl", tmp_path / "cut.jsonl", keep)

    run = prepare_resume(tmp_path / "cut.jsonl", config=cfg, approve="all")
    before = len(read_session(tmp_path / "cut.jsonl").events)
    await run_to_end(run)
    log = read_session(tmp_path / "cut.jsonl")
    new = log.events[before:]

    assert [e.chat for e in new if isinstance(e, ChatStarted)] == ([NESTED] if cut_at == "critic's turn" else [])
    if cut_at == "critic's turn":
        assert next(e for e in new if isinstance(e, ChatStarted)).resumed
        assert _said(new, NESTED) == [("critic", "too long; cut line 2")]  # its task is not sent again
    else:  # the ended chat's summary is taken from the log: the critic is not asked again
        assert len(_calls(server, "critic")) == critic_calls
    view = fold(log.events)
    assert [m.sender for m in view.messages_in(NESTED)] == ["user", "critic"]
    assert [(m.sender, m.content) for m in view.messages_in(ROOT_CHAT)] == \
        [("user", "Write a haiku."), ("writer", "draft one"), ("user", "too long; cut line 2"), ("writer", "draft two")]
    for fmt in ("md", "html", "json"):  # exports show the nested chat and what was said in it
        text = export_session(log, fmt)
        assert "nested chat with critic" in text and "Critique this:" in text


async def test_a_stop_inside_the_nested_chat_ends_the_run_and_a_resume_goes_on_in_that_chat(
        make_config, server, human, run_to_end, tmp_path):
    server.load(_rules())
    cfg = _config(make_config)
    run = human.attach(prepare_run(cfg, "review", "Write a haiku.", session_path=tmp_path / "run.jsonl"))
    human.queue(RequestKind.MESSAGE, Decision.approve(), Decision.stop("enough"))  # writer; the critic's draft
    result = await run_to_end(run)
    assert result.stop_kind.value == "stopped_by_user"
    ended = next(e for e in run.bus.history if isinstance(e, ChatEnded))
    assert (ended.chat, ended.kind.value) == (NESTED, "stopped_by_user")
    assert _said(run.bus.history) == [("user", "Write a haiku."), ("writer", "draft one")]  # no reply from user

    again = prepare_resume(tmp_path / "run.jsonl", config=cfg, approve="all")
    before = len(read_session(tmp_path / "run.jsonl").events)
    await run_to_end(again)
    new = read_session(tmp_path / "run.jsonl").events[before:]
    # the chat the stop cut short goes on (it did not end on its own), under the same id; the run,
    # a new leg, goes on after it with the agent's next nested chat
    assert [(e.chat, e.resumed) for e in new if isinstance(e, ChatStarted)][:2] == \
        [(NESTED, True), ("root/user.nested2", False)]
    assert _said(new, NESTED) == [("critic", "too long; cut line 2")]
    assert _said(new)[0] == ("user", "too long; cut line 2")


def test_which_messages_trigger_the_nested_chats():
    from tuiagents.engine.agent import AssistantAgent, UserProxyAgent
    from tuiagents.engine.core import RunCore
    from tuiagents.engine.messages import Message
    from tuiagents.engine.nested import NestedChat, NestedChats

    user, writer, critic = UserProxyAgent("user"), AssistantAgent("writer"), AssistantAgent("critic")
    run = RunCore([user, writer], "task")

    def fires(trigger: list[str], message: Message) -> bool:
        run.state.transcript[:] = [message]
        return NestedChats([NestedChat(critic)], trigger).triggering(run, user) is message

    draft = Message(sender="writer", content="a draft")
    assert fires(["writer"], draft) and fires(["all"], draft) and not fires(["human"], draft)
    injected = Message(sender="human", content="a note", origin="human")
    assert fires(["human"], injected) and not fires(["all"], injected) and not fires(["writer"], injected)
    # code output, tool results, a message to another agent and the agent's own never do
    assert not fires(["writer"], Message(sender="writer", content="exit 0", origin="execution"))
    assert not fires(["writer"], Message(sender="writer", content="to the critic", recipient="critic"))
    assert not fires(["all"], Message(sender="user", content="mine"))
