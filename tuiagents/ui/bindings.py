"""The key bindings of every screen, made from the action registry (`tuiagents.ui.actions`).

`[keymap]` in config.toml remaps a binding by id (Textual's `App.set_keymap`); F1 lists them all
with their current keys. `validate_keymap` says which remaps apply and what is wrong with the rest.
"""

from __future__ import annotations

from textual.binding import Binding

from tuiagents.ui.actions import ACTIONS, BY_ID, ActionSpec, Where, bindings_of

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


#: Key names a person reads better spelled out than as Textual's symbol for them.
_SPELLED = {"enter": "enter", "escape": "esc", "space": "space", "tab": "tab", "delete": "delete"}


def key_words(keys: str) -> str:
    """Keys as a person reads them: `plus,equals_sign` is "+, =", `ctrl+s` is "ctrl+s"."""
    from textual.keys import format_key

    out = []
    for key in _keys(keys):
        *mods, name = key.split("+") if key != "+" else ["+"]
        out.append("+".join([*mods, _SPELLED.get(name) or format_key(name)]))
    return ", ".join(out)


#: Modifiers a key name may start with (`ctrl+shift+x`).
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def _key_names() -> frozenset[str]:
    """Names Textual gives the keys a terminal sends, without modifiers (`f1`, `escape`, `a`, `plus`)."""
    from textual.keys import Keys, _character_to_key

    names = {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")}
    names |= {_character_to_key(chr(c)) for c in range(32, 127)}
    names |= {chr(c) for c in range(33, 127) if chr(c) not in ",+"}
    return frozenset(names)


def is_key(key: str) -> bool:
    """True when Textual can produce `key` (`ctrl+y`, `f3`, `A`, `question_mark`), false for `ctrl+nonsense`."""
    *mods, name = key.split("+")
    return bool(name) and all(m in MODIFIERS for m in mods) and len(set(mods)) == len(mods) \
        and name in _key_names()


def _keys(text: str) -> list[str]:
    return [k.strip() for k in str(text).split(",") if k.strip()]


def _share_a_screen(a: ActionSpec, b: ActionSpec) -> bool:
    """True when the keys of `a` and `b` work on one screen at the same time."""
    if Where.DIALOG in (a.where, b.where):
        return (a.where == b.where and a.dialog == b.dialog) or Where.APP in (a.where, b.where)
    # the cockpit, the replay (a cockpit fed from a log), its panes and the app's keys live together;
    # the session browser shares only the app's
    if Where.SESSIONS in (a.where, b.where):
        return a.where == b.where or Where.APP in (a.where, b.where)
    return True


def validate_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The remaps of a `[keymap]` table that can be applied, and what is wrong with the others.

    Refused, with a sentence each: an unknown id, an empty key, a key Textual cannot produce, and a
    key another action already uses on the same screen (its default key, or the one it is remapped
    to: keys may be swapped). A refused action keeps its default keys, which may refuse another
    remap in turn, so this repeats until nothing more is refused. Keys two actions share by
    default (a dialog's `q` closing it over the app's quit) are not conflicts.
    """
    problems: list[str] = []
    ids = known_ids()
    wanted: dict[str, str] = {}
    for bid, keys in keymap.items():
        if bid not in ids:
            problems.append(f"[keymap] {bid!r} is not a binding id; known ids: {', '.join(sorted(ids))}")
        elif not _keys(keys):
            problems.append(f"[keymap] {bid!r} has no key; give one such as \"ctrl+y\"")
        elif bad := [k for k in _keys(keys) if not is_key(k)]:
            problems.append(f"[keymap] {bid} = {bad[0]!r} is not a key name; {bid} keeps "
                            f"{BY_ID[bid].keys!r} (key names look like \"ctrl+y\", \"f3\", \"question_mark\")")
        else:
            wanted[bid] = str(keys)
    while True:
        effective = {a.id: _keys(wanted.get(a.id, a.keys)) for a in ACTIONS}
        refused = {}
        for bid, keys in wanted.items():
            spec = BY_ID[bid]
            for key in _keys(keys):
                others = [o.id for o in ACTIONS if o.id != bid and _share_a_screen(spec, o)
                          and key in effective[o.id]
                          and not (key in _keys(spec.keys) and key in _keys(o.keys))]
                if others:
                    refused[bid] = (f"[keymap] {bid} = {key!r} takes the key of {', '.join(others)} on the "
                                    f"same screen; {bid} keeps {spec.keys!r}")
                    break
        if not refused:
            return wanted, problems
        for bid, text in refused.items():
            del wanted[bid]
            problems.append(text)


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Problems with a `[keymap]` table, as sentences (see :func:`validate_keymap`)."""
    return validate_keymap(keymap)[1]
