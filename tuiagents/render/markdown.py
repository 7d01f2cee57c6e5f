"""One Markdown parser for every view of a message, and its HTML rendering for exports.

The rules (the same on screen, in the request box and in the exports):

- Markdown people expect is rendered: headings, lists, emphasis, strike-through, tables, block
  quotes, fenced code (highlighted by Pygments).
- Raw HTML is text: ``List<int>`` and ``<b>bold</b>`` are shown as typed, never dropped or obeyed.
- A line like ``[x]: https://...`` is text too (Markdown would hide it as a link definition).
- A single newline is a line break; entities (``&amp;``) stay as typed.
- Links and images are shown as typed (``[text](url)``): text and URL exactly as written, nothing
  fetched or followed.
- A fenced block shows its info string (``python``, and anything typed after it) above the code.
- Every control, invisible or direction-changing character is made visible first (`inert`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from html import escape

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from tuiagents.text import inert

__all__ = ["code_html", "keeps_every_character", "markdown_html", "parse"]


def _configured() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("entity")  # "&amp;" is shown as typed, not as "&"
    md.disable("reference")  # "[x]: url" is a line of text in a chat, not a hidden definition
    # Links and images stay as typed, "[text](url)": the URL is seen exactly as written (a parsed
    # link would decode or drop parts of it), and nothing is ever fetched.
    md.disable(["link", "image", "autolink"])
    return md


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return _configured()


@lru_cache(maxsize=1)
def _parser_without_tables() -> MarkdownIt:
    return _configured().disable("table")


def _cells(line: str) -> int:
    """How many cells a table row holds (split at unescaped pipes, as GFM does)."""
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") and not s.endswith("\\|") else s
    return len(re.split(r"(?<!\\)\|", s))


def _drops_cells(tokens: list[Token], lines: list[str]) -> bool:
    """True when a table row has more cells than its header: GFM drops them, we never drop text."""
    for tok in tokens:
        if tok.type == "table_open" and tok.map:
            start, end = tok.map
            header = _cells(lines[start])
            if any(_cells(line) > header for line in lines[start + 2:end]):
                return True
    return False


def _inline(children: list[Token]) -> list[Token]:
    """Softbreaks become line breaks."""
    return [Token("hardbreak", "br", 0) if tok.type == "softbreak" else tok for tok in children]


def parse(text: str) -> list[Token]:
    """The tokens of `text` (made inert first) under the rules above."""
    source = inert(text)
    tokens = _parser().parse(source)
    if _drops_cells(tokens, source.split("\n")):
        tokens = _parser_without_tables().parse(source)
    for tok in tokens:
        if tok.type == "inline" and tok.children:
            tok.children = _inline(tok.children)
    return tokens


def _shown_text(tokens: list[Token]) -> str:
    out: list[str] = []
    for tok in tokens:
        if tok.type == "fence" or (tok.type == "list_item_open" and tok.info):
            out.append(tok.info)  # shown above the code, before the item
        if tok.children:
            out.append(_shown_text(tok.children))
        elif tok.type in ("text", "code_inline", "fence", "code_block"):
            out.append(tok.content)
    return "".join(out)


# Characters no Markdown construct consumes: each must reach the screen.
_PUNCTUATION_KEPT = frozenset("<&\"';/")


def must_show(ch: str) -> bool:
    """True for a character that Markdown never consumes as markup (letters, digits, marks,
    ``< & " ' ; /``): a rendering that drops one has lost text."""
    return ch.isalnum() or ch in _PUNCTUATION_KEPT or unicodedata.category(ch).startswith("M")


def keeps_every_character(source: str, tokens: list[Token]) -> bool:
    """True when every character of `source` that :func:`must_show` is in what `tokens` show, in order.

    The parser drops text in a few corners (content nested deeper than its limit, for one); a view
    that gets False shows the message as plain text instead, so nothing is ever lost.
    """
    shown = _shown_text(tokens)
    pos = 0
    find = shown.find
    for ch in source:
        if must_show(ch):
            pos = find(ch, pos)
            if pos < 0:
                return False
            pos += 1
    return True


def parse_checked(text: str) -> list[Token] | None:
    """`parse(text)`, or None when the tokens would not show every character (see above)."""
    tokens = parse(text)
    return tokens if keeps_every_character(inert(text), tokens) else None


# -- HTML ------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter:
    try:
        return HtmlFormatter(noclasses=True, style=style)
    except ClassNotFound:
        return HtmlFormatter(noclasses=True, style="monokai")


@lru_cache(maxsize=64)
def _lexer(language: str):
    try:
        return get_lexer_by_name(language or "text")
    except ClassNotFound:
        return TextLexer()


@lru_cache(maxsize=512)
def code_html(code: str, language: str, style: str = "monokai") -> str:
    """Highlighted code with inline styles (unknown languages as plain text); `code` made inert."""
    return f'<div class="hl">{highlight(inert(code, tabs=False), _lexer(language), _formatter(style))}</div>'


def _fence(self, tokens: list[Token], idx: int, options, env) -> str:
    tok = tokens[idx]
    info = tok.info.strip() if tok.info else ""
    label = f'<div class="lang">{escape(info)}</div>' if info else ""  # shown, like on screen
    return label + code_html(tok.content, info.split(" ")[0], (env or {}).get("code_style", "monokai"))


def _ordered_list(self, tokens: list[Token], idx: int, options, env) -> str:
    return '<ol class="typed">\n'


def _list_item(self, tokens: list[Token], idx: int, options, env) -> str:
    tok = tokens[idx]
    marker = f'<span class="marker">{escape(tok.info + tok.markup)}</span> ' if tok.info else ""
    return f"<li>{marker}"


@lru_cache(maxsize=1)
def _html_parser() -> MarkdownIt:
    md = _configured()
    md.add_render_rule("fence", _fence)
    md.add_render_rule("ordered_list_open", _ordered_list)  # numbers shown as typed, like on screen
    md.add_render_rule("list_item_open", _list_item)
    return md


def markdown_html(text: str, code_style: str = "monokai") -> str:
    """`text` as an HTML fragment under the rules above (fenced code highlighted by Pygments); as
    plain text with its line breaks when Markdown would lose some of it."""
    md = _html_parser()
    tokens = parse_checked(text)
    if tokens is None:
        return "<p>" + escape(inert(text, tabs=False)).replace("\n", "<br />\n") + "</p>\n"
    return md.renderer.render(tokens, md.options, {"code_style": code_style})


def plain_html(text: str) -> str:
    """`text` inert and escaped in a ``<pre>`` (for output and arguments, which are not Markdown)."""
    return f"<pre>{escape(inert(text, tabs=False))}</pre>"
