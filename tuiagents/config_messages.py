"""A config's validation errors in words: where (`agents[1].model`) and what is allowed there."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

__all__ = ["explain_error", "key_path"]


def key_path(loc: tuple) -> str:
    """A pydantic error location written like the cross-check messages: `agents[1].model`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-after"):
            out += ("." if out else "") + str(part)
    return out


_BOUNDS = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}


def explain_error(err: dict[str, Any], root: type[BaseModel]) -> str:
    """One pydantic error of a `root` model as a sentence saying what is allowed (ranges spelled out)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling (see config.toml.example)"
    if kind in _BOUNDS:
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, (int, float)) and not isinstance(got, bool) else ""
        allowed = _allowed_range(root, err["loc"]) or f"{_BOUNDS[kind]} {next(iter(ctx.values()), '?')}"
        return f"must be {allowed}{shown}"
    if kind == "finite_number":
        return "must be a finite number (not inf or nan)"
    if kind == "value_error" and ctx.get("error"):
        return str(ctx["error"])  # our validators' own sentences, without pydantic's "Value error, "
    return str(err["msg"])


def _allowed_range(root: type[BaseModel], loc: tuple) -> str | None:
    """The bounds of the field at `loc`, spelled like "≥ 1 and ≤ 10000" (None when not found)."""
    model: Any = root
    field = None
    for part in loc:
        if isinstance(part, int) or str(part).startswith("function-"):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        field = fields[part]
        model = next((a for a in typing.get_args(field.annotation) if hasattr(a, "model_fields")),
                     field.annotation)
    if field is None:
        return None
    bounds = [f"{sign} {getattr(m, attr)}" for m in field.metadata
              for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")) if hasattr(m, attr)]
    return " and ".join(bounds) or None
