"""Prompt templates: `{name}` in a config's texts filled from its `[context]` table.

Only `{name}` (a plain identifier) is a placeholder; `{{` and `}}` are literal braces. A lone
brace or a name the context does not hold is an error that says which variable, where it is used
(`where`: "agent 'triage' system message", "team 'desk' task", ...) and what to do.

A config without a `[context]` table fills nothing: its texts are used as written, so prompts
that show JSON (`{"a": 1}`) keep working without doubled braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["ContextValue", "TemplateError", "context_text", "fill_template", "template_names"]

#: What a `[context]` variable may hold (TOML strings, integers, floats, booleans).
ContextValue = str | int | float | bool

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


class TemplateError(ValueError):
    """A template that cannot be filled: the variable (or brace) and where the text is used."""

    def __init__(self, message: str, where: str, variable: str | None = None) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.variable = variable


def context_text(value: ContextValue) -> str:
    """A context value as it appears in a filled text (TOML's spelling for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pieces(text: str, where: str) -> list[tuple[str, bool]]:
    """`text` cut into (literal, False) and (variable name, True) pieces; TemplateError on a lone brace."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        out.append((text[pos:m.start()], False))
        pos = m.end()
        token = m.group(0)
        if m.group(1) is not None:
            out.append((m.group(1), True))
        elif token in ("{{", "}}"):
            out.append((token[0], False))
        else:
            shown = text[max(0, m.start() - 20):m.start() + 20].replace("\n", " ")
            raise TemplateError(f"a lone {token!r} near {shown!r}: write {{name}} for a context variable, "
                                f"or {token * 2} for a literal brace", where)
    out.append((text[pos:], False))
    return out


def template_names(text: str, where: str = "text") -> list[str]:
    """The variables `text` uses, in order of first use (TemplateError on a lone brace)."""
    names: list[str] = []
    for piece, is_name in _pieces(text, where):
        if is_name and piece not in names:
            names.append(piece)
    return names


def fill_template(text: str, context: Mapping[str, ContextValue] | None, where: str) -> str:
    """`text` with every `{name}` replaced by `context[name]` and `{{`/`}}` by single braces.

    `context` None (the config has no `[context]` table) leaves `text` as written. A variable
    the context does not hold, or a lone brace, raises TemplateError naming it and `where`.
    """
    if context is None:
        return text
    out: list[str] = []
    for piece, is_name in _pieces(text, where):
        if not is_name:
            out.append(piece)
            continue
        if piece not in context:
            known = ", ".join(sorted(context)) or "none defined"
            raise TemplateError(f"unknown context variable {{{piece}}}; add {piece} = \"...\" to [context] "
                                f"(defined: {known}), or write {{{{{piece}}}}} for literal braces",
                                where, piece)
        out.append(context_text(context[piece]))
    return "".join(out)
