"""Values the LLM layer hands up to the engine, defined here so that `llm` never imports `engine`."""

from __future__ import annotations

from pydantic import BaseModel


class ToolCall(BaseModel):
    """A function call an agent's model asked for (OpenAI `tool_calls` shape, flattened)."""

    id: str
    name: str
    arguments: str = "{}"
