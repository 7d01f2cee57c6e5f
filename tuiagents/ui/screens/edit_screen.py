"""Editing a draft or a code block: a TextArea (or $EDITOR), then the diff, then send.

The screen returns the new text, or None when cancelled. Nothing is sent before the diff was
shown: the first "Review" (ctrl+s) switches to the diff, the second sends. An empty text or an
unchanged one gets an inline explanation instead.
"""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
import tempfile

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from tuiagents.text import hidden_warning
from tuiagents.ui.actions import Where, bindings_of
from tuiagents.ui.safe_text import inert
from tuiagents.ui.widgets.long_lines import LONG_LINE, longest_line


DIFF_CONTEXT = 300
"""Characters of a long changed line shown around the change in the diff (the rest is elided)."""


def _common_prefix(a: str, b: str) -> int:
    """How many first characters `a` and `b` share (a binary search of slice comparisons: fast on 2 MB)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _cut(text: str, start: int, end: int) -> str:
    """`text[start:end]` widened by the context, saying how much is left out on each side."""
    start, end = max(0, start - DIFF_CONTEXT), min(len(text), end + DIFF_CONTEXT)
    head = f"…({start:,} characters)…" if start else ""
    tail = f"…({len(text) - end:,} characters)…" if end < len(text) else ""
    return head + text[start:end] + tail


def _focus_long_lines(lines: list[str]) -> list[str]:
    """Diff lines with each long one cut to the part that changed: a one-line replacement shows
    its two lines around their first and last differing characters, any other long line its ends.
    A 2 MB line shown whole would bury the change (and take seconds to draw)."""
    out = list(lines)
    index = 0
    while index < len(out):
        line = out[index]
        after = out[index + 1] if index + 1 < len(out) else ""
        if index < 2 or max(len(line), len(after)) <= LONG_LINE:  # the first two: the file headers
            index += 1
        elif line.startswith("-") and after.startswith("+"):
            old, new = line[1:], after[1:]
            prefix = _common_prefix(old, new)
            suffix = _common_prefix(old[prefix:][::-1], new[prefix:][::-1])
            out[index] = "-" + _cut(old, prefix, len(old) - suffix)
            out[index + 1] = "+" + _cut(new, prefix, len(new) - suffix)
            index += 2
        else:
            if len(line) > LONG_LINE:
                body = line[1:]
                out[index] = f"{line[0]}{body[:DIFF_CONTEXT]}…({len(body) - 2 * DIFF_CONTEXT:,} characters)…{body[-DIFF_CONTEXT:]}"
            index += 1
    return out


def diff_text(old: str, new: str, old_label: str = "draft", new_label: str = "your edit") -> Text:
    """A coloured unified diff of `old` → `new` (inert text); a long changed line shows the part
    that changed."""
    out = Text()
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="", n=2))
    for line in _focus_long_lines(lines):
        style = ("green" if line.startswith("+") else "red" if line.startswith("-")
                 else "cyan" if line.startswith("@@") else "dim")
        if line.startswith(("+++", "---")):
            style = "bold"
        out.append(inert(line) + "\n", style)
    return out


class EditScreen(ModalScreen[str | None]):
    """Edit `original`; returns the edited text once its diff was reviewed, or None."""

    CSS_PATH = "edit_screen.tcss"
    BINDINGS = bindings_of(Where.DIALOG, "edit")

    def __init__(self, original: str, title: str, *, language: str | None = None, send_label: str = "Send") -> None:
        super().__init__()
        self.original = original
        # The editor draws what it holds as it is: a model's escape sequences would reach the
        # terminal and a key would show whole. It holds the text as every view shows it instead,
        # and that shown text is what an edit sends.
        self.shown = inert(original, tabs=False)
        self.title_text = title
        self.language = language
        self.send_label = send_label
        self.reviewing = False

    def compose(self) -> ComposeResult:
        """Title, editor, diff (hidden at first), error line, buttons."""
        with Vertical(id="edit-dialog"):
            yield Label(Text(self.title_text), id="edit-title")
            # The editor shows hidden characters raw (zero-width ones not at all): say so.
            yield Static(Text(""), id="edit-hidden")
            about = self.about()
            if about is not None:
                with VerticalScroll(id="edit-about-scroll"):
                    yield Static(about, id="edit-about")
            if self.shown != self.original:
                yield Static(Text("Control characters, hidden characters and keys are shown as symbols "
                                  "(␛, ⟨RLO⟩, sk-…abcd); what you send is the text shown here.",
                                  style="dim"), id="edit-note")
            longest = longest_line(self.shown)
            if longest > LONG_LINE:
                # wrapped, such a line costs every key seconds (see widgets/long_lines.py)
                yield Static(Text(f"Wrapping is off: a line here is {longest:,} characters long, too long to wrap "
                                  "while you type. Scroll sideways (ctrl+End: the end), or press ctrl+o to edit "
                                  "it in $EDITOR.", style="dim"), id="edit-unwrapped")
            area = TextArea(self.shown, id="edit-area", soft_wrap=longest <= LONG_LINE,
                            show_line_numbers=bool(self.language), tab_behavior="indent")
            if self.language:
                try:
                    area.language = self.language
                except Exception:  # noqa: BLE001 - no tree-sitter grammar: plain text is fine
                    pass
            yield area
            with VerticalScroll(id="edit-diff-scroll"):
                yield Static(id="edit-diff")
            yield Static(Text(""), id="edit-error")
            with Horizontal(id="edit-buttons"):
                yield Button(Text("Review diff [ctrl+s]"), variant="primary", id="edit-review", action="screen.review")
                yield Button(Text("Back to editing [esc]"), id="edit-back", action="screen.back")
                yield Button(Text("Open in $EDITOR [ctrl+o]"), id="edit-external", action="screen.external")
                yield Button(Text("Cancel [esc]"), variant="error", id="edit-cancel", action="screen.close_edit")

    def on_mount(self) -> None:
        """Focus the editor."""
        self._set_reviewing(False)
        self._show_hidden(self.original)
        area = self.query_one(TextArea)
        area.move_cursor(area.document.end)  # most edits add to the end of the draft
        area.focus()

    def about(self) -> RenderableType | None:
        """What the person should see while editing, above the editor (None: nothing)."""
        return None

    def problem(self, text: str) -> str | None:
        """Why `text` cannot be sent, saying what to fix (None: it can); checked before the diff."""
        return None

    def diff(self, text: str) -> RenderableType:
        """The diff shown before sending `text`."""
        return diff_text(self.shown, text)

    @property
    def text(self) -> str:
        """The text in the editor."""
        return self.query_one(TextArea).text

    def _error(self, message: str) -> None:
        self.query_one("#edit-error", Static).update(Text(message, style="bold"))

    def _set_reviewing(self, reviewing: bool) -> None:
        self.reviewing = reviewing
        self.query_one("#edit-area").display = not reviewing
        self.query_one("#edit-diff-scroll").display = reviewing
        self.query_one("#edit-back").display = reviewing
        self.query_one("#edit-external").display = not reviewing
        label = f"{self.send_label} [ctrl+s]" if reviewing else "Review diff [ctrl+s]"
        self.query_one("#edit-review", Button).label = Text(label)
        # Esc leaves the diff first (back to the edit), so it is the cancel key only while editing
        self.query_one("#edit-cancel", Button).label = Text("Cancel" if reviewing else "Cancel [esc]")

    def action_review(self) -> None:
        """First press: check the text and show the diff. Second press: send."""
        text = self.text
        if not text.strip():
            self._error("The edit is empty: type the text to send, or press Esc to cancel.")
            return
        if text == self.shown:
            self._error("Nothing changed: edit the text, or press Esc and approve the draft as it is.")
            return
        problem = self.problem(text)
        if problem is not None:
            self._error(problem)
            return
        self._error("")
        if not self.reviewing:
            self.query_one("#edit-diff", Static).update(self.diff(text))
            self._set_reviewing(True)
            self.query_one("#edit-review", Button).focus()
            return
        self.dismiss(text)

    def action_back(self) -> None:
        """Leave the diff and edit again."""
        self._set_reviewing(False)
        self.query_one(TextArea).focus()

    def action_cancel(self) -> None:
        """Esc: from the diff, back to editing (the edit kept); from the editor, close without sending."""
        if self.reviewing:
            self.action_back()
        else:
            self.action_close_edit()

    def action_close_edit(self) -> None:
        """Close without sending (the Cancel button, from the editor or the diff)."""
        self.dismiss(None)

    def action_external(self) -> None:
        """Edit the text in $VISUAL / $EDITOR while the app is suspended."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self._error("Set $EDITOR (for example: export EDITOR=nano) to edit outside the app.")
            return
        suffix = f".{self.language}" if self.language and self.language.isalnum() else ".md"
        with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False, encoding="utf-8") as handle:
            handle.write(self.text)
            path = handle.name
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), path], check=False)
            with open(path, encoding="utf-8", errors="replace") as handle:
                self.query_one(TextArea).text = inert(handle.read(), tabs=False)
        except Exception as exc:  # noqa: BLE001 - e.g. suspend is not supported in this terminal
            self._error(f"Could not open {editor}: {exc}")
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    def _show_hidden(self, text: str) -> None:
        warning = hidden_warning(text)
        label = self.query_one("#edit-hidden", Static)
        label.display = warning is not None
        label.update(Text(warning or ""))

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self._error("")
        # The draft's own hidden characters are symbols in the editor now; warn about them until
        # the text changes, then about any the person pastes in.
        self._show_hidden(self.original if self.text == self.shown else self.text)
