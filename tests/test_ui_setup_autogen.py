"""The first-run setup offers an OAI_CONFIG_LIST found the way AutoGen finds it: first and chosen,
showing where it is and its models (never a key); choosing it writes a config that points at the
list from any folder, and the team runs on it."""

from __future__ import annotations

import json

from textual.widgets import TextArea
from ui_support import SIZE, screen_text, wait_until

from test_ui_setup import setup_app, target  # noqa: F401
from tuiagents.config import load_config
from tuiagents.testing import Rule
from tuiagents.ui.screens.setup_config import FALLBACK_IMAGE, find_config_list, render_config, ModelChoice
from tuiagents.ui.screens.setup_screen import SetupScreen
from tuiagents.ui.screens.start_screens import TaskScreen

KEY = "zq8-setup-list-key-3b81f0c6d2"


async def test_a_found_list_is_offered_first_and_the_team_runs_on_it(target, server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    (project / "OAI_CONFIG_LIST").write_text(json.dumps([
        {"model": "scripted-model", "base_url": server.url, "api_key": KEY},
        {"model": "gpt-4o", "base_url": "http://127.0.0.1:9/v1", "api_key": "zq8-other-list-key-77"}]))
    server.load([Rule(agent="assistant", reply="Hello through the list.")])
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen) and app.screen,
                                  what="setup screen")
        screen.image = FALLBACK_IMAGE
        assert screen.choice == "autogen"
        shown = screen_text(app)
        assert "OAI_CONFIG_LIST" in shown and "scripted-model, gpt-4o" in shown and str(project) in shown
        assert KEY not in shown
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
        app.screen.query_one(TextArea).text = "Say hello"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Hello through the list." in screen_text(app),
                         what="the assistant's reply through the list")
        assert server.chat_requests[-1].headers.get("authorization") == f"Bearer {KEY}"
        assert KEY not in screen_text(app)
        await app.stop_and_exit("test over")
    written = target.read_text()
    assert KEY not in written and "[config_list]" in written and "[[models]]" not in written
    monkeypatch.chdir(tmp_path)  # from another folder, the written config finds the same list
    config = load_config(target)
    assert [m.name for m in config.models] == ["scripted-model", "gpt-4o"]
    assert {a.model for a in config.agents if a.kind != "user_proxy"} == {"scripted-model"}


async def test_without_a_list_the_usual_choices_come_first(target, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    monkeypatch.chdir(tmp_path)
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen) and app.screen,
                                  what="setup screen")
        assert screen.choice == "openai" and not screen.query("#choice-autogen")


def test_a_list_held_in_the_variable_is_named_by_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps([{"model": "m1", "api_key": KEY}]))
    found = find_config_list()
    assert found is not None and (found.env_or_file, found.file_location, found.models) == ("OAI_CONFIG_LIST", "", ["m1"])
    path = tmp_path / "config.toml"
    path.write_text(render_config(ModelChoice("autogen", key_env=None, found=found)))
    assert KEY not in path.read_text()
    assert [m.name for m in load_config(path).models] == ["m1"]


def test_a_list_that_does_not_load_is_not_offered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OAI_CONFIG_LIST", raising=False)
    (tmp_path / "OAI_CONFIG_LIST").write_text("[{not json")
    assert find_config_list() is None
    (tmp_path / "OAI_CONFIG_LIST").write_text("[]")
    assert find_config_list() is None
