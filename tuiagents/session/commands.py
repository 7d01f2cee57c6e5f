"""Entry functions of the session commands (`export`, `sessions`, `import`, `resume --fork-at` and
session deletion), wired into the `tuiagents` command (`replay --headless` is `tuiagents.app.replay`).

Each prints its result to stdout, explains problems on stderr and returns an exit code:
0 done, 1 failed (for example the output file cannot be written), 2 bad input (a missing file,
not a session log, a log from a newer tuiagents, an event number out of range).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from tuiagents.engine.usage import format_cost
from tuiagents.session.log import SessionError
from tuiagents.text import one_line

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _err(message: str) -> None:
    print(f"tuiagents: {message}", file=sys.stderr)


def fail(exc: Exception) -> int:
    """Say what went wrong on stderr; the exit code it deserves (1 failed, 2 bad input)."""
    _err(str(exc))
    if isinstance(exc, SessionError):
        return EXIT_FAILED if exc.reason in ("closed", "write_failed") else EXIT_BAD_INPUT
    return EXIT_FAILED


def write_out(text: str) -> int:
    """Print `text` (a closed pipe, as with `| head`, is not an error); exit code 0."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader had enough
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
    return EXIT_OK


def cli_export(path: str | os.PathLike, fmt: str = "md", out: str | os.PathLike | None = None) -> int:
    """Export a session to Markdown, HTML or JSON, on stdout or into `out` ("-" is stdout)."""
    from tuiagents.session.export import FORMATS, export_session
    from tuiagents.session.reader import read_session

    if fmt not in FORMATS:
        _err(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        return EXIT_BAD_INPUT
    try:
        log = read_session(path, token_deltas=False)
    except SessionError as exc:
        return fail(exc)
    if log.notice:
        _err(f"{path}: {log.notice}")
    if out is not None and str(out) != "-":
        problem = _onto_a_log(Path(path), Path(out), fmt)
        if problem is not None:
            _err(problem)
            return EXIT_BAD_INPUT
    text = export_session(log, fmt)  # type: ignore[arg-type]
    if out is None or str(out) == "-":
        return write_out(text)
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        _err(f"{out}: cannot write the export: {exc.strerror}")
        return EXIT_FAILED
    print(f"exported {path} to {out}", file=sys.stderr)
    return EXIT_OK


def _onto_a_log(log: Path, out: Path, fmt: str) -> str | None:
    """Why `out` must not take an export of `log` (it is that log, or another session log, live or
    not: writing it would erase a run's record), or None."""
    from tuiagents.session.reader import read_header

    if not out.exists():
        return None
    suggestion = f"-o {log.with_suffix('.' + fmt).name}"
    try:
        if out.samefile(log):
            return (f"{out} is the session log being exported: writing the export there would erase it; "
                    f"choose another file ({suggestion}) or leave -o out to print it")
    except OSError:
        pass
    try:
        read_header(out)
    except (SessionError, OSError, ValueError):
        return None  # not a session log (an earlier export, say): it may be overwritten
    return (f"{out} is a session log: writing the export there would erase it; "
            f"choose another file ({suggestion}) or leave -o out to print it")


def format_sessions_table(summaries: list, width: int = 120) -> str:
    """The `tuiagents sessions` table: newest first, one line per log.

    The ID column is what `replay`, `resume` and `export` accept from any folder; the stop reason
    is kept whole and only the task after it is cut to the terminal's width.
    """
    from tuiagents.session.outcome import outcome_words

    rows = [("WHEN", "TEAM", "TURNS", "COST", "STATUS", "ID", "STOP REASON — TASK", "")]
    for s in summaries:
        when = s.created.astimezone().strftime("%Y-%m-%d %H:%M") if s.created else "?"
        cost = "" if s.cost is None else format_cost(s.cost)
        turns = "" if s.turns is None else str(s.turns)
        what = s.error if s.status == "corrupt" else (
            s.stop_reason or ("(running: its run writes it now)" if s.status == "running" else "(no stop: interrupted)"))
        if s.status != "corrupt" and s.error:
            what = f"{s.error}; {what}"
        task = one_line(s.task, 200) if s.status != "corrupt" and s.task else ""
        ident = s.run_id if s.run_id and s.status != "corrupt" else s.path.name
        rows.append((when, s.team or "-", turns, cost, outcome_words(s.status, s.stop_kind), ident,
                     one_line(what or "", 200), task))
    fixed = [max(len(one_line(r[i], 48)) for r in rows) for i in range(6)]
    what_w = max(30, width - sum(fixed) - 2 * 6)
    lines = []
    for r in rows:
        # the stop reason is never cut; the task after it gets what is left of the width
        task_w = what_w - len(r[6]) - 3
        tail = f" — {one_line(r[7], task_w)}" if r[7] and task_w >= 8 else ""
        cells = [one_line(r[0], 24).ljust(fixed[0]), one_line(r[1], 24).ljust(fixed[1]), r[2].rjust(fixed[2]),
                 r[3].rjust(fixed[3]), r[4].ljust(fixed[4]), one_line(r[5], 48).ljust(fixed[5]), r[6] + tail]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def cli_sessions(folder: str | os.PathLike | None = None) -> int:
    """List the session logs of `folder` (default: the user's sessions folder) as a table."""
    from tuiagents.session.catalog import list_sessions

    if folder is None:
        from tuiagents.paths import sessions_dir

        folder = sessions_dir()
    d = Path(folder).expanduser()
    if d.exists() and not d.is_dir():
        _err(f"{d}: not a folder; pass the folder that holds the session logs")
        return EXIT_BAD_INPUT
    summaries = list_sessions(d)
    if not summaries:
        print(f"no sessions in {d} yet; `tuiagents run` records one per run")
        return EXIT_OK
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"{len(summaries)} session{'s' if len(summaries) != 1 else ''} in {d} "
          "(replay, resume or export one by its ID from any folder)")
    return write_out(format_sessions_table(summaries, width))


def cli_fork(path: str | os.PathLike, at: int, dest: str | os.PathLike | None = None) -> int:
    """Write a new log with the first `at` events of `path`; print its path."""
    from tuiagents.session.fork import fork_session

    try:
        new = fork_session(path, at, dest)
    except SessionError as exc:
        return fail(exc)
    except OSError as exc:
        _err(f"cannot write the fork: {exc}")
        return EXIT_FAILED
    print(new)
    print(f"forked the first {at} events of {path}; continue it with: tuiagents resume {new}",
          file=sys.stderr)
    return EXIT_OK


def cli_import(history: str | os.PathLike, output: str | os.PathLike | None = None,
               sessions_dir: str | os.PathLike | None = None) -> int:
    """Import an AutoGen 0.2 chat history as a session log; print its path."""
    from tuiagents.session.autogen_import import import_autogen

    try:
        path = import_autogen(history, output, sessions_dir=sessions_dir)
    except SessionError as exc:
        return fail(exc)
    except OSError as exc:
        _err(f"cannot write the session log: {exc}")
        return EXIT_FAILED
    print(path)
    print(f"imported {history}; replay it with: tuiagents replay {path}", file=sys.stderr)
    return EXIT_OK


def cli_delete(path: str | os.PathLike, work_dir: bool = False) -> int:
    """Delete a session log (and its work folder with `work_dir`)."""
    from tuiagents.session.catalog import delete_session

    try:
        removed = delete_session(path, work_dir=work_dir)
    except SessionError as exc:
        return fail(exc)
    except OSError as exc:
        _err(f"cannot delete: {exc}")
        return EXIT_FAILED
    for p in removed:
        print(f"deleted {p}")
    return EXIT_OK
