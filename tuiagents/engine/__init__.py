"""The conversation engine: agents, two-agent and group chats, decisions and events (no Textual).

A run is put together from small parts, each in its own module:

- `settings.RunSettings` (how the team runs) and `settings.RunResources` (what it releases);
- `state.RunState`: transcript, counters, usage, queued messages (rebuilt from a log by `restore`);
- `gate.DecisionGate`: emits a request and awaits the `Decision` that answers it;
- `control.RunControl`: stop, pause, the running turn and the running code's cancel flag;
- `core.RunCore`: the above plus the team and the event bus: what the loop (`loop`), a turn
  (`turns`) and speaker selection (`speaker`) work with;
- `run.TeamRun`: a RunCore with the human controls a UI calls and `run()`.

Imports go one way, `run` → `loop` → `turns`/`speaker` → `core` → the parts; `llm` and `execution`
sit below the engine and never import it.
"""
