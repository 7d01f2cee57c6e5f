"""The HTML export: one standalone file (inline CSS, no scripts, no external assets).

Every piece of text is HTML-escaped; each message's Markdown is rendered with the rules of the
screen (`tuiagents.render.markdown`: raw HTML shown as text, line breaks kept, fenced code
highlighted); code is highlighted by Pygments with inline styles, so the file looks right when
opened from anywhere, mailed, or attached to a ticket. Output and tool arguments stay verbatim.
"""

from __future__ import annotations

from html import escape

from tuiagents.engine.decisions import DecisionKind, RequestKind
from tuiagents.engine.usage import format_cost
from tuiagents.render.markdown import code_html as _code_html
from tuiagents.render.markdown import markdown_html
from tuiagents.session.export_lines import (
    MD_MESSAGE_LIMIT, clock, context_words, decision_line, execution_line,
)
from tuiagents.session.export_lines import title as task_title
from tuiagents.session.reader import SessionLog
from tuiagents.session.secrets import scrub
from tuiagents.session.transcript import (
    ChatEntry, CodeEntry, DecisionEntry, ExecutionEntry, TranscriptMessage, NoticeEntry, SpeakerEntry, StopEntry, ToolEntry,
    SessionTranscript,
)

CODE_STYLE = "monokai"

CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1d1f21;background:#fafafa}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.2rem .7rem;border:1px solid #ddd;text-align:left}
td.n{text-align:right}
.entry{margin:.8rem 0;padding:.5rem .8rem;border-left:4px solid #bbb;background:#fff;border-radius:4px}
.message{border-color:#3b82f6}.human{border-color:#16a34a}.decision{border-color:#a855f7;background:#faf5ff}
.code,.execution{border-color:#f59e0b}.tool{border-color:#06b6d4}.notice{border-color:#9ca3af;color:#444}
.notice.warning{border-color:#eab308}.notice.error{border-color:#dc2626}.stop{border-color:#111;font-weight:600}
.speaker{border-color:#d1d5db;font-style:italic}.chat{border-color:#64748b;background:#f8fafc}
.meta{color:#666;font-size:.85em}.who{font-weight:600}
pre{white-space:pre-wrap;word-wrap:break-word;margin:.3rem 0;padding:.5rem;background:#f3f4f6;border-radius:4px;
font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.hl pre{background:#272822;color:#f8f8f2}
.label{font-size:.85em;color:#555;margin-top:.4rem}.orig pre{background:#fef2f2}.edited pre{background:#f0fdf4}
.md{overflow-wrap:anywhere}.md p{margin:.3rem 0}.md code{font:13px ui-monospace,Menlo,Consolas,monospace;
background:#f3f4f6;padding:0 .2rem;border-radius:3px}.md pre code{background:none;padding:0}
.md blockquote{margin:.3rem 0;padding-left:.8rem;border-left:3px solid #ddd;color:#444}
.md ol.typed{list-style:none;padding-left:1rem}.md .marker{color:#666}.md .lang{font-size:.8em;color:#666}
.md h1,.md h2,.md h3{font-size:1.1rem;margin:.5rem 0}.orig .md{background:#fef2f2}.edited .md{background:#f0fdf4}
"""


def _pre(text: str, cls: str = "") -> str:
    return f'<div class="{cls}"><pre>{escape(text)}</pre></div>' if cls else f"<pre>{escape(text)}</pre>"


def _md(text: str, cls: str = "") -> str:
    """A message's Markdown, rendered as on screen (secrets removed first: the renderer would only
    mask them, as the screen does); a message longer than MD_MESSAGE_LIMIT verbatim."""
    if len(text) > MD_MESSAGE_LIMIT:  # rendering would take seconds: verbatim, every character kept
        return _pre(text, cls)
    inner = f'<div class="md">{markdown_html(scrub(text), CODE_STYLE)}</div>'
    return f'<div class="{cls}">{inner}</div>' if cls else inner


def code_html(code: str, language: str) -> str:
    """Highlighted code (inline styles); unknown languages are shown as plain text."""
    return _code_html(scrub(code), language, CODE_STYLE)


def _labelled(label: str, text: str, cls: str = "", markdown: bool = False) -> str:
    body = _md(text, cls) if markdown else _pre(text, cls)
    return f'<div class="label">{escape(label)}</div>{body}'


def _entry(e, shown: set[str]) -> str:
    """One transcript entry; one said inside a chat within the run is indented under it."""
    html = _entry_html(e, shown)
    if not html or not e.depth:
        return html
    return f'<div class="inner" style="margin-left:{1.5 * e.depth:g}rem">{html}</div>'


def _chat_html(e: ChatEntry, at: str) -> str:
    """A chat inside the run beginning (who, its task) or ending (why, the summary it handed on)."""
    where = escape(e.where or e.title)
    if e.ended:
        summary = _labelled("Summary handed on:", e.summary, markdown=True) if e.summary else ""
        return (f'<div class="entry chat-end"><span class="who">◂ {where} ended</span> '
                f"{escape(e.reason)} {at}{summary}</div>")
    of = f", the reply of {escape(e.owner)}" if e.owner else ""
    again = " (resumed)" if e.resumed else ""
    return (f'<h3 class="chat">▸ {where}{again}</h3><div class="entry chat-start">'
            f"{escape(', '.join(e.agents))}{of} {at}{_labelled('Task:', e.task, markdown=True)}</div>")


def _entry_html(e, shown: set[str]) -> str:
    at = f'<span class="meta">{clock(e.ts)}</span>'
    if isinstance(e, ChatEntry):
        return _chat_html(e, at)
    if isinstance(e, TranscriptMessage):
        if e.echo:
            return ""
        to = f" → {escape(e.recipient)}" if e.recipient else ""
        tags = ([e.origin] if e.origin != "agent" else []) + (["edited by a human"] if e.human_edited else [])
        tag = f' <span class="meta">({escape(", ".join(tags))})</span>' if tags else ""
        where = f'<span class="meta">[{escape(e.where)}]</span> ' if e.where else ""
        parts = [f'<div class="entry message {"human" if e.origin == "human" else ""}">'
                 f'<div>{where}<span class="who">{escape(e.sender)}{to}</span>{tag} {at}</div>']
        if e.content:
            parts.append(_md(e.content) if e.origin in ("agent", "human") else _pre(e.content))
        if e.human_edited and e.original is not None and e.original not in shown:
            parts.append(_labelled("Original, before the edit:", e.original, "orig", markdown=True))
        for c in e.tool_calls:
            parts.append(_labelled(f"Calls tool {c.name} with:", c.arguments))
        for r in e.tool_results:
            parts.append(_labelled(f"Result of {r.name}" + (" (error)" if r.is_error else "") + ":", r.content))
        return "".join(parts) + "</div>"
    if isinstance(e, DecisionEntry):
        d = e.decision
        parts = [f'<div class="entry decision"><span class="who">Decision</span> {at} '
                 f"{escape(decision_line(e))}"]
        if d.kind == DecisionKind.EDIT:
            markdown = e.request_kind not in (RequestKind.CODE, RequestKind.TOOL_CALL)
            if e.proposed is not None:
                parts.append(_labelled("Original:", e.proposed, "orig", markdown))
                shown.add(e.proposed)
            parts.append(_labelled("Edited to:", d.content or "", "edited", markdown))
        elif d.kind in (DecisionKind.REJECT, DecisionKind.INJECT, DecisionKind.REPLY) and d.content:
            label = {DecisionKind.REJECT: "Feedback:", DecisionKind.INJECT: "Message:",
                     DecisionKind.REPLY: "Reply:"}[d.kind]
            parts.append(_labelled(label, d.content, markdown=True))
        return "".join(parts) + "</div>"
    if isinstance(e, CodeEntry):
        where = f" (would run on {escape(e.executor)})" if e.executor else ""
        blocks = "".join(code_html(b.code, b.language) for b in e.blocks)
        return (f'<div class="entry code"><span class="who">Code proposed by {escape(e.agent)}</span>'
                f"{where} {at}{blocks}</div>")
    if isinstance(e, ExecutionEntry):
        out = _labelled("Output:", e.output) if e.output else '<div class="label">(no output)</div>'
        return (f'<div class="entry execution"><span class="who">Ran {escape(e.language)} code from '
                f"{escape(e.agent)}</span> on {escape(e.executor)}: {escape(execution_line(e))} {at}"
                f"{code_html(e.code, e.language)}{out}</div>")
    if isinstance(e, ToolEntry):
        res = ""
        if e.result is not None:
            res = _labelled("Error:" if e.result.is_error else "Result:", e.result.content)
        return (f'<div class="entry tool"><span class="who">Tool call</span> {escape(e.agent)} → '
                f"<b>{escape(e.call.name)}</b> {at}{_pre(e.call.arguments)}{res}</div>")
    if isinstance(e, SpeakerEntry):
        note = f" — {escape(e.note)}" if e.note else ""
        return (f'<div class="entry speaker">Next speaker: {escape(e.agent)} ({escape(e.method)}){note} '
                f"{at}</div>")
    if isinstance(e, NoticeEntry):
        who = f" ({escape(e.agent)})" if e.agent else ""
        return (f'<div class="entry notice {escape(e.level)}">{escape(e.level)}{who}: {escape(e.text)} '
                f"{at}</div>")
    if isinstance(e, StopEntry):
        return (f'<div class="entry stop">Run stopped: {escape(e.reason)} ({escape(e.stop_kind.value)}) '
                f"{at}</div>")
    return ""


def _summary(log: SessionLog, t: SessionTranscript) -> str:
    h = log.header
    agents = ", ".join(f"{a.name} ({a.kind}{', ' + a.model if a.model else ''})" for a in h.agents)
    rows = [("Run", h.run_id), ("Created", h.created), ("Team", f"{h.team} ({h.team_kind})"),
            ("Agents", agents or ", ".join(t.agents)), ("Status", f"{t.status}: {t.stop_reason}"),
            ("Turns", str(t.turns)), ("Messages", str(t.messages)),
            ("Tokens", f"{t.usage.total_tokens:,}"), ("Cost", format_cost(t.usage.cost)),
            ("tuiagents", h.tuiagents_version)]
    if h.forked_from:
        rows.append(("Forked from", f"{h.forked_from.path} at event {h.forked_from.at_event}"))
    if h.imported_from:
        rows.append(("Imported from", h.imported_from))
    if (context := context_words(h.config)) is not None:
        rows.append(("Context", context))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    note = f'<p class="entry notice warning">{escape(log.notice)}</p>' if log.notice else ""
    return f"<table>{table}</table>{note}<h2>Task</h2>{_md(h.task)}"


def _usage(t: SessionTranscript) -> str:
    rows = []
    for name, u in [*t.usage.by_agent.items(), ("total", t.usage)]:
        rows.append(f"<tr><td>{escape(name)}</td><td class=n>{u.calls}</td><td class=n>{u.cached_calls}</td>"
                    f"<td class=n>{u.prompt_tokens:,}</td><td class=n>{u.completion_tokens:,}</td>"
                    f"<td class=n>{format_cost(u.cost)}</td></tr>")
    stop = escape(t.stop_reason) + (f" ({escape(t.stop.stop_kind.value)})" if t.stop else "")
    summary = _labelled("Summary:", t.stop.summary, markdown=True) if t.stop and t.stop.summary else ""
    return (f"<h2>Stop reason</h2><p>{stop}</p>{summary}<h2>Usage</h2><table><tr><th>Agent</th><th>Calls</th>"
            "<th>Cached</th><th>Prompt tokens</th><th>Completion tokens</th><th>Cost</th></tr>"
            f"{''.join(rows)}</table>")


def export_html(log: SessionLog, t: SessionTranscript) -> str:
    """The session as one standalone HTML page."""
    title = f"Session {log.header.team}: {task_title(log.header.task)}"
    shown: set[str] = set()
    body = "\n".join(filter(None, (_entry(e, shown) for e in t.entries)))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1>{_summary(log, t)}<h2>Conversation</h2>\n{body}\n{_usage(t)}"
            "<p class=\"meta\">Exported by tuiagents. Times are UTC.</p></body></html>\n")
