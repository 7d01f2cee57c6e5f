"""The UI's settings, taken from the config's `[ui]` and `[keymap]` sections (or defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pygments.styles import get_all_styles

from tuiagents.ui.themes import DEFAULT_THEME


@dataclass
class UIOptions:
    """Theme, Pygments code style, bell, stream coalescing interval, keymap, extra theme folders."""

    theme: str = DEFAULT_THEME
    code_style: str = "monokai"
    bell: bool = True
    stream_interval_ms: int = 50
    keymap: dict[str, str] = field(default_factory=dict)
    theme_dirs: list[Path] | None = None  # None: the project's and the user's theme folders

    def __post_init__(self) -> None:
        # the config checks this too; options built in code get the same rule
        if not 1 <= self.stream_interval_ms <= 10_000:
            raise ValueError(f"[ui] stream_interval_ms must be ≥ 1 and ≤ 10000 (got {self.stream_interval_ms})")

    @classmethod
    def from_config(cls, config: Any | None) -> UIOptions:
        """Options from an `AppConfig` (None: defaults)."""
        if config is None:
            return cls()
        ui = config.ui
        return cls(theme=ui.theme, code_style=ui.code_style, bell=ui.bell,
                   stream_interval_ms=ui.stream_interval_ms, keymap=dict(config.keymap))


def valid_code_style(style: str) -> tuple[str, str | None]:
    """`style` if Pygments knows it, else monokai and a sentence saying what to set."""
    styles = set(get_all_styles())
    if style in styles:
        return style, None
    return "monokai", (f"[ui] code_style {style!r} is not a Pygments style; using monokai. "
                       f"Some styles: {', '.join(sorted(styles)[:12])}, … (command palette: Code style)")


def no_model_message(config_path: Any | None) -> str:
    """What to put in config.toml when no model is configured."""
    where = str(config_path) if config_path else "config.toml (or pass --config FILE)"
    return (
        f"No model is configured, so no agent can reply. Add one to {where}, for example:\n\n"
        "[[models]]\n"
        'name = "main"\n'
        'model = "gpt-4o-mini"\n'
        'api_key_env = "OPENAI_API_KEY"        # the environment variable holding your key\n'
        '# base_url = "http://127.0.0.1:8080/v1"  # for a local OpenAI-compatible server\n\n'
        "then agents and a team ([[agents]], [[teams]]); see config.toml.example.\n"
        "To try the app without any model, run:  tuiagents demo"
    )
