"""Export a session to Markdown, standalone HTML or JSON.

All three show the same things: the conversation, every decision with who made it (an edit shows
the original next to the edited text, a rejection its feedback), code with its output and exit
code, tool calls with their results, the stop reason and the usage. Secrets are scrubbed from the
result once more, and content can never break the document: Markdown fences are longer than any
run of backticks inside them, HTML escapes every text. Nothing live reaches a terminal or a viewer:
every control, invisible or direction-changing character is made visible (`tuiagents.text.inert`;
JSON writes them as ``\\uXXXX`` escapes, the same data). Both the HTML and the Markdown export show
each message with the rules of the screen (`tuiagents.render`): the HTML export renders it, the
Markdown export writes it as Markdown any viewer renders that way (raw HTML escaped, line breaks
kept, in a block quote), or verbatim in a fence when that cannot be guaranteed.
"""

from __future__ import annotations

import json
import os
import re
from typing import Literal

from tuiagents.engine.decisions import DecisionKind, RequestKind
from tuiagents.engine.usage import format_cost
from tuiagents.session.reader import SessionLog, read_session
from tuiagents.render.markdown_out import safe_markdown
from tuiagents.session.secrets import Scrubber, scrub
from tuiagents.session.export_lines import (
    MD_MESSAGE_LIMIT, clock, context_words, decision_line, execution_line, title,
)
from tuiagents.text import inert, json_inert
from tuiagents.session.transcript import (
    ChatEntry, CodeEntry, DecisionEntry, ExecutionEntry, TranscriptMessage, NoticeEntry, SpeakerEntry, StopEntry, ToolEntry,
    SessionTranscript, build_transcript,
)

ExportFormat = Literal["md", "html", "json"]
FORMATS: tuple[str, ...] = ("md", "html", "json")


# -- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!$])")


def md_inline(text: str) -> str:
    """Text safe inside a Markdown line (no markup, no line breaks)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_fence(text: str, lang: str = "text") -> str:
    """A fenced block that nothing inside `text` can close."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    bar = "`" * max(3, longest + 1)
    lang = re.sub(r"[^A-Za-z0-9_+.-]", "", lang or "")
    return f"{bar}{lang}\n{text.rstrip(chr(10))}\n{bar}"


def md_message(text: str) -> str:
    """A message as Markdown a viewer renders like the screen does (in a block quote), or verbatim
    in a fence. Secrets are removed first: the renderer would only mask them, as the screen does."""
    text = scrub(text)
    out = safe_markdown(text, quote=True) if len(text) <= MD_MESSAGE_LIMIT else None
    return out if out is not None else md_fence(text)


def _md_header(log: SessionLog, t: SessionTranscript) -> list[str]:
    h = log.header
    agents = ", ".join(f"{a.name} ({a.kind}{', ' + a.model if a.model else ''})" for a in h.agents)
    rows = [("Run", h.run_id), ("Created", h.created), ("Team", f"{h.team} ({h.team_kind})"),
            ("Agents", agents or ", ".join(t.agents)), ("Status", f"{t.status}: {t.stop_reason}"),
            ("Turns", str(t.turns)), ("Messages", str(t.messages)),
            ("Tokens", f"{t.usage.total_tokens:,} ({t.usage.prompt_tokens:,} prompt + "
                       f"{t.usage.completion_tokens:,} completion)"),
            ("Cost", format_cost(t.usage.cost)), ("tuiagents", h.tuiagents_version)]
    if h.forked_from:
        rows.append(("Forked from", f"{h.forked_from.path} at event {h.forked_from.at_event}"))
    if h.imported_from:
        rows.append(("Imported from", h.imported_from))
    if (context := context_words(h.config)) is not None:
        rows.append(("Context", context))
    out = [f"# Session {md_inline(h.team)}: {md_inline(title(h.task))}", "",
           "| | |", "|---|---|"]
    out += [f"| {k} | {md_inline(v)} |" for k, v in rows]
    if log.notice:
        out += ["", f"> **Note:** {md_inline(log.notice)}"]
    out += ["", "## Task", "", md_message(h.task), "", "## Conversation", ""]
    return out


def _md_chat(e: ChatEntry, at: str) -> list[str]:
    """A chat inside the run beginning (who, its task) or ending (why, the summary it handed on)."""
    where = md_inline(e.where or e.title)
    if e.ended:
        out = [f"**◂ {where} ended** · {at}: {md_inline(e.reason)}", ""]
        return out + (["Summary handed on:", "", md_message(e.summary), ""] if e.summary else [])
    of = f", the reply of {md_inline(e.owner)}" if e.owner else ""
    again = " (resumed)" if e.resumed else ""
    return [f"### ▸ {where}{again}", "", f"*{md_inline(', '.join(e.agents))}{of}* · {at}", "",
            "Task:", "", md_message(e.task), ""]


def _md_entry(e, shown: set[str]) -> list[str]:
    at = clock(e.ts)
    if isinstance(e, ChatEntry):
        return _md_chat(e, at)
    if isinstance(e, TranscriptMessage):
        if e.echo:
            return []
        to = f" → {md_inline(e.recipient)}" if e.recipient else ""
        tags = [e.origin] if e.origin != "agent" else []
        if e.human_edited:
            tags.append("edited by a human")
        where = f"[{md_inline(e.where)}] " if e.where else ""
        out = [f"### {where}{md_inline(e.sender)}{to}" + (f" ({', '.join(tags)})" if tags else "") + f" · {at}", ""]
        if e.content:
            out += [md_message(e.content) if e.origin in ("agent", "human") else md_fence(e.content), ""]
        if e.human_edited and e.original is not None and e.original not in shown:
            out += ["Original, before the edit:", "", md_message(e.original), ""]
        for c in e.tool_calls:
            out += [f"Calls tool **{md_inline(c.name)}** with:", "", md_fence(c.arguments, "json"), ""]
        for r in e.tool_results:
            out += [f"Result of **{md_inline(r.name)}**" + (" (error)" if r.is_error else "") + ":", "",
                    md_fence(r.content), ""]
        return out
    if isinstance(e, DecisionEntry):
        out = [f"> **Decision** · {at} · {md_inline(decision_line(e))}", ""]
        d = e.decision
        if d.kind == DecisionKind.EDIT:
            as_md = {RequestKind.CODE: md_fence, RequestKind.TOOL_CALL: lambda text: md_fence(text, "json")}.get(
                e.request_kind, md_message)
            if e.proposed is not None:
                out += ["Original:", "", as_md(e.proposed), ""]
                shown.add(e.proposed)
            out += ["Edited to:", "", as_md(d.content or ""), ""]
        elif d.kind in (DecisionKind.REJECT, DecisionKind.INJECT, DecisionKind.REPLY) and d.content:
            label = {DecisionKind.REJECT: "Feedback", DecisionKind.INJECT: "Message",
                     DecisionKind.REPLY: "Reply"}[d.kind]
            out += [f"{label}:", "", md_message(d.content), ""]
        return out
    if isinstance(e, CodeEntry):
        where = f" (would run on {md_inline(e.executor)})" if e.executor else ""
        out = [f"**Code proposed by {md_inline(e.agent)}**{where} · {at}", ""]
        for b in e.blocks:
            out += [md_fence(b.code, b.language), ""]
        return out
    if isinstance(e, ExecutionEntry):
        out = [f"**Ran {md_inline(e.language)} code from {md_inline(e.agent)}** on {md_inline(e.executor)}: "
               f"{md_inline(execution_line(e))} · {at}", ""]
        return out + (["Output:", "", md_fence(e.output), ""] if e.output else ["(no output)", ""])
    if isinstance(e, ToolEntry):
        out = [f"**Tool call** · {at} · {md_inline(e.agent)} → **{md_inline(e.call.name)}**", "",
               md_fence(e.call.arguments, "json"), ""]
        if e.result is not None:
            out += ["Error:" if e.result.is_error else "Result:", "", md_fence(e.result.content), ""]
        return out
    if isinstance(e, SpeakerEntry):
        note = f" — {md_inline(e.note)}" if e.note else ""
        return [f"*Next speaker: {md_inline(e.agent)} ({md_inline(e.method)}){note}*", ""]
    if isinstance(e, NoticeEntry):
        who = f" ({md_inline(e.agent)})" if e.agent else ""
        return [f"> *{e.level}*{who}: {md_inline(e.text)}", ""]
    if isinstance(e, StopEntry):
        return [f"**Run stopped** · {at}: {md_inline(e.reason)} ({md_inline(e.stop_kind.value)})", ""]
    return []


def _md_usage(t: SessionTranscript) -> list[str]:
    out = ["## Stop reason", "", f"{md_inline(t.stop_reason)}" +
           (f" ({md_inline(t.stop.stop_kind.value)})" if t.stop else ""), ""]
    if t.stop and t.stop.summary:
        out += ["Summary:", "", md_message(t.stop.summary), ""]
    out += ["## Usage", "", "| Agent | Calls | Cached | Prompt tokens | Completion tokens | Cost |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, u in [*t.usage.by_agent.items(), ("**total**", t.usage)]:
        out.append(f"| {name if name == '**total**' else md_inline(name)} | {u.calls} | {u.cached_calls} | "
                   f"{u.prompt_tokens:,} | {u.completion_tokens:,} | {md_inline(format_cost(u.cost))} |")
    return out + [""]


def export_markdown(log: SessionLog, t: SessionTranscript | None = None) -> str:
    """The session as a Markdown document."""
    t = t or build_transcript(log)
    out = _md_header(log, t)
    shown: set[str] = set()
    for e in t.entries:
        out += _md_entry(e, shown)
    out += _md_usage(t)
    return "\n".join(out)


# -- JSON and the entry point ----------------------------------------------------------------------

def export_json(log: SessionLog, t: SessionTranscript | None = None) -> str:
    """The session as structured data: the header and the transcript entries."""
    t = t or build_transcript(log)
    data = {"format": "tuiagents-export", "version": 1, "header": log.header.model_dump(mode="json"),
            "notice": log.notice, "transcript": t.to_data()}
    return json.dumps(data, indent=2, ensure_ascii=False)


def export_session(log: SessionLog | str | os.PathLike, fmt: ExportFormat = "md") -> str:
    """Render a session (a `SessionLog` or a path) as `md`, `html` or `json`, secrets scrubbed."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if not isinstance(log, SessionLog):
        log = read_session(log, token_deltas=False)
    t = build_transcript(log)
    if fmt == "md":
        text = export_markdown(log, t)
    elif fmt == "json":
        return json_inert(Scrubber().scrub(export_json(log, t)))
    else:
        from tuiagents.session.export_html import export_html

        text = export_html(log, t)
    # The last step, over the whole document: whatever a message, a name or a path held, no escape
    # sequence, bidi control or lone surrogate is written (or printed, with no -o) live.
    return inert(Scrubber().scrub(text), tabs=False)
