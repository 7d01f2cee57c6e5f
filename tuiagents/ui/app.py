"""The Textual app: themes, keymap, the task screen and the cockpit.

`TuiAgentsApp` takes either a prepared run (`run=`) or a factory (`run_factory(team, task)`) that
builds one once the task is known; with neither task nor run it asks for the task first. After the
first-run setup it builds the factory with `factory_for(config, approve)`, which the composition
root passes in. Tests build it directly; the CLI opens it through `tuiagents.app.tui`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from pygments.styles import get_all_styles
from rich.markup import escape
from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from tuiagents.engine.patterns import pattern_label
from tuiagents.ui.actions import Where, palette
from tuiagents.ui.attaching import LiveAttach
from tuiagents.ui.bindings import APP_BINDINGS, validate_keymap
from tuiagents.ui.key_order import KeysInOrder
from tuiagents.ui.leaving import Leaving
from tuiagents.ui.screens.cockpit import CockpitScreen
from tuiagents.ui.screens.full_text_screen import FullTextScreen
from tuiagents.ui.screens.help_screen import HelpScreen
from tuiagents.ui.screens.prompt_screens import PickScreen
from tuiagents.ui.screens.setup_screen import SetupResult, SetupScreen
from tuiagents.templates import TemplateError
from tuiagents.ui.screens.start_screens import ProblemScreen, TaskScreen, TeamChoice
from tuiagents.ui.settings import UIOptions, no_model_message, valid_code_style
from tuiagents.ui.themes import BUILTIN_THEMES, DEFAULT_THEME, load_themes
from tuiagents.ui.widgets.transcript import Transcript

RunFactory = Callable[[str, str], Any]
#: `(config, approve) -> RunFactory`: how runs of a config are built (the composition root's).
FactoryFor = Callable[[Any, str], RunFactory]


class TuiAgentsApp(KeysInOrder, LiveAttach, Leaving, App[int]):
    """The tuiagents cockpit app (keys handed out one at a time, in typed order: `KeysInOrder`;
    its cockpit attached to live runs by id: `LiveAttach`)."""

    TITLE = "tuiagents"
    # absolute: Textual reads a relative CSS_PATH beside the module of a subclass (the replay app's)
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    BINDINGS = APP_BINDINGS
    #: Set by the entry points: `(log path, approve) -> run`, or None for a log the session
    #: browser resumes as usual (a demo session needs the demo's scripted server again).
    resume_override: Callable[[Any, str], Any] | None = None
    #: Set by the entry points: `(log path, approve) -> handle` of the session resumed in a
    #: process of its own (blocks until it serves); None resumes it in this app's process.
    resumer: Callable[[Any, str], Any] | None = None

    def __init__(self, *, run: Any = None, run_factory: RunFactory | None = None,
                 teams: Iterable[TeamChoice] = (), team: str | None = None, task: str | None = None,
                 problem: tuple[str, str] | None = None, options: UIOptions | None = None,
                 clock: Callable[[], float] = time.time, banner: str | None = None,
                 events: Iterable[Any] | None = None, setup: bool = False, approve: str = "ask",
                 config: Any = None, sandbox_offer: Any = None, sandbox_wait: Any = None,
                 start_with_image: Callable[[str | None], Any] | None = None,
                 factory_for: FactoryFor | None = None, handle: Any = None) -> None:
        super().__init__()
        #: a run in another process to supervise (`RunHandle`; its `welcome` says team and agents)
        self.remote_handle = handle
        #: the remote run was started by this app (`tuiagents run`): q asks first, d detaches it
        self.started_here = False
        self.factory_for = factory_for  # builds the run factory of the config the setup writes
        # The demo without its sandbox image: offer to prepare it, then build the run with
        # `start_with_image(image or None)` (None: no code will run).
        self.sandbox_offer = sandbox_offer
        # Or paint first: the panes of `sandbox_wait.agents` at once, the offer when its check answers.
        self.sandbox_wait = sandbox_wait
        self.start_with_image = start_with_image
        self.config = config  # the AppConfig in use, if any (the session browser's folder, resume)
        self.setup = setup  # nothing configured: the first-run setup screen comes first
        self.approve = approve
        self.exit_note: str | None = None  # printed on the terminal once the app has quit
        self.then_demo = False  # the setup chose the demo: run_app starts it after this app
        self.events = list(events) if events is not None else None
        self.options = options or UIOptions()
        self.prepared_run = run
        self.run_factory = run_factory
        self.teams = list(teams)
        self.team = team
        self.initial_task = task
        self.problem = problem
        self.clock = clock
        self.banner = banner
        self.cockpit: CockpitScreen | None = None
        self.keymap_overrides: dict[str, str] = {}
        self._last_interrupt = 0.0
        self.terminated = False  # SIGTERM asked the app to end
        self._sigterm_before: Any = None
        self._themes_loaded = False
        self.load_themes()

    # -- look and keys ------------------------------------------------------------------------------
    def load_themes(self) -> list[str]:
        """Register the theme files; return the problems met (also shown once mounted)."""
        themes, problems = load_themes(self.options.theme_dirs)
        for theme in themes:
            self.register_theme(theme)
        wanted = self.options.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            problems.append(f"[ui] theme {wanted!r} is not a known theme; using {DEFAULT_THEME}. Known: "
                            + ", ".join(sorted(n for n in self.available_themes if n.startswith("tuiagents"))
                                        or BUILTIN_THEMES))
            if DEFAULT_THEME in self.available_themes:
                self.theme = DEFAULT_THEME
        self._startup_problems = problems
        return problems

    def on_mount(self) -> None:
        """Apply the keymap, report config problems, then show the first screen."""
        self._take_sigterm()
        problems = list(self._startup_problems)
        # a remap that would take another action's key, or is no key at all, is warned about and
        # not applied: Textual would silently drop the other action's binding, or leave none
        self.keymap_overrides, keymap_problems = validate_keymap(self.options.keymap)
        problems += keymap_problems
        if self.keymap_overrides:
            self.set_keymap(self.keymap_overrides)
        style, problem = valid_code_style(self.options.code_style)
        self.options.code_style = style
        if problem:
            problems.append(problem)
        for text in problems:
            self.notify(text, severity="warning", timeout=12)
        if self.setup:
            from tuiagents.paths import user_config_path

            self.push_screen(SetupScreen(user_config_path() / "config.toml"), self._setup_done)
        elif self.problem is not None:
            self.push_screen(ProblemScreen(*self.problem))
        elif self.sandbox_wait is not None and self.start_with_image is not None:
            self._open_cockpit(None, agents=self.sandbox_wait.agents)  # no run yet: nothing to answer
            self.call_after_refresh(self._look_for_sandbox)  # the first frame does not wait for Docker
        elif self.sandbox_offer is not None and self.start_with_image is not None:
            from tuiagents.ui.screens.sandbox_screen import SandboxScreen

            self.push_screen(SandboxScreen(self.sandbox_offer), self._sandbox_done)
        elif self.remote_handle is not None:
            self.show_remote(self.remote_handle)
        elif self.prepared_run is not None:
            self._open_cockpit(self.prepared_run)
            if getattr(self.prepared_run, "resumed", False):
                from tuiagents.ui.screens.sessions_actions import show_history

                # A resumed run's bus holds the events restored from its log: show them first.
                show_history(self.cockpit, list(self.prepared_run.bus.history))
        elif self.events is not None:
            self._open_cockpit(None)
            self.cockpit.handle_events(self.events)  # type: ignore[union-attr]
        elif self.run_factory is not None and self.initial_task:
            self._start(self.team or (self.teams[0].name if self.teams else ""), self.initial_task)
        elif self.run_factory is not None:
            teams = self.teams or [TeamChoice(self.team or "team")]
            self.push_screen(TaskScreen(teams, self.team, check=self._task_problem), self._task_chosen)

    @work(thread=True, exclusive=True, group="sandbox-check", exit_on_error=False)
    def _look_for_sandbox(self) -> None:
        """The Docker checks, beside the first frames; their answer goes back to the app's loop."""
        try:
            found = self.sandbox_wait.check()
        except Exception as exc:  # noqa: BLE001 - the demo goes on without code; say why
            self.call_from_thread(self.notify, f"Could not look for the sandbox: {exc}", severity="error")
            found = None
        self.call_from_thread(self._sandbox_found, found)

    def _sandbox_found(self, found: Any) -> None:
        if found is not None and found.offer is not None:
            from tuiagents.ui.screens.sandbox_screen import SandboxScreen

            self.push_screen(SandboxScreen(found.offer), self._sandbox_done)
        else:
            self._sandbox_done(found.image if found is not None else None)

    def _sandbox_done(self, image: str | None) -> None:
        """The sandbox is ready (`image`) or will not be: build the run and open the cockpit."""
        try:
            run = self.start_with_image(image)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - shown, never a traceback
            self.push_screen(ProblemScreen("Cannot start the run", str(exc)))
            return
        self._open_cockpit(run)

    def _setup_done(self, result: SetupResult | None) -> None:
        """After the first-run setup: ask for the task on the new config, or leave (then the demo)."""
        if result is None or result.action != "go":
            self.then_demo = result is not None and result.action == "demo"
            self.exit(0)
            return
        self.teams = team_choices(result.config)
        self.config = result.config
        if self.factory_for is None:
            self.push_screen(ProblemScreen("Cannot start the run", "This app was opened without a way to "
                                           "build runs; start it with the `tuiagents` command."))
            return
        self.run_factory = self.factory_for(result.config, self.approve)
        team = self.team if self.team in {t.name for t in self.teams} else self.teams[0].name
        if self.initial_task:
            self._start(team, self.initial_task)
        else:
            self.push_screen(TaskScreen(self.teams, team, check=self._task_problem), self._task_chosen)

    def _task_problem(self, task: str) -> str | None:
        """What is wrong with a typed task (a `{name}` the config's [context] does not fill), or None."""
        if self.config is None:
            return None
        try:
            self.config.fill(task, "the task")
        except TemplateError as exc:
            return str(exc)
        return None

    def _task_chosen(self, choice: tuple[str, str] | None) -> None:
        if choice is not None:
            self._start(*choice)

    def _start(self, team: str, task: str) -> None:
        if getattr(self.run_factory, "starts_process", False):
            self.notify("Starting the run in its own process…", timeout=4)
            self._start_process(team, task)
            return
        try:
            run = self.run_factory(team, task)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - config and setup errors are shown, not raised
            self.push_screen(ProblemScreen("Cannot start the run", str(exc)))
            return
        self._open_cockpit(run)

    @work(thread=True, exclusive=True, group="start-run", exit_on_error=False)
    def _start_process(self, team: str, task: str) -> None:
        """A factory that starts the run in its own process returns its handle once it serves."""
        try:
            handle = self.run_factory(team, task)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - shown, never a traceback
            self.call_from_thread(self.push_screen, ProblemScreen("Cannot start the run", str(exc)))
            return
        self.call_from_thread(self._open_started, handle)

    @work(thread=True, exclusive=True, group="start-run", exit_on_error=False)
    def resume_in_own_process(self, path: Any) -> None:
        """Resume the log at `path` in a process of its own (`resumer`), then show its cockpit."""
        try:
            handle = self.resumer(path, self.approve)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - shown, never a traceback
            self.call_from_thread(self.push_screen, ProblemScreen("Cannot resume the session", str(exc)))
            return
        self.call_from_thread(self._open_started, handle)

    def _open_started(self, handle: Any) -> None:
        self.remote_handle = handle
        self.started_here = True
        self.show_remote(handle)

    def _open_cockpit(self, run: Any, agents: list[Any] | None = None, handle: Any = None,
                      team_kind: str | None = None) -> None:
        """Show the cockpit of `run` (None: of events fed to it, or `agents`' panes before a run,
        or of the run `handle` reaches in another process)."""
        waiting = self.cockpit if self.cockpit is not None and self.cockpit.run is None and not self.cockpit.replay \
            else None
        self.prepared_run = run
        self.cockpit = CockpitScreen(run, code_style=self.options.code_style, bell=self.options.bell,
                                     stream_interval_ms=self.options.stream_interval_ms, clock=self.clock,
                                     banner=self.banner, replay=run is None and agents is None and handle is None,
                                     agents=agents, handle=handle, team_kind=team_kind)
        if waiting is not None and self.screen is waiting:
            self.switch_screen(self.cockpit)  # the panes painted before the run take its place
        else:
            self.push_screen(self.cockpit)

    # -- commands -----------------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The usual commands, every cockpit control that applies now, and the code style picker."""
        # Textual's own "Keys" panel would sit beside ours ("Key bindings", F1), with less in it.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        if isinstance(screen, CockpitScreen):
            for action, title, help_text in screen.command_entries():
                yield SystemCommand(title, help_text, partial(screen.run_action, action))
        yield SystemCommand("Code style", "Choose the Pygments style of code blocks", self.action_pick_code_style)
        for spec in palette(Where.APP):  # the help text is markup: escaped, so "[keymap]" stays text
            yield SystemCommand(spec.title or spec.label, escape(f"{spec.text} ({spec.keys.upper()})"),
                                getattr(self, f"action_{spec.name}"))

    def on_transcript_show_full(self, message: Transcript.ShowFull) -> None:
        """A pane, the timeline or a replay asks for all of a long message: the full view shows it."""
        self.push_screen(FullTextScreen(message.title, message.text))

    def action_show_bindings(self) -> None:
        """F1: the bindings table."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keymap_overrides))

    def action_open_sessions(self) -> None:
        """F2: the session browser (replay, resume, fork or delete a saved session)."""
        from tuiagents.ui.screens.sessions_screen import SessionsScreen

        if not isinstance(self.screen, SessionsScreen):
            self.push_screen(SessionsScreen.for_app(self))

    def action_pick_code_style(self) -> None:
        """Choose the Pygments style of code blocks."""
        options = [(s, s) for s in sorted(get_all_styles())]
        self.push_screen(PickScreen("Code style", options, current=self.options.code_style), self.set_code_style)

    def set_code_style(self, style: str | None) -> None:
        """Use the Pygments style `style` for code from now on."""
        if not style:
            return
        style, problem = valid_code_style(style)
        if problem:
            self.notify(problem, severity="warning")
            return
        self.options.code_style = style
        if self.cockpit is not None:
            self.cockpit.set_code_style(style)


def team_choices(config: Any) -> list[TeamChoice]:
    """The teams of `config` as the task screen offers them."""
    return [TeamChoice(t.name, f"{pattern_label(t.kind)}: {', '.join(t.agents)}", t.task,
                       task_optional=bool(t.stages)) for t in config.teams]
