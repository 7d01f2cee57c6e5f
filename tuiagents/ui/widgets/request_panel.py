"""The panel that asks you: the current request, its controls, and the queue behind it.

A code request shows every block highlighted with its language and where it would run (the
executor and its limits: image, network, memory, timeout), with a warning line above any block that
holds invisible or direction-changing characters (shown as ``⟨RLO⟩``...). A message request
previews the draft with the renderer of the agent's pane (`tuiagents.render.message`), so what you
approve reads the same in both places. Every control is a button labelled with its current key, so
the panel is fully usable with the mouse; the keys themselves are screen bindings.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Static

from tuiagents.engine.decisions import Decision, DecisionKind, DecisionRequest, RequestKind
from tuiagents.engine.events import DecisionRequested
from tuiagents.render.message import Cut, code_renderable, cut_for_view, message_renderable, more_text
from tuiagents.text import hidden_warning
from tuiagents.ui.actions import BY_ID
from tuiagents.ui.safe_text import inert, one_line
from tuiagents.ui.widgets.tool_about import tool_about
from tuiagents.ui.widgets.transcript import Transcript

#: Seconds an answered request's box stays on screen in its answered state (unless another request
#: or the end of the run replaces it first): the answer shows in the next frame, without the
#: whole-screen re-layout that hiding the box costs (about 45 ms at 160x48), and the engine's work follows.
ANSWERED_HOLD = 1.5
PREVIEW_LINES = 6
PREVIEW_CHARS = 2_000
TOOL_BASE = 1000  # "see all" of tool call n is show_full(TOOL_BASE + n); of code block i, show_full(i)

_KIND_LABEL = {RequestKind.MESSAGE: "message", RequestKind.CODE: "code", RequestKind.TOOL_CALL: "tool call",
               RequestKind.HUMAN_INPUT: "your reply", RequestKind.SPEAKER: "next speaker",
               RequestKind.HANDOFF: "handoff"}


#: The buttons of each kind of request, in order (the registry says which apply and their usual words).
_BUTTONS: dict[RequestKind, tuple[str, ...]] = {
    RequestKind.CODE: ("run_code", "approve_session", "edit", "skip", "reply", "stop"),
    RequestKind.SPEAKER: ("next_speaker", "stop"),
    RequestKind.HANDOFF: ("approve", "approve_session", "next_speaker", "reject", "stop"),
    RequestKind.HUMAN_INPUT: ("reply", "approve", "stop"),
    RequestKind.MESSAGE: ("approve", "approve_session", "edit", "reject", "skip", "inject", "stop"),
    RequestKind.TOOL_CALL: ("approve", "approve_session", "edit", "reject", "skip", "reply", "stop"),
}


def _words(bid: str, request: DecisionRequest) -> tuple[str, str] | None:
    """A button's label and variant where this request says it better than the registry's words."""
    kind = request.kind
    if kind == RequestKind.CODE and bid == "approve_session":
        langs = ", ".join(sorted(request.languages)) or "code"
        return f"Always allow {one_line(request.agent, 16)}'s {langs}", "primary"
    if kind == RequestKind.CODE and bid == "edit":
        return "Edit, then run", "default"
    if kind == RequestKind.HUMAN_INPUT and bid == "approve":
        return ("End the run" if request.ends_run else "Let it answer"), "success"
    if kind == RequestKind.TOOL_CALL and bid == "approve":
        return "Run tool", "success"
    if kind == RequestKind.TOOL_CALL and bid == "approve_session" and len(request.tool_calls) == 1:
        return f"Always run {one_line(request.tool_calls[0].name, 24)}", "primary"
    if kind == RequestKind.TOOL_CALL and bid == "edit":
        return "Edit arguments…", "default"
    if kind in (RequestKind.CODE, RequestKind.TOOL_CALL) and bid == "reply":
        return "Reply instead…", "default"
    if kind == RequestKind.HANDOFF:
        return {"approve": (f"Hand to {one_line(request.target or '', 16)}", "success"),
                "approve_session": (f"Always allow {one_line(request.agent, 16)}'s handoffs", "primary"),
                "next_speaker": ("Redirect…", "primary"), "reject": ("Refuse…", "warning")}.get(bid)
    return None


def controls_for(request: DecisionRequest) -> list[tuple[str, str, str]]:
    """(binding id, label, variant) of the buttons a request offers, in order: the actions that answer it."""
    out: list[tuple[str, str, str]] = []
    for bid in _BUTTONS.get(request.kind, ()):
        spec = BY_ID[bid]
        if spec.answers_request(request):
            label, variant = _words(bid, request) or (spec.button, spec.variant)
            out.append((bid, label, variant))
    return out


def _see_all(what: int) -> Callable[[Cut], Text]:
    def line(cut: Cut) -> Text:
        style = Style(color="yellow", bold=True, meta={"@click": f"show_full({what})"})
        return more_text(cut, "not shown: click here to see all of it before you decide", style)
    return line


def request_body(request: DecisionRequest, code_style: str) -> RenderableType:
    """What the request is about: code, tool calls, a draft preview or the prompt."""
    parts: list[RenderableType] = []
    if request.kind == RequestKind.CODE:
        for i, block in enumerate(request.code_blocks, 1):
            head = Text()
            head.append(f"{inert(block.language) or 'code'}", "bold")
            head.append(f"  block {i} of {len(request.code_blocks)}" if len(request.code_blocks) > 1 else "")
            if block.filename:
                head.append(f"  {inert(block.filename)}", "italic")
            if not block.runnable:
                head.append("  (not runnable: shown only)", "dim")
            parts.append(head)
            parts.append(code_renderable(block.code, block.language or "text", code_style=code_style,
                                         line_numbers=True, more=_see_all(i)))
    elif request.kind == RequestKind.TOOL_CALL:
        for n, call in enumerate(request.tool_calls):
            try:
                args = json.dumps(json.loads(call.arguments or "{}"), indent=2, ensure_ascii=False)
            except ValueError:
                args = call.arguments
            warning = hidden_warning(call.name + args)
            if warning:
                parts.append(Text(warning, style="bold red"))
            cut = cut_for_view(args)
            parts.append(Text.assemble((f"⚙ {inert(call.name)}", "bold"), "(", inert(cut.text), ")"))
            if cut.cut:
                parts.append(_see_all(TOOL_BASE + n)(cut))
        if len(request.tool_calls) == 1:  # what the tool does and takes, where the person decides
            parts.append(tool_about(request.tool_info, request.tool_calls[0].name))
    elif request.kind == RequestKind.MESSAGE:
        warning = hidden_warning(request.content)
        if warning:
            parts.append(Text(warning, style="bold red"))

        def more(cut: Cut) -> Text:
            style = Style(dim=True, meta={"@click": "show_full(0)"})
            return more_text(cut, f"in {inert(request.agent)}'s pane; click here to see all", style)

        parts.append(message_renderable(request.content, code_style=code_style, more=more,
                                        empty=Text("(empty draft)", style="italic"), max_lines=PREVIEW_LINES,
                                        max_chars=PREVIEW_CHARS))
        for call in request.tool_calls:
            parts.append(Text(f"⚙ then calls {one_line(call.name, 60)}({one_line(call.arguments[:2000], 300)})",
                              style="bold"))
    elif request.kind == RequestKind.SPEAKER:
        parts.append(Text("Candidates: " + ", ".join(inert(c) for c in request.candidates)))
    elif request.kind == RequestKind.HANDOFF:
        parts.append(Text.assemble((inert(request.agent), "bold"), " ⇢ ", (inert(request.target or "?"), "bold"),
                                   "   or redirect to: ",
                                   ", ".join(inert(c) for c in request.candidates if c != request.target)))
    return Group(*parts) if parts else Text("")


def runs_on(request: DecisionRequest) -> Text | None:
    """Where a code request's blocks would run (None for other requests): shown beside the
    decision, outside the scrolled code, so it is on screen whatever the terminal's size."""
    if request.kind != RequestKind.CODE:
        return None
    where = inert(request.executor or "no executor")
    return Text.assemble(("Runs on: ", "bold"), (where, "bold red" if "UNSANDBOXED" in where else ""))


class RequestBody(Static):
    """The body of the shown request; a click on "see all" opens the whole draft or block."""

    request: DecisionRequest | None = None

    def action_show_full(self, what: int) -> None:
        """Open the draft (`what` 0), code block `what` (1-based) or tool call `what - TOOL_BASE` in full."""
        request = self.request
        if request is None:
            return
        if what >= TOOL_BASE and what - TOOL_BASE < len(request.tool_calls):
            call = request.tool_calls[what - TOOL_BASE]
            self.post_message(Transcript.ShowFull(f"{call.name} from {request.agent}: all its arguments", call.arguments))
        elif what and 0 < what <= len(request.code_blocks):
            block = request.code_blocks[what - 1]
            self.post_message(Transcript.ShowFull(f"{block.language or 'code'} from {request.agent}: all of it",
                                                  block.code))
        else:
            self.post_message(Transcript.ShowFull(f"{request.agent}'s draft: the whole message", request.content))


class RequestPanel(Vertical):
    """Shows one pending request with its buttons, and the other pending requests as a queue."""

    DEFAULT_CSS = """
    RequestPanel { height: auto; max-height: 60%; border-top: thick $warning; background: $boost;
                   padding: 0 1; display: none; }
    RequestPanel.-shown { display: block; }
    RequestPanel #request-title { text-style: bold; color: $warning; height: auto; }
    RequestPanel #request-scroll { height: auto; max-height: 22; }
    RequestPanel #request-body { height: auto; }
    RequestPanel #request-where { height: auto; display: none; }
    RequestPanel #request-where.-shown { display: block; }
    RequestPanel Horizontal { height: auto; }
    RequestPanel Button { margin: 0 1 0 0; min-width: 8; }
    RequestPanel #request-queue { color: $text-muted; }
    RequestPanel #request-queue Button { background: $panel; }
    """

    def __init__(self, key_for: Callable[[str], str], answer_of: Callable[[str], Decision | None],
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.key_for = key_for
        #: the answer a request got, as the run's handle knows it (None: not answered, or a replay)
        self.answer_of = answer_of
        self.shown_id: str | None = None
        self._queue_ids: list[str] = []
        self._shown_event: DecisionRequested | None = None
        self._hold: Timer | None = None
        #: True while the box shows the request just answered (its title says how).
        self.answered = False

    def compose(self) -> ComposeResult:
        """Title, scrollable body, controls, queue."""
        yield Static(id="request-title")
        with VerticalScroll(id="request-scroll"):
            yield RequestBody(id="request-body")
        yield Static(id="request-where")
        yield Horizontal(id="request-buttons")
        yield Horizontal(id="request-queue")

    def show(self, pending: list[DecisionRequested], current: DecisionRequested | None, code_style: str,
             hold: bool = True) -> None:
        """Show `current` (one of `pending`); when nothing is pending, the request just answered in
        its answered state for a moment (`hold`: while the run goes on), then nothing."""
        if current is None:
            if not (hold and self._show_answered()):
                self._end_hold()
                self.set_class(False, "-shown")
                self.shown_id, self._shown_event = None, None
            return
        self._end_hold()
        self.set_class(True, "-shown")
        self._shown_event = current
        request = current.request
        n = len(pending)
        pos = next((i for i, p in enumerate(pending) if p is current), 0) + 1
        title = Text()
        title.append(f"⏳ Waiting for you ({pos} of {n}) · {_KIND_LABEL.get(request.kind, request.kind.value)}"
                     f" from {one_line(request.agent, 24)}: ")
        title.append(inert(request.prompt) or "decide", "")
        self.query_one("#request-title", Static).update(title)
        if self.shown_id != request.id:
            self.shown_id = request.id
            self.show_body(request, code_style)
            buttons = self.query_one("#request-buttons", Horizontal)
            buttons.remove_children()
            buttons.mount_all([
                Button(Text(f"{label} [{self.key_for(bid)}]"), variant=variant, compact=True,
                       action=f"screen.{bid}", classes=f"btn-{bid}")
                for bid, label, variant in controls_for(request)
            ])
        others = [p for p in pending if p is not current]
        ids = [p.request.id for p in others]
        if ids != self._queue_ids:
            self._queue_ids = ids
            queue = self.query_one("#request-queue", Horizontal)
            queue.remove_children()
            if others:
                queue.mount(Static(Text(f"Queued ({len(others)}): "), classes="queue-label"))
                queue.mount_all([
                    Button(Text(f"{one_line(p.request.agent, 16)}: {_KIND_LABEL.get(p.request.kind, '?')}"),
                           compact=True, action=f"screen.select_request('{p.request.id}')")
                    for p in others
                ])

    def show_body(self, request: DecisionRequest, code_style: str) -> None:
        """Show what `request` is about: its body (scrolled) and, for code, where it runs."""
        body = self.query_one("#request-body", RequestBody)
        body.request = request
        body.update(request_body(request, code_style))
        where = runs_on(request)
        line = self.query_one("#request-where", Static)
        line.set_class(where is not None, "-shown")
        line.update(where or "")

    # -- the answered state -------------------------------------------------------------------------
    def _show_answered(self) -> bool:
        """Keep the request just answered on screen, its title saying how (`answered`).

        Only the title changes: the box keeps its size and its styles (no class, no disabled
        buttons, each of which restyles widgets), so the answer is one line's repaint; the
        buttons answer nothing now (nothing is current). It hides `ANSWERED_HOLD` seconds later.
        """
        event = self._shown_event
        decision = self.answer_of(event.request.id) if event is not None else None
        if decision is None or not self.has_class("-shown"):
            return False
        if self.answered:
            return True  # already showing it: the hold timer hides it
        self.query_one("#request-title", Static).update(answered_title(event, decision))
        self.answered = True
        self._hold = self.set_timer(ANSWERED_HOLD, self._release)
        return True

    def _release(self) -> None:
        """The hold is over: hide the answered box (unless a new request took its place)."""
        self._hold = None
        if self.answered:
            self.answered = False
            self.set_class(False, "-shown")
            self.shown_id, self._shown_event = None, None

    def _end_hold(self) -> None:
        """A request is shown (again): leave the answered state."""
        if self._hold is not None:
            self._hold.stop()
            self._hold = None
        self.answered = False


def answered_title(event: DecisionRequested, decision: Decision) -> Text:
    """The answered box's title: what was decided on whose request, and that the run goes on."""
    request = event.request
    what = _KIND_LABEL.get(request.kind, request.kind.value)
    verb = _ANSWERED_VERB.get(decision.kind, decision.kind.value)
    if request.kind == RequestKind.HANDOFF and decision.kind == DecisionKind.CHOOSE_SPEAKER:
        verb = f"Redirected to {one_line(decision.target or '', 24)}"
    return Text(f"✓ {verb}: {what} from {one_line(request.agent, 24)} — the run goes on…", style="bold green")


_ANSWERED_VERB = {DecisionKind.APPROVE: "Approved", DecisionKind.EDIT: "Edited and sent",
                  DecisionKind.REJECT: "Rejected, feedback sent", DecisionKind.INJECT: "Message injected",
                  DecisionKind.CHOOSE_SPEAKER: "Speaker chosen", DecisionKind.STOP: "Stopping the run",
                  DecisionKind.REPLY: "Reply sent", DecisionKind.SKIP: "Skipped"}
