"""The script a :class:`~tuiagents.testing.server.ScriptedServer` follows: typed rules and replies.

A script is an ordered list of rules plus a default reply. For every chat-completion request the
server takes the first rule that is not used up and whose matchers all match, and answers with that
rule's reply (or fault). Build it in Python::

    Script(rules=[
        Rule(agent="planner", turn=0, reply="Plan: write the code."),
        Rule(agent="coder", reply=Reply.tool("run_python", code="print(1)")),
        Rule(contains="Who speaks next", reply=Reply.speaker("coder")),
        Rule(agent="coder", replies=["first try", "second try"]),   # one per match, then used up
        Rule(model="gpt-4o", fault=Fault.server_error()),          # this model always fails
    ], faults=[Fault.rate_limit(retry_after=0, times=2)])          # first 2 requests get 429

or load the same thing from JSON / TOML (``Script.from_file``) or a dict (``Script.model_validate``)::

    {
      "rules": [
        {"agent": "planner", "turn": 0, "reply": "Plan: write the code."},
        {"agent": "coder", "reply": {"tool_calls": [{"name": "run_python",
                                                      "arguments": {"code": "print(1)"}}]}},
        {"contains": "Who speaks next", "reply": "coder"},
        {"agent": "coder", "replies": ["first try", "second try"]},
        {"model": "gpt-4o", "fault": {"kind": "server_error"}}
      ],
      "faults": [{"kind": "rate_limit", "retry_after": 0, "times": 2}],
      "default": "(scripted server: no rule matched)",
      "models": ["scripted-model"]
    }

A reply written as a plain string is text content. Matchers (all optional, all must match):

- ``agent``: the request's ``user`` field equals it (the engine sends ``user=<agent name>``). When a
  request has no ``user`` field, ``agent`` is instead looked for as a substring of the system message.
- ``turn``: 0-based index of this request among the *completed* requests of the same agent (agent =
  the ``user`` field, or the system message when there is none). Requests answered with a fatal
  fault (429, 500, drop, ...) do not count, so a retry sees the same turn.
- ``contains`` / ``regex``: substring / ``re.search`` pattern in the last message's text content.
- ``history``: substring of any message's text content (system messages included): it says how far
  a conversation got, whoever asks and however often the server was restarted (a resumed session).
- ``system``: substring of the system message(s).
- ``model``: the requested model name (``fnmatch`` glob, so ``"gpt-4*"`` works).

``times`` limits how often a rule can match (default: unlimited, or ``len(replies)`` for a sequence;
when ``times`` exceeds the sequence the last reply repeats).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tuiagents.testing.faults import Fault

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

NO_MATCH_TEXT = "(scripted server: no rule matched)"

#: The script format in brief, for ``--help`` (the module docstring has the full story).
SCRIPT_HELP = """\
script format (--script FILE.json or FILE.toml):
  {"rules": [RULE, ...], "faults": [FAULT, ...], "default": REPLY, "models": ["scripted-model"]}
  For each chat request the first rule whose matchers all match answers; otherwise "default".
  RULE matchers (all optional): "agent" (the request's user field = the agent's name), "turn"
  (0-based count of that agent's answered requests), "contains" / "regex" (the last message's
  text), "history" (any message's text), "system" (the system message), "model" (a glob).
  RULE answer: "reply": REPLY, or "replies": [REPLY, ...] (one per match), or "fault": FAULT;
  "times": N limits how often the rule matches.
  REPLY: a string, or {"content": "...", "tool_calls": [{"name": "f", "arguments": {...}}]}.
  FAULT: {"kind": "rate_limit" | "server_error" | "drop" | "slow" | ..., "times": N}
  (all kinds: python -c "import tuiagents.testing.faults as f; help(f)").
example:
  {"rules": [{"agent": "coder", "reply": "```python\\nprint(1)\\n```"},
             {"contains": "Who speaks next", "reply": "coder"}]}
"""


class ToolCall(BaseModel):
    """A function call the scripted model makes; ``arguments`` is a dict (sent as JSON) or a string."""

    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    id: str | None = Field(default=None, description="Tool call id; generated when omitted.")

    def arguments_json(self) -> str:
        """The arguments exactly as sent on the wire (a JSON string, or the raw string given)."""
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


class Usage(BaseModel):
    """Token counts that override the server's own word-count approximation for one reply."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class Reply(BaseModel):
    """What the scripted model answers: text ``content``, ``tool_calls``, or both."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage | None = Field(default=None, description="Reported usage; counted when omitted.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"content": data} if isinstance(data, str) else data

    @classmethod
    def text(cls, content: str) -> Reply:
        """A plain text reply."""
        return cls(content=content)

    @classmethod
    def tool(cls, name: str, arguments: dict[str, Any] | str | None = None, **kwargs: Any) -> Reply:
        """A reply with one tool call; arguments as a dict, a JSON string, or keyword arguments."""
        return cls(tool_calls=[ToolCall(name=name, arguments=arguments if arguments is not None else kwargs)])

    @classmethod
    def speaker(cls, name: str) -> Reply:
        """The answer to a group chat's "who speaks next?" question: just the agent's name."""
        return cls(content=name)

    @property
    def finish_reason(self) -> str:
        """``"tool_calls"`` when the reply calls tools, else ``"stop"``."""
        return "tool_calls" if self.tool_calls else "stop"


class Rule(BaseModel):
    """One matcher set and what to answer when it matches; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    agent: str | None = None
    turn: int | None = Field(default=None, ge=0)
    contains: str | None = None
    regex: str | None = None
    history: str | None = None
    system: str | None = None
    model: str | None = None
    reply: Reply | None = None
    replies: list[Reply] = Field(default_factory=list)
    fault: Fault | None = None
    times: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, description="Label used in logs and request records.")

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.reply is not None and self.replies:
            raise ValueError("a rule has either 'reply' or 'replies', not both")
        if self.times is None and self.replies:
            self.times = len(self.replies)
        return self

    def reply_for(self, use: int) -> Reply | None:
        """The reply for this rule's ``use``-th match (0-based); ``None`` means the script default."""
        if self.replies:
            return self.replies[min(use, len(self.replies) - 1)]
        return self.reply

    def label(self, index: int) -> str:
        """A readable name for logs: the rule's ``name`` or ``rule[index]``."""
        return self.name or f"rule[{index}]"


class Script(BaseModel):
    """The whole behaviour of a scripted server: rules, global faults, default reply, model list."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list, description="Applied to the next requests.")
    default: Reply = Field(default_factory=lambda: Reply(content=NO_MATCH_TEXT))
    models: list[str] = Field(default_factory=lambda: ["scripted-model"])

    @field_validator("faults", mode="before")
    @classmethod
    def _one_fault(cls, value: Any) -> Any:
        return [value] if isinstance(value, (dict, Fault)) else value

    @classmethod
    def from_file(cls, path: str | Path) -> Script:
        """Load a script from a ``.json`` or ``.toml`` file (same structure either way)."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        return cls.model_validate(data)

    @classmethod
    def coerce(cls, value: Script | dict | list | str | Path | None) -> Script:
        """Accept a Script, a dict, a list of rules, a file path, or None (empty script)."""
        if value is None:
            return cls()
        if isinstance(value, Script):
            return value
        if isinstance(value, (str, Path)):
            return cls.from_file(value)
        if isinstance(value, list):
            return cls(rules=[r if isinstance(r, Rule) else Rule.model_validate(r) for r in value])
        return cls.model_validate(value)
