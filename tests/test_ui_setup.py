"""The first-run setup screen: each choice writes a config that loads, bad input is explained inline,
a key never reaches the file or the screen, an existing file is not replaced without asking.

The user config dir is `tmp_path` (``TUIAGENTS_CONFIG_DIR``), so nothing touches the real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static, TextArea
from ui_support import SIZE, screen_text, wait_until

from tuiagents.config import load_config
from tuiagents.testing import Rule
from tuiagents.app.tui import build_app
from tuiagents.ui.screens.setup_config import FALLBACK_IMAGE
from tuiagents.ui.screens.setup_forms import OverwriteScreen
from tuiagents.ui.screens.setup_screen import SetupScreen
from tuiagents.ui.screens.start_screens import TaskScreen

FAKE_KEY = "sk-test-0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config file the setup writes: `tmp_path/config/config.toml` (the folder does not exist yet)."""
    monkeypatch.setenv("TUIAGENTS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIAGENTS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the LLM cache's folder
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return tmp_path / "config" / "config.toml"


def setup_app():
    """The app `tuiagents` opens with nothing configured."""
    app = build_app(None, None, None, None)
    app.options.bell = False
    return app


async def open_setup(pilot, choice: str = "openai") -> SetupScreen:
    """Wait for the setup screen, pick `choice`, and skip the Docker image lookup."""
    app = pilot.app
    screen = await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen) and app.screen, what="setup screen")
    screen.image = FALLBACK_IMAGE
    if choice != "openai":
        await pilot.click(f"#choice-{choice}")
        await wait_until(pilot, lambda: screen.choice == choice, what=f"choice {choice}")
    return screen


async def type_into(pilot, selector: str, text: str) -> None:
    """Replace the value of the input `selector` with `text` (the last character as a key press)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    field.value = text[:-1]
    if text:
        await pilot.press("end", text[-1])
    await pilot.pause()


def static_text(app, selector: str) -> str:
    """The whole text of the Static `selector` (screen text may be wrapped)."""
    return str(app.screen.query_one(selector, Static).render())


def assert_team_config(path: Path):
    """The written file loads and has the two-agent team and the group chat; returns the config."""
    config = load_config(path)
    kinds = {t.name: t.kind for t in config.teams}
    assert kinds == {"pair": "two_agent", "crew": "group_chat"}
    assert config.agent("user").code_execution == "docker" and config.docker.network == "none"
    return config


async def test_openai_with_key_set_writes_config_then_asks_for_the_task(target, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot)
        assert "OPENAI_API_KEY is set in this shell" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
        assert [t.name for t in app.teams] == ["pair", "crew"]
        assert FAKE_KEY not in screen_text(app)
    config = assert_team_config(target)
    assert config.models[0].model == "gpt-4o-mini" and config.models[0].api_key_env == "OPENAI_API_KEY"
    assert FAKE_KEY not in target.read_text()


async def test_openai_without_key_writes_config_and_says_to_export_it(target):
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot)
        await type_into(pilot, "#openai-model", "gpt-4.1")
        assert "OPENAI_API_KEY is not set in this shell" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.query("#setup-done"), what="the next steps")
        assert "export OPENAI_API_KEY=<your key>" in screen_text(app) and str(target) in screen_text(app)
        await pilot.click("#setup-done-quit")
    assert app.return_code == 0 and "export OPENAI_API_KEY" in (app.exit_note or "")
    assert load_config(target).models[0].model == "gpt-4.1"


async def test_compatible_url_is_tested_then_the_run_starts_on_it(target, server):
    server.load([Rule(agent="assistant", reply="Hello from the configured server.")])
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "compatible")
        await type_into(pilot, "#compat-url", server.url)
        await type_into(pilot, "#compat-model", "scripted-model")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "'scripted-model' is there" in static_text(app, "#compat-probe"),
                         what="the endpoint test")
        assert "✓ The server answered" in static_text(app, "#compat-probe")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
        app.screen.query_one(TextArea).text = "Say hello"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Hello from the configured server." in screen_text(app),
                         what="the assistant's reply from the configured server")
        assert server.chat_requests[-1].body["model"] == "scripted-model"
        await app.stop_and_exit("test over")
    config = assert_team_config(target)
    entry = config.models[0]
    assert (entry.base_url, entry.model, entry.api_key_env) == (server.url, "scripted-model", None)


async def test_compatible_url_unreachable_is_reported(target):
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "compatible")
        await type_into(pilot, "#compat-url", "http://127.0.0.1:9/v1")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "Cannot reach http://127.0.0.1:9/v1/models" in static_text(app, "#compat-probe"),
                         what="the failed endpoint test")
        assert "Is the server running?" in static_text(app, "#compat-probe")


async def test_bad_input_gets_a_clear_inline_message_and_writes_nothing(target):
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_setup(pilot, "compatible")
        await type_into(pilot, "#compat-url", "localhost:11434")
        await pilot.press("ctrl+s")
        assert "The URL must look like http://127.0.0.1:11434/v1" in screen_text(app)
        assert screen.query_one("#compat-url", Input).has_class("-invalid")
        await type_into(pilot, "#compat-url", "http://localhost:11434/v1")
        await pilot.press("ctrl+s")
        assert "Type the model name" in screen_text(app)
        assert screen.query_one("#compat-model", Input).has_class("-invalid")
        assert app.focused is screen.query_one("#compat-model", Input)
        await type_into(pilot, "#compat-model", "llama 3")
        await pilot.press("ctrl+s")
        assert "cannot contain spaces" in screen_text(app)
        await type_into(pilot, "#compat-key-env", "MY-KEY")
        await pilot.click("#choice-openai")
        await type_into(pilot, "#openai-model", "")
        await pilot.press("ctrl+s")
        assert "Type the model name" in screen_text(app)
        await pilot.click("#choice-local")
        await pilot.press("ctrl+s")
        assert "Type the path of a .gguf model file" in screen_text(app)
        await type_into(pilot, "#local-path", str(target.parent.parent))
        await pilot.press("ctrl+s")
        assert "is a folder" in screen_text(app)
        assert isinstance(app.screen, SetupScreen)
    assert not target.exists()


async def test_a_pasted_key_is_cleared_and_never_shown(target):
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_setup(pilot)
        field = screen.query_one("#openai-key-env", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"sk-")
        await pilot.pause()
        assert field.value == "" and "That looks like a key itself" in screen_text(app)
        field.value = FAKE_KEY.replace("sk-", "x")  # a pasted key without a known prefix
        await pilot.pause()
        assert field.value == "" and FAKE_KEY[5:] not in screen_text(app)
    assert not target.exists()


async def test_local_gguf_writes_model_path_and_says_how_to_start(target, tmp_path):
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "local")
        await type_into(pilot, "#local-path", str(model))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.query("#setup-done"), what="the next steps")
        assert "tuiagents --local" in screen_text(app)
    config = assert_team_config(target)
    assert config.local.model_path == str(model.resolve())


async def test_demo_choice_starts_the_demo_and_writes_nothing(target):
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "demo")
        assert "Start the demo" in screen_text(app) and "Nothing is written" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.then_demo is True and app.return_code == 0
    assert not target.parent.exists()


async def test_an_existing_config_is_only_replaced_when_asked(target, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    target.parent.mkdir(parents=True)
    target.write_text("# mine\n")
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, OverwriteScreen), what="the overwrite question")
        assert "config.toml.bak" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: "Nothing written" in screen_text(app), what="kept")
        assert target.read_text() == "# mine\n"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, OverwriteScreen), what="the overwrite question")
        await pilot.click("#overwrite-yes")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
    assert_team_config(target)
    assert (target.parent / "config.toml.bak").read_text() == "# mine\n"


async def test_team_and_task_from_the_command_line_start_right_after_the_setup(target, server):
    app = build_app(None, None, "crew", "Plan a picnic.")  # `tuiagents --team crew --task ...`, no config yet
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "compatible")
        await type_into(pilot, "#compat-url", server.url)
        await type_into(pilot, "#compat-model", "scripted-model")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.cockpit is not None, what="the cockpit")
        assert (app.cockpit.run.team_name, app.cockpit.run.task) == ("crew", "Plan a picnic.")
        assert set(app.cockpit.run.agents) == {"user", "planner", "coder", "critic"}
        await app.stop_and_exit("test over")
    assert_team_config(target)
