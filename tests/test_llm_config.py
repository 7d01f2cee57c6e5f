"""Model entries, AutoGen's OAI_CONFIG_LIST, filters, secrets handling and the lazy import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from tuiagents.llm import (
    ConfigListError,
    LLMClient,
    LLMSettings,
    ModelEntry,
    filter_entries,
    load_oai_config_list,
)
from tuiagents.testing import Rule
from tuiagents.testing.fixtures import scripted_server  # noqa: F401 - pytest fixture

SECRET = "sk-proj-VERYSECRET0123456789"
CONFIG = [
    {"model": "gpt-4o", "api_key": SECRET, "tags": ["smart", "cloud"], "price": [0.0025, 0.01]},
    {"model": "gpt-4o-mini", "api_key": SECRET, "tags": ["fast", "cloud"]},
    {"model": "llama3", "base_url": "http://127.0.0.1:11434/v1", "api_key": "ollama", "tags": ["local"]},
    {"model": "gpt-4o", "api_type": "azure", "base_url": "https://x.openai.azure.com/",
     "api_version": "2024-06-01", "api_key": SECRET, "api_rate_limit": 5},
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OAI_CONFIG_LIST"):
        monkeypatch.delenv(name, raising=False)


def test_from_env_json(monkeypatch) -> None:
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(CONFIG))
    entries = load_oai_config_list()
    assert [e.name for e in entries] == ["gpt-4o", "gpt-4o-mini", "llama3", "gpt-4o#2"]
    first, _, local, azure = entries
    assert first.api_key.get_secret_value() == SECRET
    assert first.price == pytest.approx((2.5, 10.0))  # AutoGen's per-1K price, stored per 1M
    assert local.base_url == "http://127.0.0.1:11434/v1" and local.tags == ["local"]
    assert azure.api_type == "azure" and azure.api_version == "2024-06-01"


def test_from_file_named_by_env_and_from_path(monkeypatch, tmp_path) -> None:
    path = tmp_path / "OAI_CONFIG_LIST.json"
    path.write_text(json.dumps(CONFIG))
    monkeypatch.setenv("MY_CONFIG_LIST", str(path))
    assert len(load_oai_config_list("MY_CONFIG_LIST")) == 4
    assert len(load_oai_config_list(str(path))) == 4


def test_filter_dict_and_filter_entries(monkeypatch) -> None:
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(CONFIG))
    assert [e.model for e in load_oai_config_list(filter_dict={"model": ["gpt-4o-mini", "llama3"]})] == [
        "gpt-4o-mini", "llama3"]
    assert [e.model for e in load_oai_config_list(filter_dict={"tags": ["fast", "local"]})] == [
        "gpt-4o-mini", "llama3"]
    entries = load_oai_config_list()
    assert [e.name for e in filter_entries(entries, model="gpt-4o")] == ["gpt-4o", "gpt-4o#2"]
    assert [e.name for e in filter_entries(entries, tags=["cloud"])] == ["gpt-4o", "gpt-4o-mini"]
    assert [e.name for e in filter_entries(entries, model=["gpt-4o"], tags="smart")] == ["gpt-4o"]
    assert filter_entries(entries, tags=[]) == []


def test_errors_are_clear_and_quote_no_secret(monkeypatch, tmp_path) -> None:
    with pytest.raises(ConfigListError, match="no OAI_CONFIG_LIST found"):
        load_oai_config_list()
    monkeypatch.setenv("OAI_CONFIG_LIST", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigListError, match="neither JSON nor the path"):
        load_oai_config_list()
    monkeypatch.setenv("OAI_CONFIG_LIST", '[{"model": "m", "api_key": "' + SECRET + '",}]')
    with pytest.raises(ConfigListError) as info:
        load_oai_config_list()
    assert "not valid JSON" in str(info.value) and SECRET not in str(info.value)
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "m", "api_key": SECRET, "timeout": "soon"}]))
    with pytest.raises(ConfigListError) as info:
        load_oai_config_list()
    assert "timeout" in str(info.value) and SECRET not in str(info.value)


def test_api_key_never_dumped_or_shown(monkeypatch) -> None:
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(CONFIG))
    entry = load_oai_config_list()[0]
    for text in (repr(entry), str(entry), entry.model_dump_json(), json.dumps(entry.model_dump()),
                 repr(LLMClient([entry]))):
        assert SECRET not in text
    assert "api_key" not in entry.model_dump()


def test_model_entry_validation() -> None:
    with pytest.raises(ValidationError):
        ModelEntry(name="x", model="m", surprise=1)
    with pytest.raises(ValidationError):
        ModelEntry(name="x", model="m", price=(-1, 2))
    with pytest.raises(ValidationError):
        LLMSettings(cache_seed=True)
    assert LLMSettings(cache_seed=False).cache_seed is False
    entry = ModelEntry(name="x", model="m", base_url="https://user:pw@example.test/v1?key=abc")
    assert entry.label() == "x (m @ example.test/v1)"


async def test_config_list_entry_key_is_sent(scripted_server, monkeypatch) -> None:
    server = scripted_server([Rule(reply="hi")])
    config = [{"model": "m", "base_url": server.url, "api_key": SECRET}]
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(config))
    client = LLMClient(load_oai_config_list(), LLMSettings(cache_seed=False))
    assert (await client.complete([{"role": "user", "content": "x"}])).content == "hi"
    await client.aclose()
    assert server.chat_requests[0].headers.get("authorization") == f"Bearer {SECRET}"


def test_importing_the_llm_layer_does_not_import_openai() -> None:
    code = (
        "import sys, tuiagents.llm, tuiagents.llm.settings, tuiagents.llm.client, tuiagents.llm.config_list\n"
        "from tuiagents.llm import LLMClient, ModelEntry\n"
        "LLMClient([ModelEntry(name='a', model='m')])\n"
        "print('openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
