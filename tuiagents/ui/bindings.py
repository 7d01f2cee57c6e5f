"""The key bindings of every screen, made from the action registry (`tuiagents.ui.actions`).

`[keymap]` in config.toml remaps a binding by id (Textual's `App.set_keymap`); F1 lists them all
with their current keys. `check_keymap` says what is wrong with a `[keymap]` table.
"""

from __future__ import annotations

from textual.binding import Binding

from tuiagents.ui.actions import ACTIONS, BY_ID, Where, bindings_of

#: The cockpit's controls.
COCKPIT_BINDINGS: list[Binding] = bindings_of(Where.COCKPIT)
#: App-wide bindings.
APP_BINDINGS: list[Binding] = bindings_of(Where.APP)
#: The replay's controls (`tuiagents replay`).
REPLAY_BINDINGS: list[Binding] = bindings_of(Where.REPLAY)
#: The session browser's controls (F2).
SESSIONS_BINDINGS: list[Binding] = bindings_of(Where.SESSIONS)
#: A focused transcript's controls (agent panes, the timeline, the full view of a long message).
TRANSCRIPT_BINDINGS: list[Binding] = bindings_of(Where.TRANSCRIPT)


def dialog_bindings() -> list[Binding]:
    """The bindings of the dialogs (edit, prompts, inject, pick, number, confirm, full text)."""
    return bindings_of(Where.DIALOG)


def all_bindings() -> list[Binding]:
    """Every binding with an id, in registry order."""
    return [a.binding() for a in ACTIONS]


def known_ids() -> set[str]:
    """Ids a `[keymap]` entry may name."""
    return set(BY_ID)


def default_key(binding_id: str, fallback: str = "?") -> str:
    """The first key bound to `binding_id` before any `[keymap]` remap."""
    spec = BY_ID.get(binding_id)
    return spec.keys.split(",")[0].strip() if spec else fallback


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Problems with a `[keymap]` table, as sentences (unknown ids, empty keys)."""
    problems = []
    ids = known_ids()
    for bid, keys in keymap.items():
        if bid not in ids:
            problems.append(f"[keymap] {bid!r} is not a binding id; known ids: {', '.join(sorted(ids))}")
        elif not str(keys).strip():
            problems.append(f"[keymap] {bid!r} has no key; give one such as \"ctrl+y\"")
    return problems
