"""The first seconds of the first-run setup, with the keys a newcomer presses: the provider choice
has the focus and moves with the arrows, typing never wipes a prefilled value, placeholders read
as examples, a tested URL offers its models to pick, and teams read in words."""

from __future__ import annotations

from textual.widgets import Input, RadioSet, Select
from ui_support import SIZE, screen_text, wait_until

from test_ui_setup import open_setup, setup_app, static_text, target, type_into  # noqa: F401
from tuiagents.testing import Rule
from tuiagents.ui.screens.start_screens import TaskScreen


async def test_focus_starts_on_the_choice_and_arrows_move_it(target):  # noqa: F811
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_setup(pilot)
        assert isinstance(app.focused, RadioSet)
        await pilot.press("down")
        await wait_until(pilot, lambda: screen.choice == "compatible", what="the arrow moved the choice")
        await pilot.press("down", "down")
        await wait_until(pilot, lambda: screen.choice == "demo", what="down to the demo")
        await pilot.press("up", "up", "up")
        await wait_until(pilot, lambda: screen.choice == "openai", what="back up to OpenAI")


async def test_typing_in_a_prefilled_field_does_not_wipe_it(target):  # noqa: F811
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot)
        await pilot.press("tab")  # from the choice to the model field
        model = app.screen.query_one("#openai-model", Input)
        await wait_until(pilot, lambda: app.focused is model, what="the model field")
        before = model.value
        await pilot.press("space")
        assert model.value.strip() == before and model.value != ""


async def test_placeholders_read_as_examples(target):  # noqa: F811
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "compatible")
        for selector in ("#compat-url", "#compat-model"):
            field = app.screen.query_one(selector, Input)
            assert field.value == "" and field.placeholder.startswith("e.g. ")
        style = app.screen.query_one("#compat-url", Input).get_component_rich_style("input--placeholder")
        assert style.italic


async def test_a_tested_url_offers_its_models_and_picking_one_fills_the_field(target, server):  # noqa: F811
    server.load([Rule(agent="assistant", reply="Hi.")])
    server.script.models = ["llama3.2", "qwen2.5-coder"]
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot, "compatible")
        await type_into(pilot, "#compat-url", server.url)
        served = app.screen.query_one("#compat-models", Select)
        assert not served.display
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: served.display, what="the served models")
        assert "Pick one below" in static_text(app, "#compat-probe")
        served.value = "qwen2.5-coder"
        await wait_until(pilot, lambda: app.screen.query_one("#compat-model", Input).value == "qwen2.5-coder",
                         what="the picked model in the field")


async def test_the_task_screen_names_team_kinds_in_words(target, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdefghijklmnopqrstuv")
    app = setup_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_setup(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskScreen), what="task screen")
        await pilot.pause()
        text = screen_text(app)
        assert "two agent" not in text and "two-agent chat: user, assistant" in text
