"""The first SDK client of an entry is built off the event loop (its `import openai` and SSL
context would otherwise hold the app's first frame and keys), once per entry even when several
turns start together. Timings are in `bench/bench_first_frame.py`."""

from __future__ import annotations

import asyncio
import threading

import pytest

import tuiagents.llm.client as client_module
from tuiagents.llm import LLMClient, LLMSettings, ModelEntry
from tuiagents.testing import Rule
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each real client build, as whether it ran on the event loop's thread."""
    seen: list[bool] = []
    real = client_module.make_sdk_client

    def recording(entry):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(entry)

    monkeypatch.setattr(client_module, "make_sdk_client", recording)
    return seen


async def test_first_client_is_built_in_a_worker_thread_once_for_concurrent_turns(scripted_server, tmp_path,
                                                                                 builds):
    server = scripted_server([Rule(reply="hi")])
    entry = ModelEntry(name="default", model="m", base_url=server.url)
    llm = LLMClient([entry], LLMSettings(cache_seed=False, cache_dir=str(tmp_path)))
    ask = [{"role": "user", "content": "hello"}]
    try:
        results = await asyncio.gather(*(llm.complete(ask, agent=f"a{i}") for i in range(3)))
        again = await llm.complete(ask, agent="a3")
    finally:
        await llm.aclose()
    assert [r.content for r in results] == ["hi", "hi", "hi"] and again.content == "hi"
    assert builds == [False]  # one build, not on the loop's thread


async def test_a_bad_entry_still_fails_with_a_clear_message_and_can_be_retried(tmp_path, builds, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    entry = ModelEntry(name="default", model="m", api_key_env="TUIAGENTS_TEST_NO_SUCH_KEY")
    llm = LLMClient([entry], LLMSettings(cache_seed=False, cache_dir=str(tmp_path)))
    ask = [{"role": "user", "content": "hello"}]
    for _ in range(2):
        with pytest.raises(client_module.LLMError, match="TUIAGENTS_TEST_NO_SUCH_KEY"):
            await llm.complete(ask, agent="a")
    assert builds == [False, False]
    await llm.aclose()
