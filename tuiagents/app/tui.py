"""Opening the Textual app from the command line: on a config's team, or on a run already built.

`run_app` is `tuiagents` / `tuiagents run`; `run_prepared_app` opens the demo and resumed runs. Both
hand the app what it cannot import itself (how runs of a config are built) and, once it has quit,
print the session log's path and start the demo when the first-run setup chose it (`then_demo`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuiagents.ui.app import RunFactory, TuiAgentsApp, team_choices
from tuiagents.ui.screens.start_screens import TeamChoice
from tuiagents.ui.settings import UIOptions, no_model_message


def _print_session(app: TuiAgentsApp) -> None:
    run = app.prepared_run
    path = getattr(run, "session_path", None) if run is not None else None
    handle = app.remote_handle
    if handle is not None:
        path = handle.welcome.session_path
        handle.close()  # the run goes on, or has stopped, in its own process
    if path:
        print(f"Session log: {path}")


def process_run_factory(config: Any, config_path: Any, approve: str = "ask", session: Any = None) -> RunFactory:
    """Starts each run in a process of its own (`tuiagents run --detach`'s) and returns its handle:
    the cockpit supervises it over its socket, and d leaves it going when the cockpit closes."""
    def factory(team_name: str, task_text: str) -> Any:
        from tuiagents.app.run_process import DetachError, start_detached
        from tuiagents.engine.handle import local_sender
        from tuiagents.session.run_client import RemoteRunHandle

        try:
            record = start_detached(config, config_path=config_path, team=team_name, task=task_text,
                                    approve=approve, session=session)
        except DetachError as exc:
            raise RuntimeError(str(exc)) from None
        return RemoteRunHandle(record.socket, local_sender("cockpit"), subscribe=False)

    factory.starts_process = True  # type: ignore[attr-defined]
    return factory


def config_run_factory(config: Any, approve: str = "ask", session: Any = None) -> RunFactory:
    """Builds a run of `config`'s team on a task (what the app calls once the task is known),
    logged to `session` when given, else to a new file in the sessions folder."""
    def factory(team_name: str, task_text: str) -> Any:
        from tuiagents.app.launch import prepare_run

        return prepare_run(config, team_name, task_text, approve=approve,  # type: ignore[arg-type]
                           session_path=session)

    return factory


def build_app(config: Any, config_path: Any, team: str | None, task: str | None, approve: str = "ask",
              session: Any = None, own_process: bool = False, **kw: Any) -> TuiAgentsApp:
    """The app `run_app` runs: on `team` and `task`, or asking for the task, or explaining what to set."""
    options = UIOptions.from_config(config)
    problem: tuple[str, str] | None = None
    teams: list[TeamChoice] = []
    if config is None:
        kw.setdefault("setup", True)
    elif not config.models:
        problem = ("No model configured", no_model_message(config_path))
    elif not config.teams:
        problem = ("No team configured", "Add a [[teams]] entry (name, kind, agents) to "
                   f"{config_path or 'config.toml'}; see config.toml.example.")
    else:
        teams = team_choices(config)
        if team is not None and team not in {t.name for t in teams}:
            problem = ("Unknown team", f"There is no team named {team!r}. Teams: {', '.join(t.name for t in teams)}.")

    factory = (process_run_factory(config, config_path, approve, session) if own_process and config is not None
               else config_run_factory(config, approve, session))
    return TuiAgentsApp(run_factory=factory, teams=teams, team=team, task=task,
                        problem=problem, options=options, approve=approve, config=config,
                        factory_for=config_run_factory, **kw)


def run_app(config: Any, config_path: Any, team: str | None, task: str | None, approve: str = "ask",
            then_demo: Callable[[], int] | None = None, session: Any = None, own_process: bool = False) -> int:
    """`tuiagents` / `tuiagents run`: open the app on `team` (asking for the task when there is none).

    With no config at all, the first-run setup writes one (or chooses the demo: `then_demo()` runs
    it once this app has quit); with no model or no team, the app says what to set.
    With `own_process`, each run lives in a process of its own (d in the cockpit leaves it going).
    Returns the exit code: 0 when the run ended normally, 1 when it failed.
    """
    app = build_app(config, config_path, team, task, approve, session, own_process=own_process)
    code = app.run()
    _print_session(app)
    if app.exit_note:
        print(app.exit_note)
    if app.then_demo and then_demo is not None:
        return then_demo()
    return code if isinstance(code, int) else app.exit_code()


def run_prepared_app(run: Any, *, banner: str | None = None, config_path: Any = None, config: Any = None,
                     **kw: Any) -> int:
    """Open the app on a run that is already built (the demo, resume); returns the exit code.

    `sandbox_offer` and `start_with_image` (the demo) replace `run`: the run is built once the
    sandbox is ready or declined.
    """
    if config is None and config_path:
        try:
            from tuiagents.config import load_config

            config = load_config(config_path)
        except Exception:  # noqa: BLE001 - the run is built; defaults are fine for the look
            config = None
    app = TuiAgentsApp(run=run, options=UIOptions.from_config(config), banner=banner, config=config,
                       factory_for=config_run_factory, **kw)
    code = app.run()
    _print_session(app)
    return code if isinstance(code, int) else app.exit_code()
