"""Where tuiagents keeps its files: user config, data (sessions) and cache dirs."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir, user_data_dir

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
