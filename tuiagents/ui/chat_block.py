"""A nested chat inside its owner's pane: one transcript entry that holds the chat's own entries.

The block's header says whose chat it is ("⤷ nested chat with critic") and how it stands (running,
or how it ended); below it, indented, the chat's messages, drafts, code and notices, as the feed
renders them anywhere else. Once the chat ended the block folds to its summary; a click on the
header, or the `toggle_fold` key on the focused pane, unfolds it again. A nested chat inside a
nested chat is a block inside the block.

`BlockSink` lets the feed put entries into a block exactly as it puts them into a pane's
transcript (`add`, `changed`): what a block holds changes, and the pane shows it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.text import Text

from tuiagents.ui.entries import Entry, RenderContext
from tuiagents.ui.safe_text import inert, one_line

INDENT = 2  # columns the chat's entries are indented under the header


@dataclass(eq=False)
class ChatBlockEntry(Entry):
    """A chat inside the run, shown in the pane of the agent whose reply it is."""

    title: str = ""
    children: list[Entry] = field(default_factory=list)
    folded: bool = False
    ended: bool = False
    reason: str = ""  # why it ended
    summary: str = ""  # what it handed back

    def toggle(self) -> None:
        """Fold or unfold the block."""
        self.folded = not self.folded
        self.touch()

    def find(self, key: str) -> Entry | None:
        """The entry with `key` inside this block (or a block inside it), or None."""
        for child in self.children:
            if child.key == key:
                return child
            found = child.find(key) if isinstance(child, ChatBlockEntry) else None
            if found is not None:
                return found
        return None

    def header(self, ctx: RenderContext) -> Text:
        """"⤷ nested chat with critic", its state, and what a click does."""
        head = Text(no_wrap=True, overflow="ellipsis")
        click = Style(meta={"@click": f"toggle_fold('{self.key}')"})
        head.append(f"{'▸' if self.folded else '▾'} ⤷ {inert(self.title)}", ctx.style("code-title") + click)
        state = f"ended: {inert(self.reason)}" if self.ended else "running"
        head.append(f"  {state}", ctx.style("success" if self.ended else "warning") + click)
        shown = len(self.children)
        hint = f"  · {shown} entr{'y' if shown == 1 else 'ies'} folded" if self.folded else "  · click to fold"
        head.append(hint, ctx.style("muted") + click)
        return head

    def renderable(self, ctx: RenderContext) -> RenderableType:
        """The header, then the summary (folded) or every entry of the chat, indented."""
        if self.folded:
            summary = Text(f"summary: {inert(one_line(self.summary, 400))}" if self.summary else "(no summary)",
                           style=ctx.style("muted"))
            return Group(self.header(ctx), Padding(summary, (0, 0, 0, INDENT)), Text(""))
        inner = [child.renderable(ctx) for child in self.children] or [Text("(nothing said yet)",
                                                                             style=ctx.style("muted"))]
        return Group(self.header(ctx), Padding(Group(*inner), (0, 0, 0, INDENT)))

    def estimate(self, width: int) -> int:
        """Header and summary when folded; else header and the entries at the indented width."""
        if self.folded:
            return 3
        return 1 + sum(child.estimate(max(1, width - INDENT)) for child in self.children)

    def plain_text(self) -> str:
        """The header, then the summary (folded) or the entries."""
        head = f"⤷ {self.title}  " + (f"ended: {self.reason}" if self.ended else "running")
        if self.folded:
            return f"{head}\nsummary: {self.summary}"
        return "\n\n".join([head, *(child.plain_text() for child in self.children)])


class BlockSink:
    """Where the feed puts a nested chat's entries: into its block, which `changed` shows again."""

    def __init__(self, block: ChatBlockEntry, changed: Callable[[Entry], None]) -> None:
        self.block = block
        self._changed = changed

    def add(self, entry: Entry) -> Entry:
        """Append `entry` to the block."""
        self.block.children.append(entry)
        self._changed(self.block)
        return entry

    def changed(self, entry: Entry) -> None:
        """An entry of the block changed: the block is shown again."""
        self._changed(self.block)
