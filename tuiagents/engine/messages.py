"""The messages agents exchange: one shared transcript, seen by each agent from its own side."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from tuiagents.llm.types import ToolCall  # the model's calls are the engine's calls

__all__ = ["Message", "ToolCall", "ToolResult", "history_for"]


class ToolResult(BaseModel):
    """The answer to one tool call, sent back to the model as a `tool` message."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


def new_message_id() -> str:
    """A message id, unique in a log (views find a message by it, never by its text)."""
    return "m" + uuid.uuid4().hex[:12]


class Message(BaseModel):
    """One delivered message of the conversation.

    `sender` is the agent (or "human") who produced it. Tool calls and tool results travel as
    messages too, so the OpenAI message protocol stays valid when the history is replayed.
    """

    id: str = Field(default_factory=new_message_id)
    sender: str
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    human_edited: bool = False
    original: str | None = None
    #: "agent" for a generated reply, "human" for typed/injected text, "execution" for code output.
    origin: Literal["agent", "human", "execution", "tool"] = "agent"
    recipient: str | None = None
    #: a swarm's transfer: the agent this message (the answer to a `transfer_to_...` call, as the
    #: supervisor approved or redirected it) hands the conversation to
    handoff: str | None = None

    def to_openai(self, viewer: str) -> list[dict[str, Any]]:
        """Render this message as the OpenAI messages `viewer` sees in its own LLM call.

        Only the agent that made a tool call sees the call and its results in the `tool` protocol;
        every other agent sees them as plain text, which keeps each request valid.
        """
        if self.tool_results:
            if viewer == self.recipient:
                return [
                    {"role": "tool", "tool_call_id": r.call_id, "content": r.content}
                    for r in self.tool_results
                ]
            text = "\n".join(f"[tool {r.name} returned] {r.content}" for r in self.tool_results)
            return [{"role": "user", "name": _safe_name(self.sender), "content": text}]
        if self.sender == viewer:
            out: dict[str, Any] = {"role": "assistant", "content": self.content or ""}
            if self.tool_calls:
                out["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in self.tool_calls
                ]
            return [out]
        text = self.content
        for c in self.tool_calls:
            text += f"\n[calls tool {c.name}({c.arguments})]"
        return [{"role": "user", "name": _safe_name(self.sender), "content": text.strip()}]


def _safe_name(name: str) -> str:
    """OpenAI's `name` field only allows [a-zA-Z0-9_-]; keep the rest readable."""
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)[:64] or "user"


def history_for(viewer: str, system_message: str, transcript: list[Message]) -> list[dict[str, Any]]:
    """The OpenAI message list an agent's model receives: its system message, then the transcript.

    Tool calls that never got a result (for example a human interrupted them) would make the
    request invalid, so they are dropped from the view rather than sent dangling; and results
    are moved right after their calls, where the API requires them, even when a human message
    was delivered in between (an inject "now" while the call waited for approval).
    """
    answered = {r.call_id for m in transcript for r in m.tool_results}
    out: list[dict[str, Any]] = []
    if system_message:
        out.append({"role": "system", "content": system_message})
    for m in transcript:
        if m.tool_calls and m.sender == viewer:
            kept = [c for c in m.tool_calls if c.id in answered]
            if len(kept) != len(m.tool_calls):
                m = m.model_copy(update={"tool_calls": kept})
        out.extend(m.to_openai(viewer))
    return _results_after_calls(out)


def _results_after_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = {m["tool_call_id"]: m for m in messages if m["role"] == "tool"}
    if not results:
        return messages
    ordered: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "tool":
            continue  # placed after its call below
        ordered.append(m)
        for call in m.get("tool_calls") or ():
            if call["id"] in results:
                ordered.append(results[call["id"]])
    return ordered
