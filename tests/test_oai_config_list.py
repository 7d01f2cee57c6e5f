"""AutoGen's OAI_CONFIG_LIST drives a team unchanged: found as `config_list_from_json` finds it (a file in
the working dir, the environment variable holding a path or the JSON, a `file_location`), filtered
with `filter_dict`, its entries named by `model` or `name`, and a `[[models]]` entry of the same
name wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuiagents.app.cli import main
from tuiagents.config import ConfigError, load_config, parse_config
from tuiagents.session.reader import read_session
from tuiagents.testing import Rule

KEY = "zq8-oai-list-key-5f3a9c1e7b"

TEAM = '''
[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"

[[agents]]
name = "assistant"
kind = "assistant"
model = "{model}"

[[teams]]
name = "pair"
agents = ["user", "assistant"]
max_turns = 2

[llm]
cache_seed = false
'''


@pytest.fixture(autouse=True)
def _no_list_in_env(monkeypatch, tmp_path):
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    monkeypatch.chdir(tmp_path)


def _entries(server, **extra) -> list[dict]:
    return [{"model": "scripted-model", "base_url": server.url, "api_key": KEY, "tags": ["fast"], **extra},
            {"model": "gpt-4o", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-unused", "tags": ["big"]}]


def _config(folder: Path, model: str = "scripted-model", more: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(TEAM.format(model=model) + more)
    return path


def _run(capsys, config: Path, session: Path) -> tuple[int, str, str]:
    code = main(["run", "--headless", "--config", str(config), "--team", "pair", "--task", "hello",
                 "--approve", "all", "--session", str(session)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_file_named_oai_config_list_in_the_working_dir_drives_the_team(server, tmp_path, capsys):
    server.load([Rule(agent="assistant", reply="Hello from the list. TERMINATE")])
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(_entries(server)))
    code, out, err = _run(capsys, _config(tmp_path), tmp_path / "s.jsonl")
    assert code == 0, err
    assert "Hello from the list." in out
    assert server.chat_requests[0].headers.get("authorization") == f"Bearer {KEY}"
    assert KEY not in (tmp_path / "s.jsonl").read_text() and KEY not in out + err


@pytest.mark.parametrize("how", ["json", "path"])
def test_the_environment_variable_holds_the_json_or_a_path(server, tmp_path, capsys, monkeypatch, how):
    server.load([Rule(agent="assistant", reply="From the env. TERMINATE")])
    text = json.dumps(_entries(server))
    if how == "path":
        (tmp_path / "elsewhere.json").write_text(text)
        text = str(tmp_path / "elsewhere.json")
    monkeypatch.setenv("OAI_CONFIG_LIST", text)
    code, out, err = _run(capsys, _config(tmp_path), tmp_path / "s.jsonl")
    assert code == 0, err
    assert "From the env." in out
    header = read_session(tmp_path / "s.jsonl").header
    assert [m["name"] for m in header.config["models"]] == ["scripted-model", "gpt-4o"]


def test_file_location_filter_dict_and_names(server, tmp_path, capsys):
    folder = tmp_path / "conf"
    folder.mkdir()
    entries = _entries(server, name="fast-one") + [{"model": "scripted-model", "base_url": "http://127.0.0.1:9/v1",
                                                     "tags": ["slow"], "name": "slow-one"}]
    (folder / "MY_LIST.json").write_text(json.dumps(entries))
    more = '[config_list]\nenv_or_file = "MY_LIST.json"\nfile_location = "conf"\nfilter_dict = { tags = ["fast", "big"] }\n'
    cfg = load_config(_config(tmp_path, "fast-one", more))
    assert [m.name for m in cfg.models] == ["fast-one", "gpt-4o"]
    excluded = parse_config({"config_list": {"env_or_file": "MY_LIST.json", "file_location": str(folder),
                                             "filter_dict": {"tags": "fast"}, "exclude": True}})
    assert [m.name for m in excluded.models] == ["gpt-4o", "slow-one"]
    server.load([Rule(agent="assistant", reply="Named entry. TERMINATE")])
    code, out, err = _run(capsys, _config(tmp_path, "fast-one", more), tmp_path / "s.jsonl")
    assert code == 0, err and "Named entry." in out


def test_a_models_entry_of_the_same_name_wins(server, tmp_path, capsys):
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps(_entries(server, base_url="http://127.0.0.1:9/v1")))
    more = f'[[models]]\nname = "scripted-model"\nmodel = "scripted-model"\nbase_url = "{server.url}"\n'
    cfg = load_config(_config(tmp_path, more=more))
    assert [(m.name, m.base_url) for m in cfg.models] == [("scripted-model", server.url),
                                                          ("gpt-4o", "http://127.0.0.1:9/v1")]
    server.load([Rule(agent="assistant", reply="The table won. TERMINATE")])
    code, out, err = _run(capsys, _config(tmp_path, more=more), tmp_path / "s.jsonl")
    assert code == 0, err
    assert "The table won." in out


def test_a_config_list_section_without_a_list_is_an_error(tmp_path, capsys):
    config = _config(tmp_path, more='[config_list]\nfile_location = "nowhere"\n')
    with pytest.raises(ConfigError, match=r"no OAI_CONFIG_LIST found: \$OAI_CONFIG_LIST is not set"):
        load_config(config)
    code, out, err = _run(capsys, config, tmp_path / "s.jsonl")
    assert code == 2 and "nowhere/OAI_CONFIG_LIST" in err and "Traceback" not in err


def test_without_a_list_an_unknown_model_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="names model 'scripted-model', which is not defined.*OAI_CONFIG_LIST"):
        load_config(_config(tmp_path))


@pytest.mark.parametrize("content", ['[{"model": "m", "api_key": "' + KEY + '",}]', "[" * 50_000,
                                     '[{"model": "m", "price": ["a", "b"]}]', '[{"model": "m", "tags": 5}]',
                                     '{"model": 3}', "[1, 2]"], ids=["json", "deep", "price", "tags", "model", "items"])
def test_a_bad_list_is_one_clear_error_without_the_key(tmp_path, content):
    (tmp_path / "OAI_CONFIG_LIST").write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, "m"))
    assert "OAI_CONFIG_LIST" in str(info.value) and KEY not in str(info.value)


def test_the_example_config_shows_a_working_config_list_section(server, monkeypatch):
    """The commented `[config_list]` block of config.toml.example, uncommented, is a valid section."""
    import tomllib

    example = (Path(__file__).parent.parent / "config.toml.example").read_text()
    start = example.index("# [config_list]")
    lines = [line[2:].split("   #")[0] for line in example[start:].splitlines()[:5]]
    section = tomllib.loads("\n".join(lines))
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(_entries(server) + [{"model": "gpt-4o-mini", "tags": ["fast"]}]))
    cfg = parse_config(section)
    # both keys must match: scripted-model is fast but not listed, gpt-4o is listed but not fast
    assert [m.name for m in cfg.models] == ["gpt-4o-mini"]


def test_keys_of_filtered_out_entries_are_never_shown(monkeypatch):
    from tuiagents.secrets import mask, scrub

    hidden = "zq8-filtered-out-key-0c4e1d"
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "a", "api_key": hidden},
                                                      {"model": "b", "api_key": "zq8-kept-key-99812a"}]))
    cfg = parse_config({"config_list": {"filter_dict": {"model": ["b"]}}})
    assert [m.name for m in cfg.models] == ["b"]
    assert hidden not in scrub(f"echo {hidden}") and hidden not in mask(f"echo {hidden}")
