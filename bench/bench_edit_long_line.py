"""Keys in the edit dialog (``e``) on a draft of one 2 MB line, headless at 160×48.

A real two-agent run on the scripted server; the coder replies ``"BIG " + "x" * 2_000_000 + " END"``.
The script opens the edit dialog on that draft and presses ``ctrl+End``, letters, arrows and
Backspace, one at a time, each until the app is idle; it takes the wall time and the process's CPU
time per key (pilot included), medians in ms, beside the same keys on a 1 KB draft. Then the same keys with the dialog as it was before
(wrapped, textual's own tab arithmetic): fewer keys, each costs seconds. Timing lives here, never
in a test assertion. ``python bench/bench_edit_long_line.py [checkout]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

BIG = "BIG " + "x" * 2_000_000 + " END"
KEYS = ("ctrl+end", "a", "b", "left", "right", "backspace", "c", "home", "end", "d", "e", "f")


def as_before() -> None:
    """Textual's own tab arithmetic again (the dialog is wrapped by the caller)."""
    import textual.document._wrapped_document as wrapped
    import textual.expand_tabs as tabs
    import textual.widgets._text_area as text_area

    wrapped.get_tab_widths = tabs.get_tab_widths
    wrapped.expand_tabs_inline = text_area.expand_tabs_inline = tabs.expand_tabs_inline


async def measure(before: bool, draft: str = BIG) -> tuple[float, float, float]:
    """(ms to open the dialog, median wall ms per key, median CPU ms per key)."""
    from textual.widgets import TextArea
    from ui_support import make_app, waiting

    from tuiagents.config import parse_config
    from tuiagents.engine.decisions import RequestKind
    from tuiagents.testing import Rule, ScriptedServer
    from tuiagents.ui.screens.edit_screen import EditScreen

    with ScriptedServer() as server:
        server.load([Rule(agent="coder", reply=draft), Rule(agent="user", reply="ok")])
        config = parse_config({"models": [{"name": "default", "model": "scripted-model", "base_url": server.url,
                                           "max_retries": 0}], "llm": {"cache_seed": False},
                               **_pair()})
        app = make_app(config, "pair", "Answer", Path(tempfile.mkdtemp()))
        walls: list[float] = []
        cpus: list[float] = []
        async with app.run_test(size=(160, 48)) as pilot:
            while not waiting(app, RequestKind.MESSAGE):
                await pilot.pause(0.05)
            await pilot.pause(0.5)
            start = time.perf_counter()
            await pilot.press("e")
            while not isinstance(app.screen, EditScreen):
                await pilot.pause(0.01)
            if before:
                app.screen.query_one(TextArea).soft_wrap = True
            await pilot.pause()
            opened = time.perf_counter() - start
            for key in KEYS[:4] if before else KEYS:
                wall, cpu = time.perf_counter(), time.process_time()
                await pilot.press(key)
                await pilot.pause()
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
    return opened * 1e3, statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def _pair() -> dict[str, object]:
    from ui_support import pair_config

    return pair_config(lambda **kw: kw)


def main() -> None:
    """A 1 KB draft (the anchor), the 2 MB one now, then as before (last: the patch stays out)."""
    for name, before, draft in (("anchor: a 1 KB draft", False, "Short draft. " * 80), ("2 MB line now", False, BIG),
                                ("2 MB line before (wrapped, textual's tabs)", True, BIG)):
        if before:
            as_before()
        opened, wall, cpu = asyncio.run(measure(before, draft))
        print(f"{name}: dialog open {opened:.0f} ms; per key median wall {wall:.0f} ms, CPU {cpu:.0f} ms")


if __name__ == "__main__":
    main()
