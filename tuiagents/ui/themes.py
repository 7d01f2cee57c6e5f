"""Themes from `themes/*.toml`, registered as Textual themes.

Each file holds the fields of `textual.theme.Theme` (name, dark, primary, secondary, accent,
warning, error, success, foreground, background, surface, panel, ...) and an optional
`[variables]` table of CSS variables. The project's own files live in the top-level `themes/`
folder; files in `<user config dir>/themes/` are loaded too, so users can add their own.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import tomllib
from textual.theme import Theme

from tuiagents.paths import user_config_path

DEFAULT_THEME = "tuiagents-dark"
BUILTIN_THEMES = ("tuiagents-dark", "tuiagents-light", "tuiagents-high-contrast")
_FIELDS = {f.name for f in dataclasses.fields(Theme)}


def theme_dirs() -> list[Path]:
    """Where theme files are looked for: the project's `themes/` (a checkout or editable install,
    else `<prefix>/share/tuiagents/themes` of an installed wheel), then the user's."""
    project = Path(__file__).resolve().parents[2] / "themes"
    installed = Path(sys.prefix) / "share" / "tuiagents" / "themes"
    return [project if project.is_dir() else installed, user_config_path() / "themes"]


def load_theme_file(path: Path) -> Theme:
    """One theme from a TOML file; ValueError says what is wrong with it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read theme: {exc}") from None
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown theme key(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(_FIELDS))}")
    data.setdefault("name", path.stem)
    if "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least `primary` (a colour such as \"#5AA9FF\")")
    data["variables"] = {str(k): str(v) for k, v in dict(data.get("variables", {})).items()}
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid theme: {exc}") from None


def load_themes(dirs: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """Every theme found (later folders override earlier ones by name), and the problems met."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in dirs if dirs is not None else theme_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), problems
