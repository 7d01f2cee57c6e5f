"""Tools: plain Python functions an agent's model may call, with schemas from type hints.

A failing call never crashes the run: bad JSON, an unknown tool, wrong arguments or an exception
inside the function become an error result the model can read and correct.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator

from pydantic import TypeAdapter, ValidationError, validate_call

from tuiagents.engine.messages import Message, ToolCall, ToolResult

INTERRUPTED = "interrupted by the user: this call was not run"


class ToolFailed(Exception):
    """Raised by a tool whose failure is told in its own words: the message is the call's result as
    is (an MCP server's error result, its timeout), without "raised ToolFailed" around it."""


def _doc_parts(fn: Callable) -> tuple[str, dict[str, str]]:
    """The summary and per-argument descriptions of a Google- or Sphinx-style docstring."""
    doc = inspect.getdoc(fn) or ""
    summary = doc.split("\n\n", 1)[0].strip()
    params: dict[str, str] = {}
    for m in re.finditer(r"^\s*:param\s+(\w+):\s*(.+)$", doc, re.M):
        params[m.group(1)] = m.group(2).strip()
    block = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.+\n?)+)", doc, re.M)
    if block:
        for m in re.finditer(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.+)$", block.group(1), re.M):
            params.setdefault(m.group(1), m.group(2).strip())
    return summary, params


@dataclass
class Tool:
    """A function registered for an agent, with the JSON schema its model sees.

    `note` says something the person should know about where the function came from (a config
    folder's module used instead of an installed one of the same name); empty when nothing.
    """

    name: str
    description: str
    function: Callable[..., Any]
    parameters: dict[str, Any]
    note: str = ""

    @classmethod
    def from_function(cls, fn: Callable[..., Any], name: str | None = None,
                      description: str | None = None) -> "Tool":
        """Build a tool from a sync or async function's signature and docstring."""
        schema = TypeAdapter(fn).json_schema()
        summary, param_docs = _doc_parts(fn)
        for pname, prop in schema.get("properties", {}).items():
            prop.pop("title", None)
            if pname in param_docs:
                prop["description"] = param_docs[pname]
        schema.pop("title", None)
        return cls(name=name or fn.__name__, description=description or summary or fn.__name__,
                   function=fn, parameters=schema)

    def openai_schema(self) -> dict[str, Any]:
        """The entry for the `tools` list of a chat completion request."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description,
                             "parameters": self.parameters}}

    async def call(self, arguments: dict[str, Any]) -> Any:
        """Validate `arguments` against the signature and run the function."""
        fn = validate_call(self.function)
        if inspect.iscoroutinefunction(self.function):
            return await fn(**arguments)
        return await asyncio.to_thread(fn, **arguments)


def load_tool(spec: str, folder: str | os.PathLike | None = None) -> Tool:
    """Import a tool from a "package.module:function" string (config `tools = [...]`).

    A module (``name.py``, or a package folder) found in `folder` (the config file's folder) is
    imported from there, as a user expects, without leaving `folder` on ``sys.path``. When an
    installed module has the same name, the folder's file still serves this tool (the tool's
    `note` says so) and everything else keeps getting the installed one from ``import``.
    """
    module_name, _, attr = spec.partition(":")
    if not attr or not module_name:
        raise ValueError(f"tool {spec!r}: write it as 'module:function'")
    base = Path(folder) if folder is not None else None
    local = base is not None and _in_folder(module_name, base)
    note = ""
    try:
        if local:
            module, note = _import_from(module_name, base, spec)  # type: ignore[arg-type]
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        where = (f" (imported from {base})" if local else
                 f"; put {module_name.partition('.')[0]}.py in {base} (the config's folder) or make it "
                 f"importable" if base is not None else "")
        raise ValueError(f"tool {spec!r}: cannot import {module_name!r} ({exc}){where}") from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed: say so, no traceback
        raise ValueError(f"tool {spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"tool {spec!r}: {module_name} has no function {attr!r}")
    tool = Tool.from_function(fn)
    tool.note = note
    return tool


def _in_folder(module_name: str, folder: Path) -> bool:
    top = module_name.partition(".")[0]
    return (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file()


def _import_from(module_name: str, folder: Path, spec: str) -> tuple[ModuleType, str]:
    """The module `module_name` of `folder`, and a note when it shadows an installed one."""
    top = module_name.partition(".")[0]
    try:
        installed = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        installed = None
    own = {(folder / f"{top}.py").resolve(), (folder / top / "__init__.py").resolve()}
    if installed is not None and not (installed.has_location and Path(installed.origin or "").resolve() in own):
        if module_name != top or not (folder / f"{top}.py").is_file():
            raise ImportError(f"the package {top!r} in {folder} has the name of an installed one "
                              f"({installed.origin or 'a namespace package'}); rename the folder's package")
        # loaded from its file and never registered in sys.modules: `import top` elsewhere still
        # gives the installed module
        path = folder / f"{top}.py"
        file_spec = importlib.util.spec_from_file_location(top, path)
        if file_spec is None or file_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(file_spec)
        with _on_path(folder):  # its own imports of files beside it work as in any module
            file_spec.loader.exec_module(module)
        return module, (f"tool {spec}: {top} comes from {path} beside the config, not from the installed "
                        f"{top} ({installed.origin or 'a namespace package'}), which the rest of the program "
                        f"keeps using; rename {path.name} to avoid the confusion")
    with _on_path(folder):
        return importlib.import_module(module_name), ""


@contextmanager
def _on_path(folder: Path) -> Iterator[None]:
    """`folder` first on ``sys.path`` for the duration of an import, and off it afterwards."""
    entry = str(folder)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(entry)  # the first occurrence: the one just inserted


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


async def execute_tool_call(call: ToolCall, tools: dict[str, Tool], offered: Iterable[str] = ()) -> ToolResult:
    """Run one call and always return a result, an error result when anything is wrong.

    `offered` names the tools the caller's model was given; an unknown-tool error lists them
    (the runner's own `tools` may be empty when it only answers calls nobody can run).
    """
    tool = tools.get(call.name)
    if tool is None:
        known = ", ".join(sorted({*tools, *offered})) or "none"
        return ToolResult(call_id=call.id, name=call.name, is_error=True,
                          content=f"Error: unknown tool {call.name!r}. Available tools: {known}.")
    try:
        args = json.loads(call.arguments or "{}")
        if not isinstance(args, dict):
            raise ValueError("arguments must be a JSON object")
    except (json.JSONDecodeError, ValueError) as exc:
        return ToolResult(call_id=call.id, name=call.name, is_error=True,
                          content=f"Error: the arguments are not a valid JSON object ({exc}). "
                                  f"Send a JSON object matching the tool's schema.")
    try:
        value = await tool.call(args)
    except ToolFailed as exc:
        return ToolResult(call_id=call.id, name=call.name, is_error=True, content=str(exc))
    except ValidationError as exc:  # validate_call reports every argument problem this way; a
        # TypeError raised inside the function is the function's own failure, reported below
        return ToolResult(call_id=call.id, name=call.name, is_error=True,
                          content=f"Error: wrong arguments for {call.name}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the model should see what went wrong
        return ToolResult(call_id=call.id, name=call.name, is_error=True,
                          content=f"Error: {call.name} raised {type(exc).__name__}: {exc}")
    return ToolResult(call_id=call.id, name=call.name, content=_stringify(value))


def open_tool_calls(transcript: list[Message]) -> tuple[Message, list[ToolCall]] | None:
    """The latest message with tool calls that are not all answered yet, and those calls.

    Only tool results and human notes may follow it; once anything else was said, the calls are
    history. Calls for several executors are answered one executor after another.
    """
    for index in range(len(transcript) - 1, -1, -1):
        message = transcript[index]
        if message.tool_calls:
            answered = {r.call_id for m in transcript[index + 1:] for r in m.tool_results}
            waiting = [c for c in message.tool_calls if c.id not in answered]
            return (message, waiting) if waiting else None
        if not (message.tool_results or message.origin == "human"):
            return None
    return None


def interrupted_results(calls: list[ToolCall]) -> list[ToolResult]:
    """Results for calls a human answered instead of running, keeping the protocol valid."""
    return [ToolResult(call_id=c.id, name=c.name, content=INTERRUPTED, is_error=True) for c in calls]
