"""The LLM layer: model entries, OAI_CONFIG_LIST, and a client with fallback, retries, streaming,
an on-disk cache and usage/cost accounting, over the official ``openai`` async client.

Names are loaded on first access, so ``import tuiagents.llm`` imports neither ``openai`` nor the
client machinery (``tuiagents --help`` stays fast)::

    from tuiagents.llm import LLMClient, ModelEntry
    client = LLMClient([ModelEntry(name="local", model="llama3", base_url="http://127.0.0.1:8080/v1")])
    answer = await client.complete([{"role": "user", "content": "hi"}], agent="assistant")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ModelEntry": "settings",
    "LLMSettings": "settings",
    "load_oai_config_list": "config_list",
    "filter_entries": "config_list",
    "ConfigListError": "config_list",
    "LLMClient": "client",
    "Completion": "client",
    "LLMError": "errors",
    "StreamInterrupted": "errors",
    "DraftDiscard": "streaming",
    "UsageTracker": "usage",
    "UsageTotals": "usage",
    "UsageRecord": "usage",
}

__all__ = [
    "Completion",
    "ConfigListError",
    "DraftDiscard",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "ModelEntry",
    "StreamInterrupted",
    "UsageRecord",
    "UsageTotals",
    "UsageTracker",
    "filter_entries",
    "load_oai_config_list",
]

if TYPE_CHECKING:
    from tuiagents.llm.client import Completion, LLMClient
    from tuiagents.llm.config_list import ConfigListError, filter_entries, load_oai_config_list
    from tuiagents.llm.errors import LLMError, StreamInterrupted
    from tuiagents.llm.settings import LLMSettings, ModelEntry
    from tuiagents.llm.streaming import DraftDiscard
    from tuiagents.llm.usage import UsageRecord, UsageTotals, UsageTracker


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tuiagents.llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tuiagents.llm.{module}"), name)
    globals()[name] = value
    return value
