"""A tool call's arguments as a person edits them: parsed, checked against the tool's JSON schema,
pretty for the editor, compact for the model, and compared line by line.

Every view (the cockpit's editor, the console) and the engine's own check of an edit use these, so
an edit the editor accepts is one the engine accepts, and the message saying what to fix is the same.
The schema is the tool's `parameters` as its model sees them, whatever the tool's source.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for

#: Schema problems listed at most; the rest are counted (one fix often clears several).
MAX_PROBLEMS = 5


class ArgumentsProblem(ValueError):
    """Arguments that cannot be sent: not JSON, not an object, or against the tool's schema."""


def _no_constant(name: str) -> Any:
    raise ArgumentsProblem(f"{name} is not JSON (no tool can be sent it); write a number or null")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:  # json.loads would keep the last silently: the person would not see what is sent
        raise ArgumentsProblem(f"{', '.join(repr(k) for k in twice)} given twice; keep one")
    return dict(pairs)


def parse_arguments(text: str) -> dict[str, Any]:
    """The JSON object in `text`; ArgumentsProblem (saying what to fix) when it is not one: strict
    JSON, without NaN or Infinity and without a key given twice."""
    try:
        value = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
        _finite(value)  # 1e999 reads as infinity without passing through parse_constant
    except json.JSONDecodeError as exc:
        raise ArgumentsProblem(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
                               f"fix it (strings in double quotes, no trailing comma)") from None
    if not isinstance(value, dict):
        raise ArgumentsProblem(f"the arguments must be a JSON object, {{\"name\": value, ...}}, "
                               f"not a {type(value).__name__}")
    return value


def _finite(value: Any) -> None:
    """ArgumentsProblem when a number in `value` is not finite (1e999 reads as infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentsProblem("a number too large for JSON (it reads as infinity); write a smaller one")
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        _finite(item)


def _where(path: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "".join(parts).lstrip(".")


def schema_problems(arguments: dict[str, Any], schema: dict[str, Any] | None) -> list[str]:
    """Where `arguments` break `schema`, each as "where: what" (what alone for the object itself;
    [] when they fit or there is no usable schema: a tool whose schema is itself broken still gets
    its arguments checked when it runs)."""
    if not schema:
        return []
    try:
        cls = validator_for(schema)
        cls.check_schema(schema)
    except SchemaError:
        return []
    errors = sorted(cls(schema).iter_errors(arguments), key=lambda e: (list(e.absolute_path), e.message))
    out = [f"{_where(e.absolute_path)}: {e.message}" if e.absolute_path else e.message
           for e in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        out.append(f"and {len(errors) - MAX_PROBLEMS} more")
    return out


def arguments_problem(text: str, schema: dict[str, Any] | None, tool: str = "the tool") -> str | None:
    """What is wrong with `text` as the arguments of `tool` (JSON, object, schema), or None."""
    try:
        arguments = parse_arguments(text)
    except ArgumentsProblem as exc:
        return str(exc)
    problems = schema_problems(arguments, schema)
    if problems:
        return f"the arguments do not fit {tool}'s schema: " + "; ".join(problems)
    return None


def pretty_arguments(text: str) -> str:
    """`text` indented for reading and editing (as it is when it is not JSON)."""
    try:
        return json.dumps(json.loads(text or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def compact_arguments(text: str) -> str:
    """The JSON in `text` on one line, as a model writes arguments (ArgumentsProblem if not an object)."""
    return json.dumps(parse_arguments(text), ensure_ascii=False)


def same_arguments(old: str, new: str) -> bool:
    """True when `new` holds the same JSON value as `old` (layout aside)."""
    try:
        return json.loads(old or "{}") == json.loads(new)
    except ValueError:
        return False


def arguments_diff(old: str, new: str) -> list[str]:
    """A unified diff of the pretty forms of `old` and `new`, without its file header lines."""
    lines = difflib.unified_diff(pretty_arguments(old).splitlines(), pretty_arguments(new).splitlines(),
                                 "sent by the model", "your edit", lineterm="", n=3)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def parameters_summary(schema: dict[str, Any] | None) -> list[str]:
    """One line per top-level parameter: "name: type, required — description"."""
    properties = (schema or {}).get("properties") or {}
    required = set((schema or {}).get("required") or ())
    out = []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type") or ("one of " + ", ".join(json.dumps(v) for v in prop["enum"])
                                    if "enum" in prop else "any")
        if isinstance(kind, list):
            kind = " or ".join(str(k) for k in kind)
        if "enum" in prop and "type" in prop:
            kind = f"{kind}, one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in prop["enum"])
        extra = ", required" if name in required else (
            f", default {json.dumps(prop['default'], ensure_ascii=False)}" if "default" in prop else ", optional")
        about = f" — {prop['description']}" if prop.get("description") else ""
        out.append(f"{name}: {kind}{extra}{about}")
    return out
