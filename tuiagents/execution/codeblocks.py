"""Find the fenced code blocks in an agent's message and decide which of them may run.

A block is a markdown fence (```` ```lang ```` or ``~~~lang``). Python and shell blocks are
runnable; blocks in other languages are kept so they can be shown and, with a
``# filename: NAME`` first line, saved into the work dir — but they are never run. An untagged
block gets a guessed language (python, sh or text) and says so, so the UI can flag the guess.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath

from pydantic import BaseModel, Field

# Aliases agents actually write, mapped to the language we record.
LANGUAGE_ALIASES: dict[str, str] = {
    "py": "python",
    "python3": "python",
    "py3": "python",
    "shell": "sh",
}
DEFAULT_RUNNABLE: frozenset[str] = frozenset({"python", "sh", "bash"})

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
_FILENAME = re.compile(r"^\s*(?:#|//|--)\s*filename:\s*(?P<name>\S.*?)\s*$", re.IGNORECASE)

# First words that mark a line as a shell command rather than python.
SHELL_COMMANDS = frozenset(
    """ls cd echo cat pip pip3 apt apt-get mkdir rm rmdir cp mv export curl wget git grep egrep
    sed awk chmod chown touch head tail find sudo which source conda npm npx node python python3
    bash sh make tar unzip gzip pwd env printf uname whoami id df du ps kill sort uniq wc cut tee
    xargs ln date sleep test true false uv pytest docker""".split()
)
_PY_CLUES = re.compile(
    r"^\s*(import |from \S+ import |def |class |async def |@\w|if __name__|print\(|return\b)", re.M
)
_SH_CLUES = re.compile(r"(&&|\|\||\$\(|\$\{|^\s*\$ |\s-{1,2}[a-zA-Z][\w-]*(\s|$)|\|\s*\w)", re.M)


class CodeBlock(BaseModel):
    """One fenced block from a message: what it says, whether it may run, where it is saved."""

    language: str = Field(description="normalised language: python, sh, bash, text, json, ...")
    code: str = Field(description="the block's text, exactly as written (without the fences)")
    filename: str | None = Field(None, description="from a `# filename: NAME` first line")
    guessed: bool = Field(False, description="the fence had no language tag; language is a guess")
    runnable: bool = Field(False, description="the language is one the executor may run")
    tag: str = Field("", description="the fence's info string as written")
    filename_error: str | None = Field(None, description="why the filename will be refused")


def normalise_language(tag: str) -> str:
    """Map a fence info string (``Python``, ``py``, ``{.bash}``) to the language we record."""
    word = tag.strip().split(maxsplit=1)[0] if tag.strip() else ""
    word = word.strip("{}").lstrip(".").lower()
    return LANGUAGE_ALIASES.get(word, word)


def guess_language(code: str) -> str:
    """Guess ``python``, ``sh`` or ``text`` for an untagged block.

    A shebang decides; otherwise code that parses as python is python unless it is only bare
    words such as ``ls``; code that does not parse is shell if it starts with a known command
    or uses shell syntax, python if it has python clues (so the agent sees its SyntaxError),
    and text (not run) otherwise.
    """
    lines = [ln for ln in code.splitlines() if ln.strip()]
    if not lines:
        return "text"
    if lines[0].startswith("#!"):
        if "python" in lines[0]:
            return "python"
        return "bash" if "bash" in lines[0] else "sh"
    first = next((ln for ln in lines if not ln.lstrip().startswith("#")), lines[0])
    first_word = first.strip().lstrip("$ ").split(maxsplit=1)[0] if first.strip() else ""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        # `ls -la /tmp` or `pwd` also parse as python expressions; a command word followed by
        # arguments (not by `(`, `=`, `.`) at the start of an expression statement is shell.
        head = tree.body[0] if tree.body else None
        looks_like_command = (
            first_word in SHELL_COMMANDS
            and isinstance(head, ast.Expr)
            and not isinstance(head.value, ast.Call)
            and re.match(rf"\s*{re.escape(first_word)}(\s|$)", first) is not None
        )
        if looks_like_command:
            return "sh"
        return "python" if tree.body else "text"
    if first_word in SHELL_COMMANDS or _SH_CLUES.search(code):
        return "sh"
    if _PY_CLUES.search(code):
        return "python"
    return "text"


def check_filename(name: str) -> str | None:
    """Return why ``name`` may not be used as a path inside the work dir, or None if it may.

    Only the name is judged here; symlinks inside the work dir are checked when saving.
    """
    if not name or "\x00" in name:
        return "refused to save the block: the filename is empty or contains a NUL byte"
    if name.startswith(("/", "\\", "~")) or PureWindowsPath(name).drive:
        return (
            f"refused to save the block as {name!r}: absolute paths are not allowed; "
            "use a path relative to the work dir"
        )
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return (
            f"refused to save the block as {name!r}: '..' would leave the work dir; "
            "use a path inside the work dir"
        )
    if parts and parts[0] == ".tuiagents":
        return f"refused to save the block as {name!r}: .tuiagents/ is reserved for tuiagents"
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        # a name with escapes or bidi marks acts on the terminal that lists it, or reads as another
        return (f"refused to save the block as {name!r}: the filename holds a control character; "
                "use a plain name")
    return None


def _filename_of(code: str) -> str | None:
    first = code.split("\n", 1)[0]
    match = _FILENAME.match(first)
    if not match:
        return None
    return match.group("name").strip().strip("'\"`")


def extract_code_blocks(
    text: str, runnable_languages: Iterable[str] = DEFAULT_RUNNABLE
) -> list[CodeBlock]:
    """Return the complete fenced code blocks of ``text`` in order.

    ``runnable_languages`` holds normalised names (see :func:`normalise_language`). A fence that
    is never closed (for example a message still streaming) yields no block.
    """
    runnable = {normalise_language(lang) for lang in runnable_languages}
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if not opening or (opening.group("fence")[0] == "`" and "`" in opening.group("info")):
            i += 1
            continue
        fence, indent = opening.group("fence"), len(opening.group("indent"))
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            # Content is de-indented by the fence's own indentation, as CommonMark does.
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            j += 1
        if j >= len(lines):
            break  # unterminated fence
        code = "\n".join(body)
        if code and not code.endswith("\n"):
            code += "\n"
        tag = opening.group("info")
        language = normalise_language(tag) if tag else guess_language(code)
        filename = _filename_of(code)
        blocks.append(
            CodeBlock(
                language=language,
                code=code,
                filename=filename,
                guessed=not tag,
                runnable=language in runnable,
                tag=tag,
                filename_error=check_filename(filename) if filename is not None else None,
            )
        )
        i = j + 1
    return blocks
