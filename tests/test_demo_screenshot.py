"""docs/make_screenshot.py still renders the README screenshot: the demo at 160×48 with four agent
panes and the coder's code waiting for confirmation (no Docker needed: the code is not run)."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "make_screenshot.py"


def svg_text(svg: str) -> str:
    """The visible text of a Textual SVG screenshot, one string (spans joined, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_screenshot_script_renders_the_demo_at_the_code_confirmation(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIAGENTS_DATA_DIR", str(tmp_path / "data"))
    spec = importlib.util.spec_from_file_location("make_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = await module.render(tmp_path / "shot.svg")
    text = svg_text(out.read_text())
    assert "SCRIPTED DEMO" in text
    assert all(name in text for name in ("user", "planner", "coder", "critic"))
    assert "Run coder's code in the Docker sandbox as user?" in text
    assert "temperatures.py" in text and "Runs on: docker" in text


def test_committed_screenshot_shows_the_same():
    text = svg_text((SCRIPT.parent / "screenshot.svg").read_text())
    assert "Run coder's code in the Docker sandbox as user?" in text and "critic" in text
