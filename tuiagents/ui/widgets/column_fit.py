"""Widths for a table's columns in the width there is: columns give way by priority.

A too-narrow table does not scroll sideways: it follows a ladder of steps (shrink these columns
down to a floor, then drop that column, ...) only as far as needed, then gives what is left back
to the columns that were cut. The cut cells end in an ellipsis (the caller makes its cells so).
"""

from __future__ import annotations

from dataclasses import dataclass


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
