"""Helpers of the message-rendering tests: the example from the issue, generated text pieces, and
the check that every non-markup character is shown in order."""

from __future__ import annotations

import re
import unicodedata

EXAMPLE = ('In C# you write List<int> xs; in HTML <b>bold</b> or <div class="x">box</div>.\n'
           "Line one of output\nLine two of output")

PIECES = ["<b>", "</b>", "<div class=\"x\">", "</div>", "List<int>", "&amp;", "&lt;", "a & b", "**", "*", "_",
          "`", "```", "```\n", "~~", "# ", "## ", "- ", "1. ", "> ", "| a | b |\n|---|---|\n", "|", "\\", "\\\\",
          "\n", "\n\n", "  ", " ", "---", "===", "[", "]", "!", "漢字", "ｗｉｄｅ", "e\u0301", "a\u0308", "é",
          "text", "word", "7", "Zz", "\"q\"", "'s", ";", "/", "<", ">", "<script>alert(1)</script>", ">" * 25, "- " * 25,
          "[x](http://u/ü \"t\")", "![i](p%20q.png)", "<http://a.b>", "[r]: http://r", "[r]", "a@b.c", ":"]


#: Characters no Markdown construct can consume.
def kept(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return ch in "<&\"';/" or cat.startswith("L") or cat.startswith("M") or cat == "Nd"


def subsequence(needles: list[str], hay: str) -> tuple[bool, int]:
    pos = 0
    for i, ch in enumerate(needles):
        pos = hay.find(ch, pos)
        if pos < 0:
            return False, i
        pos += 1
    return True, len(needles)
