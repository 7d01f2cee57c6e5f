"""A stream that breaks mid-message does not end the run: the partial draft is discarded (a
`DraftDiscarded` event, shown by the cockpit) and the reply is asked for again, then from the
fallback entry. Driven by the real engine, the real `openai` client and the scripted server."""

from __future__ import annotations

from pathlib import Path

from ui_support import screen_text, wait_until

from tuiagents.app.cli import main
from tuiagents.engine.events import (
    AgentInfo, DraftDiscarded, MessageDelivered, MessageDrafted, Notice, RunStarted, TokenDelta,
)
from tuiagents.engine.factory import build_run
from tuiagents.session.reader import read_session
from tuiagents.testing import Fault, Rule

BROKEN = Rule(agent="assistant", model="main-model", reply="half of a reply that never ends",
              fault=Fault.drop_mid_stream(after_chunks=3))
BACKUP = Rule(agent="assistant", model="backup-model", reply="The backup finished it. TERMINATE")
MODELS = [{"name": "default", "model": "main-model", "max_retries": 1, "fallback": ["backup"]},
          {"name": "backup", "model": "backup-model"}]
PAIR = dict(agents=[{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                    {"name": "assistant", "kind": "assistant", "model": "default"}],
            teams=[{"name": "pair", "agents": ["user", "assistant"]}])


async def test_broken_stream_is_discarded_then_the_fallback_answers(server, make_config, run_to_end, tmp_path):
    server.load([BROKEN, BACKUP])
    run = build_run(make_config(models=MODELS, **PAIR), "pair", "go", approve="all", work_dir=tmp_path)
    deltas: list[TokenDelta] = []
    run.bus.subscribe(lambda e: deltas.append(e) if isinstance(e, TokenDelta) else None)
    result = await run_to_end(run)

    assert result.stop_reason == "assistant said TERMINATE"
    history = run.bus.history
    discarded = [e for e in history if isinstance(e, DraftDiscarded)]
    assert [(d.agent, d.chars) for d in discarded] == [("assistant", len("half of ")), ("assistant", len("half of "))]
    assert all(d.reason.startswith("connection error") for d in discarded)
    drafted = next(e for e in history if isinstance(e, MessageDrafted))
    assert drafted.content == "The backup finished it. TERMINATE"
    # the deltas after the last discard are exactly the draft
    after = [d.text for d in deltas if d.seq > discarded[-1].seq]
    assert "".join(after) == drafted.content
    notices = [n.text for n in history if isinstance(n, Notice)]
    assert any("retrying" in t for t in notices) and "falling back from default to backup: connection error" in notices
    delivered = [e.message.content for e in history if isinstance(e, MessageDelivered)]
    assert delivered[-1] == "The backup finished it. TERMINATE"


def test_unattended_run_survives_a_dropped_stream(server, capsys, tmp_path: Path):
    server.load([BROKEN, BACKUP])
    config = tmp_path / "config.toml"
    config.write_text(
        f'[llm]\ncache_seed = false\nretry_base_delay = 0.01\nretry_max_delay = 0.02\n\n'
        f'[[models]]\nname = "default"\nmodel = "main-model"\nbase_url = "{server.url}"\n'
        f'max_retries = 1\nfallback = ["backup"]\n\n'
        f'[[models]]\nname = "backup"\nmodel = "backup-model"\nbase_url = "{server.url}"\n\n'
        '[[agents]]\nname = "user"\nkind = "user_proxy"\nhuman_input_mode = "NEVER"\n\n'
        '[[agents]]\nname = "assistant"\nkind = "assistant"\nmodel = "default"\n\n'
        '[[teams]]\nname = "pair"\nagents = ["user", "assistant"]\nmax_turns = 3\n')
    session = tmp_path / "run.jsonl"
    code = main(["run", "--headless", "--config", str(config), "--task", "go", "--approve", "all",
                 "--session", str(session)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "falling back from default to backup" in out and "The backup finished it." in out
    log = read_session(session)
    assert log.run_stopped.reason == "assistant said TERMINATE"
    assert sum(isinstance(e, DraftDiscarded) for e in log.events) == 2


async def test_the_cockpit_drops_a_discarded_draft():
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    events = [RunStarted(run_id="r", team="t", team_kind="two_agent", task="x",
                         agents=[AgentInfo(name="user", model=None), AgentInfo(name="coder", model="m")]),
              TokenDelta(agent="coder", text="half of "),
              DraftDiscarded(agent="coder", chars=8, reason="connection error: connection failed"),
              TokenDelta(agent="coder", text="a whole reply")]
    app = TuiAgentsApp(events=events, options=UIOptions(bell=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "a whole reply" in screen_text(app), what="the new stream")
        screen = app.screen
        feed = screen.feed
        assert feed.live["coder"].content == "a whole reply" and feed.live["coder"].streaming
        assert "discarded: connection error" in screen_text(app)  # the notice is on screen
        entries = feed.pane("coder").entries
        broken = [e for e in entries if getattr(e, "struck", False)]
        assert len(broken) == 1 and broken[0].content == "half of "
        assert any("discarded" in tag and "connection error" in tag for tag in broken[0].tags)
        assert screen.state.agents["coder"].state == "streaming"
