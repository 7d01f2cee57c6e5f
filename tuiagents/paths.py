"""Where tuiagents keeps its files: user config, data (sessions) and cache dirs."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir, user_data_dir, user_state_dir

APP = "tuiagents"


def user_config_path() -> Path:
    """The folder holding the user's `config.toml`."""
    return Path(os.environ.get("TUIAGENTS_CONFIG_DIR") or user_config_dir(APP))


def user_data_path() -> Path:
    """The folder holding session logs and work dirs."""
    return Path(os.environ.get("TUIAGENTS_DATA_DIR") or user_data_dir(APP))


def user_cache_path() -> Path:
    """The folder holding the LLM response cache."""
    return Path(os.environ.get("TUIAGENTS_CACHE_DIR") or user_cache_dir(APP))


def sessions_dir(override: str | None = None) -> Path:
    """The folder of session logs (`[session] dir` overrides the default)."""
    return Path(override).expanduser() if override else user_data_path() / "sessions"


def run_work_dir(base: Path | None, session_path: Path, run_id: str) -> Path:
    """Where a run's code works: `<base>/<run_id>` when `[docker] work_dir` sets `base`, else
    `<log stem>.work` beside its session log. New runs, resumes and `doctor` all ask this."""
    return Path(base).expanduser() / run_id if base else Path(session_path).with_suffix(".work")


def runtime_path(create: bool = True) -> Path:
    """The owner-only (0700) folder of live runs' sockets and records.

    `$TUIAGENTS_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/tuiagents`, else `run/` in the user's state
    dir. A folder another user owns is refused (`PermissionError`): its sockets could be anyone's.
    """
    override = os.environ.get("TUIAGENTS_RUNTIME_DIR")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(override) if override else Path(xdg) / APP if xdg else Path(user_state_dir(APP)) / "run"
    if not create:
        return path
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; set TUIAGENTS_RUNTIME_DIR to a folder of yours")
    if info.st_mode & 0o077:
        path.chmod(0o700)
    return path
