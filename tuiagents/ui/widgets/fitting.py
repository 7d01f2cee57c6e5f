"""What gives way when the terminal is narrow: the footer's keys by rank (so at 80 columns it still
shows how to decide, where help is and how to quit) and a table's columns by a ladder of steps
(shrink these, then drop that), each only as far as the width needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tuiagents.ui.actions import BY_ID


# -- a table's columns ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Shrink:
    """Take the overflow from `columns` (the widest first), none below `floor` cells."""

    columns: tuple[str, ...]
    floor: int


@dataclass(frozen=True)
class Drop:
    """Hide `column`."""

    column: str


Step = Shrink | Drop


def fit_columns(natural: dict[str, int], width: int, ladder: list[Step], padding: int = 2) -> dict[str, int]:
    """The columns to show and their widths: `natural` (content widths, in display order) made to
    fit `width`, each column taking `padding` cells more, by following `ladder` as far as needed."""
    widths = dict(natural)

    def overflow() -> int:
        return sum(w + padding for w in widths.values()) - width

    for step in ladder:
        if overflow() <= 0:
            break
        if isinstance(step, Drop):
            widths.pop(step.column, None)
            continue
        while overflow() > 0:
            shrinkable = [c for c in step.columns if c in widths and widths[c] > step.floor]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda c: widths[c])
            widths[widest] -= 1
    spare = -overflow()
    for column in [c for s in ladder if isinstance(s, Shrink) for c in s.columns]:
        if column in widths and spare > 0:  # give back to what was cut, in the ladder's order
            more = min(spare, natural[column] - widths[column])
            widths[column] += more
            spare -= more
    return widths


# -- the footer's keys ----------------------------------------------------------------------------
#: Rank of an action without a registry entry (Textual's own bindings): the first to go.
UNRANKED = 9


def footer_rank(binding: Binding) -> int:
    """How long `binding` stays in a narrow footer: 0 stays, higher ranks go first."""
    spec = BY_ID.get(binding.id or "")
    return spec.footer_rank if spec is not None else UNRANKED


def key_width(key_display: str, description: str, compact: bool = False) -> int:
    """The cells one footer key takes: its key and description with the footer's padding."""
    return len(key_display) + len(description) + (1 if compact else 3)


def fit_keys(keys: list[tuple[Binding, str]], width: int, compact: bool = False) -> list[int]:
    """The indices of `keys` (binding, key display) to show in `width` cells, in their order.

    Keys of rank 0 always stay (a cut footer still shows them, a hidden one shows nothing); then
    rank by rank, in order, each key that still fits joins them.
    """
    widths = [key_width(d, b.description, compact) for b, d in keys]
    if sum(widths) <= width:
        return list(range(len(keys)))
    kept = {i for i, (b, _d) in enumerate(keys) if footer_rank(b) == 0}
    used = sum(widths[i] for i in kept)
    for rank in sorted({footer_rank(b) for b, _d in keys} - {0}):
        for i, (b, _d) in enumerate(keys):
            if footer_rank(b) == rank and used + widths[i] <= width:
                kept.add(i)
                used += widths[i]
    return sorted(kept)


class KeyFooter(Footer):
    """Textual's footer, keeping the keys that matter when the width is short."""

    def compose(self) -> ComposeResult:
        """The shown keys that fit (by rank), then the command palette's key."""
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        seen: dict[str, tuple[Binding, bool, str]] = {}
        for _key, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = (binding, enabled, tooltip)
        rows = list(seen.values())
        keys = [(binding, self.app.get_key_display(binding)) for binding, _e, _t in rows]
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = next(((b, e, t) for k, (_n, b, e, t) in active.items()
                            if k == self.app.COMMAND_PALETTE_BINDING), None)
        room = self.size.width or self.app.size.width
        if palette is not None:
            room -= key_width(self.app.get_key_display(palette[0]), palette[0].description, self.compact) + 1
        kept = fit_keys(keys, room, self.compact)
        self.styles.grid_size_columns = len(kept)
        for i in kept:
            binding, enabled, tooltip = rows[i]
            yield FooterKey(binding.key, keys[i][1], binding.description, binding.action,
                            disabled=not enabled, tooltip=tooltip).data_bind(compact=Footer.compact)
        if palette is not None:
            binding, enabled, tooltip = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette", disabled=not enabled,
                            tooltip=binding.tooltip or binding.description)

    def on_resize(self) -> None:
        """Fit the keys to the new width."""
        if self._bindings_ready:
            self.call_after_refresh(self.recompose)
