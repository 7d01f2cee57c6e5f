"""Import an AutoGen 0.2 chat history (JSON) as a session log, to replay or export it here.

Accepted shapes:
- a list of OpenAI-style messages `{"role", "content", "name"?, "tool_calls"?, ...}` (AutoGen's
  `ChatResult.chat_history`, a `GroupChat.messages` dump);
- `{"messages": [...]}` (or `{"chat_history": [...]}`);
- a dict of agent name → message list (an agent's `chat_messages`, keyed by the other agent).

Each message becomes a `TurnStarted` + `MessageDelivered`; the log starts with `RunStarted` (agents
from the senders' names) and ends with `RunStopped(kind=external, reason="imported ...")`.
Timestamps are synthetic (half a second apart) so replay paces them evenly.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tuiagents.engine.events import AgentInfo, MessageDelivered, RunStarted, RunStopped, StopKind, TurnStarted
from tuiagents.engine.messages import Message, ToolCall, ToolResult
from tuiagents.session.log import (
    SessionError, SessionHeader, SessionWriter, exists_error, new_run_id, session_filename,
)

STEP = 0.5  # seconds between imported messages
_TOO_DEEP = "the JSON is nested too deeply to be a chat history (thousands of levels); check the file"
SHAPES = ('a list of messages, {"messages": [...]}, or a dict of agent name → list of messages '
          "(AutoGen's chat_messages)")


class AutogenImportError(SessionError):
    """The file is not an AutoGen chat history this importer understands."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        super().__init__(message, reason="import", path=path)


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: keep the text, name the rest
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, dict):
                parts.append(f"[{part.get('type', 'part')}]")
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False)


def _messages(data: Any, where: Path) -> list[tuple[dict, str | None]]:
    """(message, owner) pairs; owner is the agent whose chat_messages held it, if known."""
    if isinstance(data, dict):
        for key in ("messages", "chat_history"):
            if isinstance(data.get(key), list):
                return [(m, None) for m in data[key]]
        if data and all(isinstance(v, list) for v in data.values()):
            return [(m, peer) for peer, msgs in data.items() for m in msgs]
        raise AutogenImportError(f"a JSON object without a message list; expected {SHAPES}", where)
    if isinstance(data, list):
        return [(m, None) for m in data]
    raise AutogenImportError(f"the JSON holds a {type(data).__name__}; expected {SHAPES}", where)


def _obj(value: Any) -> dict:
    """`value` when it is a JSON object, else an empty one (hostile files put anything anywhere)."""
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list:
    """`value` when it is a JSON list, else an empty one."""
    return value if isinstance(value, list) else []


def _str(value: Any, default: str) -> str:
    """A name or id from the file: strings as they are, other scalars as text, else `default`."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return default


def _convert(i: int, m: Any, peer: str | None, where: Path) -> Message:
    if not isinstance(m, dict):
        raise AutogenImportError(f"message {i} is a {type(m).__name__}, not an object with role and "
                                 "content", where)
    if "role" not in m and "content" not in m:
        raise AutogenImportError(f"message {i} has neither 'role' nor 'content' (keys: "
                                 f"{', '.join(sorted(m)) or 'none'})", where)
    role = _str(m.get("role"), "user")
    sender = _str(m.get("name"), peer if role == "user" and peer else role)
    calls = [ToolCall(id=_str(c.get("id"), f"call{i}_{k}"), name=_str(_obj(c.get("function")).get("name"), "?"),
                      arguments=_text(_obj(c.get("function")).get("arguments", "{}")))
             for k, c in enumerate(_items(m.get("tool_calls"))) if isinstance(c, dict)]
    if isinstance(m.get("function_call"), dict):
        fc = m["function_call"]
        calls.append(ToolCall(id=f"fc{i}", name=_str(fc.get("name"), "?"), arguments=_text(fc.get("arguments", "{}"))))
    results: list[ToolResult] = []
    if role == "tool":
        responses = _items(m.get("tool_responses")) or [m]
        results = [ToolResult(call_id=_str(r.get("tool_call_id"), f"call{i}"), name=_str(r.get("name"), "tool"),
                              content=_text(r.get("content"))) for r in responses if isinstance(r, dict)]
    elif role == "function":
        results = [ToolResult(call_id=f"fc{i - 1}", name=_str(m.get("name"), "function"),
                              content=_text(m.get("content")))]
        sender = peer or "function"
    content = "" if results else _text(m.get("content"))
    return Message(sender=str(sender), content=content, tool_calls=calls, tool_results=results,
                   origin="tool" if results else "agent")


def load_autogen_history(src: str | os.PathLike) -> list[Message]:
    """Read an AutoGen history file into messages; AutogenImportError says what is wrong."""
    p = Path(src)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionError("no such file", reason="missing", path=p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AutogenImportError(f"cannot read it as UTF-8 text: {exc}", p) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AutogenImportError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                                 "export the history with json.dump(chat_result.chat_history, f)", p) from None
    except RecursionError:
        raise AutogenImportError(_TOO_DEEP, p) from None
    pairs = _messages(data, p)
    if not pairs:
        raise AutogenImportError("the history holds no messages", p)
    try:
        out = [_convert(i, m, peer, p) for i, (m, peer) in enumerate(pairs, 1)]
    except RecursionError:  # a message content nested too deeply to turn into text
        raise AutogenImportError(_TOO_DEEP, p) from None
    calls = {c.id: (c.name, m.sender) for m in out for c in m.tool_calls}
    for m in out:  # name results after their calls, and address them to the caller
        for r in m.tool_results:
            if r.call_id in calls:
                r.name = calls[r.call_id][0] if r.name in ("tool", "function") else r.name
                m.recipient = m.recipient or calls[r.call_id][1]
    return out


def import_autogen(src: str | os.PathLike, dest: str | os.PathLike | None = None, *,
                   sessions_dir: str | os.PathLike | None = None, team: str = "autogen-import") -> Path:
    """Write a session log from an AutoGen history; return its path.

    `dest` defaults to a new file in `sessions_dir` (default: the user's sessions folder), so the
    import shows up in `tuiagents sessions`. An existing `dest` is never overwritten.
    """
    src_path = Path(src)
    messages = load_autogen_history(src_path)
    names = list(dict.fromkeys(m.sender for m in messages if m.origin != "tool"))
    agents = [AgentInfo(name=n, kind="imported") for n in names]
    task = next((m.content for m in messages if m.content), "")
    run_id = new_run_id()
    if dest is None:
        from tuiagents.paths import sessions_dir as default_dir

        folder = Path(sessions_dir) if sessions_dir else default_dir()
        dest = folder / session_filename(team, run_id)
    header = SessionHeader(run_id=run_id, team=team, team_kind="two_agent" if len(names) <= 2 else "group_chat",
                           task=task, agents=agents, imported_from=str(src_path.resolve()))
    ts = time.time()
    seq = 0

    def stamp(ev):
        nonlocal seq
        seq += 1
        ev.seq, ev.ts = seq, ts + seq * STEP / 2
        return ev

    events = [stamp(RunStarted(run_id=run_id, team=team, team_kind=header.team_kind, task=task, agents=agents))]
    for rnd, m in enumerate(messages, 1):
        events += [stamp(TurnStarted(agent=m.sender, round=rnd)), stamp(MessageDelivered(message=m, round=rnd))]
    events.append(stamp(RunStopped(reason=f"imported from AutoGen history {src_path.name} "
                                          f"({len(messages)} messages)", kind=StopKind.EXTERNAL)))
    _write_whole(Path(dest), header, events)
    return Path(dest)


def _write_whole(dest: Path, header: SessionHeader, events: list) -> None:
    """Write the log to a hidden file beside `dest`, then link it into place: all or nothing.

    `dest` is never overwritten (the link fails when it exists), and a write that fails part
    way leaves no file behind.
    """
    if dest.exists():
        raise exists_error(dest)  # names the run writing it, if one does
    part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with SessionWriter(part, header) as w:
            w.write_many(events)
        try:
            os.link(part, dest)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this filesystem: claim the name, then move the file over it
            os.close(os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            os.replace(part, dest)
    except FileExistsError:
        raise exists_error(dest) from None
    except SessionError:
        raise
    except (OSError, ValueError) as exc:  # disk full, permissions, text the log cannot hold
        raise AutogenImportError(f"cannot write the imported log: {exc}", dest) from None
    finally:
        part.unlink(missing_ok=True)
