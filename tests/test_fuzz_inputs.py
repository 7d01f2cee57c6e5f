"""Hostile input, fuzzed: the config loader, the session-log reader and the AutoGen importer end every
input in success or a clear error (never a traceback), and a failed import leaves no file behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuiagents.config import ConfigError, load_config, parse_config
from tuiagents.session.autogen_import import import_autogen
from tuiagents.session.log import SessionError
from tuiagents.session.reader import read_session

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# any character, lone surrogates included (JSON allows "\ud800", and some servers send it)
TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30)
MESSAGE_KEYS = st.sampled_from(["role", "content", "name", "tool_calls", "function_call", "tool_responses",
                                "messages", "chat_history", "function", "arguments", "id", "tool_call_id",
                                "type", "text", "user", "assistant", "tool"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT | MESSAGE_KEYS
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(MESSAGE_KEYS | TEXT, inner, max_size=5), max_leaves=25)


def _one_clear_line(exc: BaseException) -> None:
    text = str(exc)
    assert text and "Traceback" not in text
    assert "\n" not in text, f"more than one line: {text!r}"


def _import(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, dest = Path(tmp) / "history.json", Path(tmp) / "out" / "imported.jsonl"
        src.write_bytes(raw)
        try:
            written = import_autogen(src, dest)
        except SessionError as exc:
            _one_clear_line(exc)
            assert not dest.exists(), "a failed import left a partial log"
            return
        log = read_session(written)
        assert log.finished and log.notice is None


@FUZZ
@given(JSON)
def test_importer_any_json(data):
    _import(json.dumps(data).encode())


@FUZZ
@given(st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "tool", "function", "system"])},
                                      optional={"content": JSON, "name": TEXT, "tool_calls": JSON,
                                                "function_call": JSON, "tool_responses": JSON}), max_size=6))
def test_importer_message_lists(messages):
    _import(json.dumps(messages).encode())


@FUZZ
@given(st.binary(max_size=200))
def test_importer_any_bytes(raw):
    _import(raw)


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"messages": ' * 50_000, b'[{"role": "user", "content": '
                                 + b"[" * 3000 + b"]" * 3000 + b"}]",
                                 b'[{"role": "user", "content": {"a": ' * 2000], ids=["list", "object", "content", "open"])
def test_importer_deep_nesting(raw):
    _import(raw)


def _read(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.jsonl"
        path.write_bytes(raw)
        try:
            read_session(path)
        except SessionError as exc:
            _one_clear_line(exc)


HEADER = b'{"type":"session_header","format_version":1,"run_id":"r","team":"t"}\n'


@FUZZ
@given(st.lists(JSON.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=60), max_size=6),
       st.booleans())
def test_reader_any_lines(lines, with_header):
    _read((HEADER if with_header else b"") + b"\n".join(lines))


@FUZZ
@given(st.binary(max_size=300))
def test_reader_any_bytes(raw):
    _read(raw)


@pytest.mark.parametrize("raw", [b"[" * 100_000, HEADER + b'{"type": "notice", "text": ' + b"[" * 100_000,
                                 b'{"type":"session_header","format_version":1,"config":' + b"[" * 100_000 + b"\n"],
                         ids=["list", "event", "header"])
def test_reader_deep_nesting(raw):
    _read(raw)


SECTIONS = st.sampled_from(["models", "agents", "teams", "llm", "docker", "ui", "keymap", "local",
                            "local_execution", "session", "config_list"])
FIELDS = st.sampled_from(["name", "model", "kind", "agents", "max_turns", "max_rounds", "timeout", "base_url",
                          "api_key_env", "price", "fallback", "tools", "cache_seed", "stream_interval_ms",
                          "allowed_transitions", "speaker_selection", "extra_headers", "filter_dict", "env_or_file"])
CONFIG_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                             | st.dictionaries(FIELDS | TEXT, inner, max_size=5), max_leaves=20)


@FUZZ
@given(st.dictionaries(SECTIONS | TEXT, CONFIG_VALUES
                       | st.lists(st.dictionaries(FIELDS, CONFIG_VALUES, max_size=6), max_size=3), max_size=5))
def test_config_any_structure(data):
    try:
        parse_config(data)
    except ConfigError as exc:
        assert str(exc).startswith("invalid config") or "OAI_CONFIG_LIST" in str(exc), str(exc)


@FUZZ
@given(st.binary(max_size=200) | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_config_any_bytes(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(raw)
        try:
            load_config(path)
        except ConfigError as exc:
            assert str(exc).startswith(str(path))


@pytest.mark.parametrize("raw", ["a = " + "[" * 100_000, "a = " + "{b = " * 50_000, "x = [" * 3000],
                         ids=["array", "table", "open"])
def test_config_deep_nesting(tmp_path, raw):
    path = tmp_path / "config.toml"
    path.write_text(raw)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
