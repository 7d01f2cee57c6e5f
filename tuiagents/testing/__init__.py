"""Real parts for testing tuiagents: a scripted, OpenAI-compatible HTTP server.

Typical use in a test (see :mod:`tuiagents.testing.script` for the script format and
:mod:`tuiagents.testing.faults` for fault injection)::

    from tuiagents.testing import Fault, Reply, Rule, Script, ScriptedServer

    script = Script(rules=[
        Rule(agent="coder", turn=0, reply="```python\\nprint(1)\\n```"),
        Rule(agent="coder", reply=Reply.tool("run", code="print(2)")),
        Rule(contains="speaks next", reply=Reply.speaker("reviewer")),
    ], faults=[Fault.rate_limit(retry_after=0, times=2)])
    with ScriptedServer(script) as server:
        client = openai.AsyncOpenAI(base_url=server.url, api_key="test")
        ...
        assert len(server.requests_for("coder")) == 3

Pytest users can import the ``scripted_server`` fixture from :mod:`tuiagents.testing.fixtures`.
``ScriptedServer`` and ``RecordedRequest`` are imported lazily so that
``python -m tuiagents.testing.server`` runs cleanly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuiagents.testing.faults import Fault
from tuiagents.testing.script import NO_MATCH_TEXT, Reply, Rule, Script, ToolCall, Usage
from tuiagents.testing.wire import count_tokens

if TYPE_CHECKING:
    from tuiagents.testing.server import RecordedRequest, ScriptedServer

__all__ = [
    "NO_MATCH_TEXT",
    "Fault",
    "RecordedRequest",
    "Reply",
    "Rule",
    "Script",
    "ScriptedServer",
    "ToolCall",
    "Usage",
    "count_tokens",
]


def __getattr__(name: str) -> Any:
    if name in ("ScriptedServer", "RecordedRequest"):
        from tuiagents.testing import server

        return getattr(server, name)
    raise AttributeError(f"module 'tuiagents.testing' has no attribute {name!r}")
