"""A message as Markdown that any CommonMark/GFM viewer shows the way the screen does.

The Markdown export cannot copy a message as it is: a viewer would obey its raw HTML, decode its
entities and join its single line breaks. :func:`safe_markdown` writes the message again from the
tokens of :func:`tuiagents.render.markdown.parse`: text with every ASCII punctuation mark
backslash-escaped (so ``<b>`` and ``&amp;`` are text), line breaks as hard breaks, code in fences and
spans that nothing inside can close. It then parses the result as a standard viewer would (raw
HTML on, entities on, no line breaks option) and returns it only when that gives the same
structure and text as the screen; otherwise None, and the caller keeps the message verbatim in a
fence. Either way every character and line break is there.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from tuiagents.render.markdown import parse_checked

__all__ = ["safe_markdown"]

#: Marks that can start markup anywhere in a line, and at the start of a line ("[" would start a
#: link or an image in a viewer; the screen shows them as typed).
_PUNCT = re.compile(r"([\\`*_<>&|~\[])")
_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=>#])")


@lru_cache(maxsize=1)
def _viewer() -> MarkdownIt:
    """How a typical viewer reads Markdown: CommonMark with GFM tables and strike-through, HTML on."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _escape(text: str, line_start: bool = False) -> str:
    out = _PUNCT.sub(r"\\\1", text)
    if line_start:  # "1." or "-" would start a list, "=" a heading underline
        out = _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", out)
    return out


def _code_span(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    bar = "`" * (longest + 1)
    pad = " " if code.startswith(("`", " ")) or code.endswith(("`", " ")) else ""
    return f"{bar}{pad}{code}{pad}{bar}"


def _inline(node: SyntaxTreeNode) -> str:
    out: list[str] = []
    line_start = True
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(_escape(child.content, line_start))
        elif kind in ("hardbreak", "softbreak"):
            out.append("\\\n")
            line_start = True
            continue
        elif kind == "code_inline":
            out.append(_code_span(child.content))
        elif kind in ("em", "strong", "s"):
            mark = child.markup or {"em": "*", "strong": "**", "s": "~~"}[kind]
            out.append(f"{mark}{_inline(child)}{mark}")
        else:  # anything else (there is nothing else today): its text
            out.append(_escape(child.content or "".join(c.content for c in child.children), line_start))
        line_start = False
    return "".join(out)


def _fence(code: str, info: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=0)
    bar = "`" * max(3, longest + 1)
    return f"{bar}{info}\n{code}{'' if code.endswith(chr(10)) or not code else chr(10)}{bar}"


def _indent(text: str, first: str, rest: str, blank: str = "") -> str:
    lines = text.split("\n")
    return "\n".join((first if i == 0 else rest) + line if line else blank for i, line in enumerate(lines))


def _blocks(node: SyntaxTreeNode, tight: bool = False) -> str:
    parts = [_block(child, tight) for child in node.children]
    return ("\n" if tight else "\n\n").join(p for p in parts if p is not None)


def _block(node: SyntaxTreeNode, tight: bool = False) -> str | None:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children[0]) if node.children else ""
    if kind == "heading":
        return f"{'#' * int(node.tag[1])} {_inline(node.children[0]) if node.children else ''}"
    if kind in ("fence", "code_block"):
        return _fence(node.content, (node.info or "").strip() if kind == "fence" else "")
    if kind == "hr":
        return "---"
    if kind == "blockquote":
        return _indent(_blocks(node), "> ", "> ", ">")
    if kind in ("bullet_list", "ordered_list"):
        items = []
        loose = any(g.type == "paragraph" and not g.hidden for c in node.children for g in c.children)
        for item in node.children:
            marker = "-" if kind == "bullet_list" else f"{item.info}{item.markup}"
            body = _blocks(item, tight=not loose)
            items.append(_indent(body, marker + " ", " " * (len(marker) + 1)) if body else marker)
        return ("\n\n" if loose else "\n").join(items)
    if kind == "table":
        return _table(node)
    return None


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    aligns: list[str] = []
    for section in node.children:
        for tr in section.children:
            rows.append([_inline(cell.children[0]).replace("\n", " ") if cell.children else "" for cell in tr.children])
            if not aligns:
                aligns = [str((cell.attrs or {}).get("style", "")) for cell in tr.children]
    sep = [{"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}.get(a, "---")
           for a in aligns]
    lines = ["| " + " | ".join(r) + " |" for r in rows[:1]] + ["| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _shape(tokens: list[Token]) -> list[tuple]:
    """What a viewer shows of a token stream: structure and text, not markup details."""
    out: list[tuple] = []
    for tok in tokens:
        kind = "fence" if tok.type == "code_block" else tok.type
        if kind == "inline":
            out += _shape(tok.children or [])
            continue
        if kind == "softbreak":
            kind = "hardbreak"
        content = tok.content if kind in ("text", "code_inline", "fence") else ""
        if kind == "fence":  # an unclosed fence ends without a line break: the same on screen
            content = content.removesuffix("\n")
        if kind == "text" and out and out[-1][0] == "text":  # escapes split text; a viewer joins it
            out[-1] = ("text", "", 0, out[-1][3] + content)
            continue
        out.append((kind, tok.tag, tok.nesting, content))
    return out


def safe_markdown(text: str, quote: bool = False) -> str | None:
    """`text` as Markdown a standard viewer renders like the screen does, or None when that cannot
    be guaranteed (the caller then keeps the text verbatim in a fence). `quote` puts it in a block
    quote, so its headings cannot break the outline of the document around it."""
    tokens = parse_checked(text)
    if tokens is None:
        return None
    try:
        out = _blocks(SyntaxTreeNode(tokens))
    except Exception:  # noqa: BLE001 - an odd tree: the verbatim fence is always right
        return None
    expected = _shape(tokens)
    if quote:
        out = _indent(out, "> ", "> ", ">")
        expected = [("blockquote_open", "blockquote", 1, ""), *expected, ("blockquote_close", "blockquote", -1, "")]
    return out if _shape(_viewer().parse(out)) == expected else None
