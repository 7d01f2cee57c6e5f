"""The one message renderer (tuiagents.render): every character and line break kept, Markdown people
expect rendered, raw HTML shown as text, hidden characters made visible, long text cut for the view."""

from __future__ import annotations

import io
import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from render_support import EXAMPLE, PIECES, kept, subsequence

from tuiagents.render.markdown import markdown_html
from tuiagents.render.message import VIEW_CHARS, code_renderable, cut_for_view, message_renderable
from tuiagents.text import hidden_warning, inert



def shown(renderable, width: int = 100) -> str:
    """What a terminal of `width` columns shows for `renderable` (no colours)."""
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, legacy_windows=False, highlight=False).print(renderable)
    return out.getvalue()


def rows(text: str) -> list[str]:
    return [r.strip() for r in text.split("\n") if r.strip()]


def test_raw_html_is_text_and_single_newlines_are_line_breaks():
    out = rows(shown(message_renderable(EXAMPLE)))
    assert out[0] == 'In C# you write List<int> xs; in HTML <b>bold</b> or <div class="x">box</div>.'
    assert out[1:] == ["Line one of output", "Line two of output"]


def test_markdown_people_expect_is_rendered():
    text = ("# Title\n\nSome **bold** and *em* and ~~gone~~ and `code<x>`.\n\n- one\n- two\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.com/x) ![chart](c.png) &amp;\n\n"
            "```python\nprint(1 < 2)\n```")
    out = shown(message_renderable(text))
    assert "**" not in out and "~~" not in out and "# Title" not in out  # markup is rendered
    assert "Title" in out and "bold" in out and "code<x>" in out and "• one" in out
    assert "[docs](https://example.com/x)" in out and "![chart](c.png)" in out  # as typed
    assert "&amp;" in out  # entities stay as typed
    assert "print(1 < 2)" in out and "```" not in out
    assert re.search(r"a\s+│?\s*b", out)  # a table, not pipes


def test_control_bidi_and_zero_width_characters_are_visible():
    text = "run \x1b]0;pwned\x07 \x1b[2J and \u202eevil\u202c\u200b\ufeff"
    out = shown(message_renderable(text))
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\u200b" not in out
    assert "␛]0;pwned␇" in out and "⟨RLO⟩evil⟨PDF⟩⟨ZWSP⟩⟨BOM⟩" in out


def test_code_with_bidi_controls_gets_a_warning_line():
    code = 'access = "user\u202e \u2066# admin\u2069\u2066"\nprint(access)\n'
    out = shown(code_renderable(code, "python", line_numbers=True), width=200)
    assert "⟨RLO⟩" in out and "⟨LRI⟩" in out and "⟨PDI⟩" in out and "\u202e" not in out
    assert "may read differently from how it runs" in out
    assert hidden_warning("print('plain')") is None


def test_a_long_message_is_cut_with_a_line_saying_how_much_more():
    text = "x" * 5_000_000
    cut = cut_for_view(text)
    assert len(cut.text) <= VIEW_CHARS and cut.hidden_chars == len(text) - len(cut.text)
    out = shown(message_renderable(text), width=200)
    assert f"… {cut.hidden_chars:,} more characters" in out
    assert out.count("x") <= VIEW_CHARS
    many = "\n".join(f"line {i}" for i in range(10_000))
    assert cut_for_view(many).text.count("\n") < 1000 and cut_for_view(many).hidden_lines > 9000
    assert not cut_for_view("short\ntext").cut


def test_html_rendering_follows_the_same_rules():
    html = markdown_html(EXAMPLE + "\n\n```python\nprint('hi')\n```\n\n\x1b[31mred\u202e")
    assert "List&lt;int&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html
    assert "Line one of output<br" in html
    assert 'style="color' in html and "print" in html  # Pygments, inline styles
    assert "\x1b" not in html and "\u202e" not in html and "␛[31mred⟨RLO⟩" in html


# -- the property: every non-markup character is on screen, in order --------------------------------

TEXTS = st.one_of(st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
                  st.text(alphabet="<>&\\*_`#-+=|~![]\"';/. \n\tab7漢ｗ\u0301\u0308é", max_size=80))


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.integers(min_value=24, max_value=120))
@example("| a | b |\n|---|---|\n<b><b><b><b><b><b><b>", 24)  # a cell wider than its column
@example(">" * 25 + ";", 24)  # quotes nested past the parser's limit, holding no letter
def test_every_non_markup_character_is_shown_in_order(text, width):
    source = inert(text)
    expected = [ch for ch in unicodedata.normalize("NFC", source) if kept(ch)]
    out = unicodedata.normalize("NFC", shown(message_renderable(text), width=width))
    ok, at = subsequence(expected, out)
    assert ok, f"lost {expected[at]!r} (#{at}) of {text!r}; shown:\n{out}"


@settings(max_examples=150, deadline=None)
@given(TEXTS)
def test_html_keeps_every_non_markup_character_in_order(text):
    from html import unescape

    source = inert(text)
    expected = [ch for ch in source if kept(ch)]
    visible = unescape(re.sub(r"<[^>]*>", "", markdown_html(text)))
    ok, at = subsequence(expected, visible)
    assert ok, f"lost {expected[at]!r} (#{at}) of {text!r}; html text:\n{visible}"


# -- Markdown for the Markdown export: a standard viewer shows it like the screen ---------------------

def viewer_html(markdown: str) -> str:
    """What a typical Markdown viewer makes of `markdown` (CommonMark + GFM tables, raw HTML on)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)


def visible(html: str) -> str:
    from html import unescape

    return "".join(unescape(re.sub(r"<[^>]*>", "", html)).split())


def test_the_markdown_export_form_of_the_example_renders_like_the_screen():
    from tuiagents.render.markdown_out import safe_markdown

    md = safe_markdown(EXAMPLE + "\n\n```python\nprint('<b>')\n```", quote=True)
    html = viewer_html(md)
    assert "<b>" not in html.replace("<blockquote>", "") and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert re.search(r"Line one of output<br\s*/?>\s*Line two of output", html)
    assert '<code class="language-python">' in html and md.startswith("> ")


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_markdown_for_viewers_shows_the_same_text_or_falls_back(text):
    from tuiagents.render.markdown_out import safe_markdown

    md = safe_markdown(text)
    if md is None:
        return  # the export keeps such a message verbatim in a fence
    # list numbers and a fence's language: the screen shows them as typed, a viewer draws its own
    markup = re.compile(r'<span class="marker">[^<]*</span>|<div class="lang">[^<]*</div>')
    assert visible(viewer_html(md)) == visible(markup.sub("", markdown_html(text)))


def test_the_renderer_sits_below_the_session_and_ui_layers():
    import ast
    from pathlib import Path

    import tuiagents

    root = Path(tuiagents.__file__).parent
    allowed = ("tuiagents.render", "tuiagents.text", "tuiagents.secrets")
    for path in [*sorted((root / "render").glob("*.py")), root / "text.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith("textual"), f"{path.name} imports {name}"
                assert not name.startswith("tuiagents") or name.startswith(allowed), f"{path.name} imports {name}"
    for path in (root / "session").glob("export*.py"):
        assert "tuiagents.ui" not in path.read_text(), f"{path.name} imports the UI"


def test_text_markdown_would_lose_is_shown_plain_instead():
    for text in (">" * 30 + " hidden payload", "- " * 30 + "hidden payload", "> " * 25 + "hidden payload"):
        assert "hidden payload" in shown(message_renderable(text), width=200)
        assert "hidden payload" in markdown_html(text)
    out = shown(message_renderable("[docs](https://x/%20?a=1&b=2 \"t\") and <https://y>"), width=200)
    assert '[docs](https://x/%20?a=1&b=2 "t") and <https://y>' in out  # links exactly as typed
