"""The UI's settings: the config's `[ui]` section (one type, `UISettings`) plus its `[keymap]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pygments.styles import get_all_styles

from tuiagents.config import UISettings


class UIOptions(UISettings):
    """The config's `[ui]` settings (theme, code style, bell, stream interval), its `[keymap]`, and the
    theme folders to load (None: the project's and the user's)."""

    keymap: dict[str, str] = Field(default_factory=dict)
    theme_dirs: list[Path] | None = None

    @classmethod
    def from_config(cls, config: Any | None) -> UIOptions:
        """Options from an `AppConfig` (None: defaults)."""
        if config is None:
            return cls()
        return cls(**config.ui.model_dump(), keymap=dict(config.keymap))


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
