"""First run: nothing is configured, so explain the choices and write the user's config.toml.

The person picks OpenAI (a key variable), an OpenAI-compatible URL (Ollama, vLLM, LM Studio,
llama.cpp; testable with GET /models), a local GGUF file (`tuiagents --local`) or the scripted demo.
The screen checks what was typed inline, writes `config.toml` under the user config dir (asking
before replacing a file), loads it back with `load_config`, and dismisses with a `SetupResult`:
go on with the new config, start the demo, or quit with a message saying what to do next.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    Button,
    ContentSwitcher,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)

from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.screens.setup_config import (
    ModelChoice,
    check_base_url,
    find_config_list,
    check_choice,
    local_sandbox_image,
    looks_like_key,
    probe_models,
    render_config,
    write_config,
)
from tuiagents.ui.screens.setup_forms import (
    AutoGenForm,
    ChoiceSet,
    CompatibleForm,
    DemoForm,
    DoneView,
    LocalForm,
    OpenAIForm,
    OverwriteScreen,
    choices_for,
    llama_installed,
)

#: Which input shows each field's problem, per choice.
FIELD_INPUTS = {
    "openai": {"model": "#openai-model", "key_env": "#openai-key-env"},
    "compatible": {"base_url": "#compat-url", "model": "#compat-model", "key_env": "#compat-key-env"},
    "local": {"model_path": "#local-path"},
    "autogen": {},
}


@dataclass
class SetupResult:
    """How the setup ended: `go` on with `config`, start the `demo`, or `quit` (with a message)."""

    action: Literal["go", "demo", "quit"]
    config: Any = None
    path: Path | None = None
    message: str | None = None


class SetupScreen(Screen[SetupResult]):
    """Explains the ways to reach a model and writes the user's config.toml for the chosen one."""

    CSS_PATH = "setup_screen.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "setup")

    def __init__(self, target: Path, *, image: str | None = None) -> None:
        super().__init__()
        self.target = target
        self.image = image  # None: look for the offline sandbox image once mounted
        self.found = find_config_list()  # AutoGen's OAI_CONFIG_LIST, offered first when there is one
        self.choices = choices_for(self.found)
        self.choice = self.choices[0][0]

    # -- layout ---------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """Welcome, the choices beside the chosen form, the error line and the buttons."""
        key_set = bool(os.environ.get("OPENAI_API_KEY"))
        why = ("OPENAI_API_KEY is set in this shell, but no config file says which model and agents to use."
               if key_set else "No config file was found and OPENAI_API_KEY is not set.")
        if self.found is not None:
            why = "No config file was found, but AutoGen's OAI_CONFIG_LIST was: setup can use it as it is."
        with Center(), Vertical(id="setup-dialog"):
            yield Label(Text("Welcome to tuiagents · let's connect a model"), id="setup-title")
            yield Static(Text.assemble(
                f"{why} Choose how the agents reach a model, and setup writes ", (str(self.target), "bold"),
                " with a two-agent team (pair) and a group chat (crew). Edit it any time: config.toml.example "
                "explains every key. (Config search order: --config FILE, $TUIAGENTS_CONFIG, ./config.toml, "
                "then that file.)"), id="setup-intro")
            with Horizontal(id="setup-body"):
                with ChoiceSet(id="setup-choice"):
                    for i, (cid, label) in enumerate(self.choices):
                        yield RadioButton(Text(label), value=i == 0, id=f"choice-{cid}")
                with ContentSwitcher(initial=f"form-{self.choice}", id="setup-forms"):
                    if self.found is not None:
                        yield AutoGenForm(self.found, id="form-autogen")
                    yield OpenAIForm(id="form-openai")
                    yield CompatibleForm(id="form-compatible")
                    yield LocalForm(id="form-local")
                    yield DemoForm(id="form-demo")
            yield Static(Text(""), id="setup-error")
            with Horizontal(id="setup-buttons"):
                yield Button(Text("Write config and continue [ctrl+s]"), variant="primary", action="screen.save",
                             id="setup-save")
                yield Button(Text("Test the server [ctrl+t]"), action="screen.probe", id="setup-probe")
                yield Button(Text("Quit [ctrl+q]"), variant="error", action="app.quit", id="setup-quit")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer the endpoint test only for an OpenAI-compatible URL."""
        if self.query("#setup-done"):
            return action not in ("probe", "save")
        return self.choice == "compatible" if action == "probe" else True

    def on_mount(self) -> None:
        """Show the key status, hide what does not apply, find the sandbox image in the background."""
        self._refresh_key_status()
        self._show_choice(self.choice)
        # The choice comes first: arrows move it, tab goes on to its fields.
        self.query_one("#setup-choice", RadioSet).focus()
        if self.image is None:
            self._find_image()

    @work(thread=True, exclusive=True, group="setup-image")
    def _find_image(self) -> None:
        self.image = local_sandbox_image()

    # -- reacting to the person -------------------------------------------------------------------------
    @on(RadioSet.Changed, "#setup-choice")
    def _choice_changed(self, event: RadioSet.Changed) -> None:
        self._show_choice(self.choices[event.index][0])

    def _show_choice(self, cid: str) -> None:
        self.choice = cid
        self.query_one(ContentSwitcher).current = f"form-{cid}"
        self._error("")
        self.query_one("#setup-probe", Button).display = cid == "compatible"
        self.refresh_bindings()
        self.query_one("#setup-save", Button).label = Text(
            "Start the demo [ctrl+s]" if cid == "demo" else "Write config and continue [ctrl+s]")

    @on(Input.Changed, "#openai-key-env, #compat-key-env")
    def _key_env_changed(self, event: Input.Changed) -> None:
        if looks_like_key(event.value):  # a pasted key must not stay on screen
            event.input.value = ""
            self._error("That looks like a key itself. Type the NAME of the variable (e.g. OPENAI_API_KEY) and "
                        "export the key in your shell; what you typed was cleared and not saved.")
        self._refresh_key_status()

    @on(Input.Changed)
    def _clear_mark(self, event: Input.Changed) -> None:
        event.input.remove_class("-invalid")

    def _refresh_key_status(self) -> None:
        name = self.query_one("#openai-key-env", Input).value.strip()
        if not name:
            text = ""
        elif os.environ.get(name):
            text = f"✓ {name} is set in this shell."
        else:
            text = f"! {name} is not set in this shell: setup writes the file, then export it and start tuiagents again."
        self.query_one("#openai-key-status", Static).update(Text(text))

    def _error(self, message: str) -> None:
        self.query_one("#setup-error", Static).update(Text(message, style="bold") if message else Text(""))

    # -- the collected choice ----------------------------------------------------------------------------
    def collected(self) -> ModelChoice:
        """What the current form says."""
        def value(selector: str) -> str:
            return self.query_one(selector, Input).value.strip()

        if self.choice == "compatible":
            return ModelChoice("compatible", model=value("#compat-model"), key_env=value("#compat-key-env") or None,
                               base_url=value("#compat-url"))
        if self.choice == "local":
            return ModelChoice("local", model="local", key_env=None, model_path=value("#local-path"))
        if self.choice == "autogen":
            return ModelChoice("autogen", key_env=None, found=self.found)
        return ModelChoice("openai", model=value("#openai-model"), key_env=value("#openai-key-env"))

    def _problems_shown(self, choice: ModelChoice) -> bool:
        problems = check_choice(choice)
        fields = FIELD_INPUTS[choice.kind]
        for selector in fields.values():
            self.query_one(selector, Input).remove_class("-invalid")
        if not problems:
            return False
        for name in problems:
            self.query_one(fields[name], Input).add_class("-invalid")
        first = next(n for n in fields if n in problems)
        self.query_one(fields[first], Input).focus()
        self._error(problems[first])
        return True

    # -- actions --------------------------------------------------------------------------------------------
    def action_save(self) -> None:
        """Check the form, then write the config (asking before replacing a file) and go on."""
        if self.query("#setup-done"):
            return
        if self.choice == "demo":
            self.dismiss(SetupResult("demo"))
            return
        choice = self.collected()
        if self._problems_shown(choice):
            return
        if self.target.exists():
            self.app.push_screen(OverwriteScreen(self.target),
                                 lambda replace: self._write(choice, overwrite=True) if replace else
                                 self._error(f"Nothing written: {self.target} is unchanged."))
            return
        self._write(choice, overwrite=False)

    def _write(self, choice: ModelChoice, *, overwrite: bool) -> None:
        from tuiagents.config import ConfigError, load_config

        text = render_config(choice, image=self.image or local_sandbox_image())
        try:
            write_config(text, self.target, overwrite=overwrite)
            config = load_config(self.target)
        except (OSError, ConfigError) as exc:
            self._error(f"Could not write {self.target}: {exc}. Check the folder's permissions, or set "
                        "TUIAGENTS_CONFIG_DIR to a folder you can write.")
            return
        next_step = self._next_step(choice)
        if next_step is None:
            self.dismiss(SetupResult("go", config=config, path=self.target))
            return
        message = f"Wrote {self.target}.\n\nNext:\n{next_step}"
        self.query_one("#setup-intro").display = False
        self.query_one("#setup-body").display = False
        self.query_one("#setup-buttons").display = False
        self._error("")
        self.query_one("#setup-dialog").mount(DoneView(message))
        self.app.exit_note = message  # type: ignore[attr-defined]  # printed again once the app has quit
        self.call_after_refresh(self.refresh_bindings)

    def _next_step(self, choice: ModelChoice) -> str | None:
        """What the person must do before a run can start (None: nothing, go on now)."""
        if choice.kind == "local":
            steps = ["    pip install 'tuiagents[local]'"] if not llama_installed() else []
            return "\n".join([*steps, "    tuiagents --local"])
        if choice.key_env and not os.environ.get(choice.key_env):
            return (f"    export {choice.key_env}=<your key>   (in the shell that starts tuiagents)\n"
                    "    tuiagents")
        return None

    def action_probe(self) -> None:
        """Test the OpenAI-compatible server: GET {base_url}/models."""
        if self.choice != "compatible":
            return
        url = self.query_one("#compat-url", Input).value.strip()
        problem = check_base_url(url)
        if problem:
            self.query_one("#compat-url", Input).add_class("-invalid")
            self._error(problem)
            return
        self._error("")
        self.query_one("#compat-probe", Static).update(Text(f"Asking {url.rstrip('/')}/models …"))
        self._probe(url, self.query_one("#compat-model", Input).value.strip(),
                    self.query_one("#compat-key-env", Input).value.strip())

    @work(thread=True, exclusive=True, group="setup-probe")
    def _probe(self, url: str, model: str, key_env: str) -> None:
        ok, models, sentence = probe_models(url, api_key=os.environ.get(key_env) if key_env else None)
        if ok and models:
            listed = ", ".join(models[:8]) + (" …" if len(models) > 8 else "")
            sentence += f" {listed}."
            if model and model not in models:
                sentence += f" ! {model!r} is not among them: check the model name."
            elif model:
                sentence += f" ✓ {model!r} is there."
            sentence += " Pick one below."
        self.app.call_from_thread(self._probe_done, ("✓ " if ok else "✗ ") + sentence, models if ok else [])

    def _probe_done(self, text: str, models: list[str] | None = None) -> None:
        self.query_one("#compat-probe", Static).update(Text(text))
        served = self.query_one("#compat-models", Select)
        served.set_options([(m, m) for m in models or []])
        served.display = bool(models)
        current = self.query_one("#compat-model", Input).value.strip()
        if models and current in models:
            served.value = current

    @on(Select.Changed, "#compat-models")
    def _served_model_picked(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.query_one("#compat-model", Input).value = event.value
