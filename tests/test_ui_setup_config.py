"""What the first-run setup writes, without the screen: checks, the config text, the file, the probe."""

from __future__ import annotations

import sys

import pytest

from tuiagents.config import load_config, parse_config
from tuiagents.ui.screens.setup_config import (
    ModelChoice,
    backup_path,
    check_base_url,
    check_choice,
    check_key_env,
    looks_like_key,
    probe_models,
    render_config,
    toml_string,
    write_config,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.mark.parametrize("choice", [
    ModelChoice("openai", model="gpt-4o-mini", key_env="OPENAI_API_KEY"),
    ModelChoice("compatible", model="llama3.2:1b", key_env=None, base_url="http://127.0.0.1:11434/v1"),
    ModelChoice("compatible", model="org/Model-7B", key_env="VLLM_KEY", base_url="https://gpu.example:8000/v1"),
    ModelChoice("local", model="local", key_env=None, model_path=__file__),
])
def test_every_choice_renders_a_config_that_loads(choice, tmp_path):
    path = write_config(render_config(choice, image="tuiagents-sandbox:latest"), tmp_path / "a" / "config.toml")
    config = load_config(path)
    entry = config.models[0]
    assert [t.kind for t in config.teams] == ["two_agent", "group_chat"]
    assert {a.model for a in config.agents if a.model} == {"default"}
    assert config.docker.image == "tuiagents-sandbox:latest"
    if choice.kind == "local":
        assert config.local.model_path == __file__ and entry.base_url
    else:
        assert (entry.model, entry.base_url, entry.api_key_env) == (choice.model, choice.base_url, choice.key_env)


def test_strings_are_escaped_for_toml():
    nasty = 'a "quoted" \\ back\tslash ünïcode 🙂 \x7f'
    assert tomllib.loads(f"v = {toml_string(nasty)}")["v"] == nasty
    text = render_config(ModelChoice("compatible", model='m"x', key_env=None, base_url='http://h/v1?a="b"'))
    assert parse_config(tomllib.loads(text)).models[0].model == 'm"x'


def test_checks_name_what_to_fix():
    assert check_base_url("http://127.0.0.1:11434/v1") is None
    for bad in ("", "localhost:11434", "ftp://x/v1", "http://", "http://host:port/v1", "http://a b/v1"):
        assert "http://127.0.0.1:11434/v1" in check_base_url(bad), bad
    assert check_key_env("", required=False) is None
    assert "OPENAI_API_KEY" in check_key_env("", required=True)
    assert "not a variable name" in check_key_env("MY-KEY", required=False)
    assert "looks like a key" in check_key_env("sk-proj-abc", required=False)
    assert looks_like_key("x" * 40 + "-") and not looks_like_key("A_VERY_LONG_BUT_VALID_VARIABLE_NAME_FOR_KEYS")
    problems = check_choice(ModelChoice("compatible", model="", key_env="1X", base_url="nope"))
    assert set(problems) == {"base_url", "model", "key_env"}


def test_local_path_must_be_a_gguf_file(tmp_path):
    choice = ModelChoice("local", model_path=str(tmp_path / "missing.gguf"))
    assert "There is no file" in check_choice(choice)["model_path"]
    (tmp_path / "model.bin").write_bytes(b"x")
    assert "not a .gguf file" in check_choice(ModelChoice("local", model_path=str(tmp_path / "model.bin")))["model_path"]


def test_write_never_replaces_a_file_unless_asked(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("old")
    with pytest.raises(FileExistsError):
        write_config("new", path)
    assert path.read_text() == "old"
    write_config("new", path, overwrite=True)
    assert path.read_text() == "new" and backup_path(path).read_text() == "old"


def test_probe_lists_the_models_of_a_server(server):
    ok, models, sentence = probe_models(server.url)
    assert ok and "scripted-model" in models and "answered" in sentence
    ok, _, sentence = probe_models(server.url.replace("/v1", "/nope/v1"))
    assert not ok and "HTTP 404" in sentence
    ok, _, sentence = probe_models("http://127.0.0.1:9/v1", timeout=2)
    assert not ok and "Cannot reach" in sentence


def test_probe_of_a_url_with_a_user_and_password_sends_them_as_basic_auth_and_never_shows_them(server):
    import base64

    password = "Hunter2Secret99"
    url = server.url.replace("://", f"://bob:{password}@")
    ok, models, sentence = probe_models(url)
    assert ok and "scripted-model" in models, sentence
    sent = [r for r in server.requests if r.path.endswith("/models")][-1]
    auth = {k.lower(): v for k, v in sent.headers.items()}["authorization"]
    assert auth == "Basic " + base64.b64encode(f"bob:{password}".encode()).decode()
    ok, _, sentence = probe_models(url.replace("/v1", "/nope/v1"))
    assert not ok and "HTTP 404" in sentence and password not in sentence
    ok, _, sentence = probe_models(f"http://bob:{password}@127.0.0.1:9/v1", timeout=2)
    assert not ok and "Cannot reach" in sentence and password not in sentence
