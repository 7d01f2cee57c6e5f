"""The parts of the first-run setup screen: one form per choice, and the overwrite question.

Each form is a `Vertical` with the ids the setup screen reads (`#openai-model`, `#compat-url`, ...).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.screens.setup_config import (
    DEFAULT_KEY_ENV,
    DEFAULT_OPENAI_MODEL,
    FoundList,
    backup_path,
)

#: (id, label) of each choice, in the order the screen lists them.
CHOICES: list[tuple[str, str]] = [
    ("openai", "OpenAI (API key)"),
    ("compatible", "OpenAI-compatible URL"),
    ("local", "Local GGUF model file"),
    ("demo", "The scripted demo"),
]


#: The choice offered first when an OAI_CONFIG_LIST is found.
AUTOGEN_CHOICE = ("autogen", "Found OAI_CONFIG_LIST")


def choices_for(found: FoundList | None) -> list[tuple[str, str]]:
    """The choices to list: a found OAI_CONFIG_LIST first (and chosen), then the usual ones."""
    return [AUTOGEN_CHOICE, *CHOICES] if found is not None else list(CHOICES)


class ChoiceSet(RadioSet):
    """Radio buttons where the arrows move the choice itself (not only a highlight to confirm)."""

    def action_next_button(self) -> None:
        """Choose the next option."""
        super().action_next_button()
        self._choose()

    def action_previous_button(self) -> None:
        """Choose the previous option."""
        super().action_previous_button()
        self._choose()

    def _choose(self) -> None:
        if self._selected is not None:
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and not button.value:
                button.value = True


def field(value: str | None = None, *, placeholder: str = "", id: str) -> Input:
    """An input that keeps its text when focused (typing adds to it, never replaces it)."""
    return Input(value, placeholder=placeholder, id=id, select_on_focus=False)


def _row(label: str, field: Input) -> Horizontal:
    return Horizontal(Label(Text(label)), field, classes="setup-row")


def _hint(text: str, id: str | None = None) -> Static:
    return Static(Text(text), classes="setup-hint", id=id)


def llama_installed() -> bool:
    """True when llama-cpp-python (the `tuiagents[local]` extra) can be imported."""
    return importlib.util.find_spec("llama_cpp") is not None


class OpenAIForm(Vertical):
    """Model name and the name of the variable holding the key (never the key itself)."""

    def compose(self) -> ComposeResult:
        """Hint, model, key variable, key status."""
        yield _hint("Agents talk to api.openai.com. Your key is never written to the config nor shown here: "
                    "export it in the shell that starts tuiagents, for example\n"
                    "export OPENAI_API_KEY=sk-…   (add it to ~/.bashrc to keep it)\n"
                    "The config only names the variable (api_key_env).")
        yield _row("Model", field(DEFAULT_OPENAI_MODEL, placeholder="e.g. gpt-4o-mini", id="openai-model"))
        yield _row("Key variable", field(DEFAULT_KEY_ENV, placeholder="e.g. OPENAI_API_KEY", id="openai-key-env"))
        yield _hint("", id="openai-key-status")


class CompatibleForm(Vertical):
    """Base URL, model name and an optional key variable of an OpenAI-compatible server."""

    def compose(self) -> ComposeResult:
        """Hint, URL, model, key variable, the result of the endpoint test."""
        yield _hint("Any server speaking the OpenAI API. Usual URLs: Ollama http://127.0.0.1:11434/v1 · "
                    "vLLM http://127.0.0.1:8000/v1 · LM Studio http://127.0.0.1:1234/v1 · "
                    "llama.cpp http://127.0.0.1:8080/v1. Test it with ctrl+t (GET /models).")
        yield _row("Base URL", field(placeholder="e.g. http://127.0.0.1:11434/v1", id="compat-url"))
        yield _row("Model", field(placeholder="e.g. llama3.2 (ctrl+t lists the served ones)", id="compat-model"))
        yield _row("Key variable", field(placeholder="optional: local servers need no key", id="compat-key-env"))
        yield _hint("", id="compat-probe")
        served = Select[str]([], prompt="Pick a served model", allow_blank=True, id="compat-models")
        served.display = False  # shown once a test of the URL found models
        yield served


class LocalForm(Vertical):
    """The path of a GGUF file, served by llama.cpp when tuiagents starts with --local."""

    def compose(self) -> ComposeResult:
        """Hint, model path, whether llama.cpp is installed."""
        yield _hint("A GGUF model file run by llama.cpp on this machine, no server or key needed. Setup "
                    "writes [local] model_path; then start with `tuiagents --local`, which serves the "
                    "model on 127.0.0.1 for the run and stops it afterwards.")
        yield _row("Model file", field(placeholder="e.g. ~/models/model.gguf", id="local-path"))
        status = ("✓ llama.cpp (llama-cpp-python) is installed." if llama_installed() else
                  "! llama.cpp is not installed yet: pip install 'tuiagents[local]'")
        yield _hint(status, id="local-status")


class AutoGenForm(Vertical):
    """The OAI_CONFIG_LIST that was found: where, and which models (never its keys or URLs)."""

    def __init__(self, found: FoundList, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.found = found

    def compose(self) -> ComposeResult:
        """Where it was found, its models, and what the config will say."""
        models = ", ".join(self.found.models[:8]) + (" …" if len(self.found.models) > 8 else "")
        where = (f"Setup writes a [config_list] section pointing at {self.found.file_location}, so it is "
                 "found from any folder." if self.found.file_location else
                 f"Setup writes a [config_list] section naming ${self.found.env_or_file}: keep it exported "
                 "in the shell that starts tuiagents.")
        yield _hint(f"Found the way AutoGen's config_list_from_json finds it: {self.found.source}.")
        yield Static(Text(f"{len(self.found.models)} model(s): {models}"), id="autogen-models")
        yield _hint("The list is read unchanged and its keys stay in it, never in config.toml. Every agent "
                    "uses the whole list: its first entry, then the next ones in order when one fails. "
                    + where)


class DemoForm(Vertical):
    """What the demo is; nothing to fill in."""

    def compose(self) -> ComposeResult:
        """One explanation."""
        yield _hint("No model or key needed: a planner, a coder and a critic solve a small data task with "
                    "replies from a built-in script, and you try every control (approve, edit, reject, "
                    "inject, next speaker, stop; the coder's code runs in the Docker sandbox after you "
                    "approve it).\n\nNothing is written: run `tuiagents demo` any time, and `tuiagents` "
                    "again to set up a model.")


class DoneView(Vertical):
    """What was written and what to do next, when the app cannot go on by itself."""

    def __init__(self, message: str) -> None:
        super().__init__(id="setup-done")
        self.message = message

    def compose(self) -> ComposeResult:
        """The message and a quit button."""
        yield Static(Text(self.message), id="setup-done-text")
        yield Button(Text("Quit [ctrl+q]"), variant="primary", action="app.quit", id="setup-done-quit")

    def on_mount(self) -> None:
        """Focus the quit button (Enter quits)."""
        self.query_one(Button).focus()


class OverwriteScreen(ModalScreen[bool]):
    """Asks before replacing an existing config file (the old one is kept as .bak)."""

    CSS_PATH = "setup_screen.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "setup_keep")

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical(id="overwrite-dialog"):
            yield Label(Text("A config file is already there"), id="overwrite-title")
            yield Static(Text(f"{self.path} exists. Replace it? The current file is kept as "
                              f"{backup_path(self.path).name}."))
            with Horizontal(id="overwrite-buttons"):
                yield Button(Text("Replace it"), variant="warning", id="overwrite-yes")
                yield Button(Text("Keep it [esc]"), variant="primary", id="overwrite-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Yes replaces, no keeps."""
        self.dismiss(event.button.id == "overwrite-yes")

    def action_keep(self) -> None:
        """Keep the existing file."""
        self.dismiss(False)
