"""Code block extraction, filenames, the agent-facing text, and the local executor (no Docker)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from tuiagents.execution import (
    DockerSettings,
    ExecutionLimits,
    ExecutionResult,
    LocalExecutor,
    LocalSettings,
    extract_code_blocks,
    format_result_for_agent,
    guess_language,
    run_blocks,
)
from tuiagents.execution.codeblocks import CodeBlock

FENCE = "```"


def fenced(lang: str, code: str) -> str:
    return f"{FENCE}{lang}\n{code}\n{FENCE}"


def block(lang: str, code: str) -> CodeBlock:
    (found,) = extract_code_blocks(fenced(lang, code))
    return found


# -- extraction -------------------------------------------------------------------------------


def test_extracts_tagged_blocks_in_order_with_runnable_flags() -> None:
    text = "\n".join([
        "Here is the plan.",
        fenced("python", "print('a')"),
        "and",
        fenced("py", "print('b')"),
        fenced("bash", "echo c"),
        fenced("shell", "echo d"),
        fenced("json", '{"e": 1}'),
    ])
    blocks = extract_code_blocks(text)
    assert [(b.language, b.runnable, b.guessed) for b in blocks] == [
        ("python", True, False),
        ("python", True, False),
        ("bash", True, False),
        ("sh", True, False),
        ("json", False, False),
    ]
    assert blocks[0].code == "print('a')\n"
    assert blocks[1].tag == "py"


def test_runnable_languages_are_configurable() -> None:
    text = fenced("python", "print(1)") + "\n" + fenced("sh", "echo 1")
    blocks = extract_code_blocks(text, runnable_languages={"py"})
    assert [b.runnable for b in blocks] == [True, False]


def test_unterminated_fence_is_ignored_and_longer_fences_nest() -> None:
    text = "````markdown\n```python\nprint(1)\n```\n````\n```python\nprint(2)\n"
    blocks = extract_code_blocks(text)
    assert len(blocks) == 1
    assert blocks[0].language == "markdown" and not blocks[0].runnable
    assert "print(1)" in blocks[0].code


def test_tilde_fences_and_info_string_details() -> None:
    (b,) = extract_code_blocks("~~~{.python}\nx = 1\n~~~")
    assert b.language == "python" and b.runnable


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("import os\nprint(os.getcwd())", "python"),
        ("def f(x):\n    return x * 2\n\nprint(f(3))", "python"),
        ("ls -la /workspace", "sh"),
        ("pip install numpy && python -c 'import numpy'", "sh"),
        ("ls", "sh"),
        ("echo $HOME | tr a-z A-Z", "sh"),
        ("#!/bin/bash\nset -e\necho hi", "bash"),
        ("#!/usr/bin/env python3\nprint(1)", "python"),
        ("def broken(:\n    print('x')", "python"),  # the agent should see its SyntaxError
        ("Result: 42 apples, 3 pears", "text"),
    ],
)
def test_guess_language(code: str, language: str) -> None:
    assert guess_language(code) == language


def test_untagged_block_records_the_guess() -> None:
    (py, sh, txt) = extract_code_blocks(
        fenced("", "import sys\nprint(sys.version)") + "\n" + fenced("", "cat /etc/os-release")
        + "\n" + fenced("", "expected output: 3 lines")
    )
    assert (py.language, py.guessed, py.runnable) == ("python", True, True)
    assert (sh.language, sh.guessed, sh.runnable) == ("sh", True, True)
    assert (txt.language, txt.guessed, txt.runnable) == ("text", True, False)


@pytest.mark.parametrize(
    ("first_line", "filename", "refused"),
    [
        ("# filename: app.py", "app.py", None),
        ("# filename: src/pkg/mod.py", "src/pkg/mod.py", None),
        ("// filename: web/index.js", "web/index.js", None),
        ("# filename: ../escape.py", "../escape.py", "'..' would leave the work dir"),
        ("# filename: a/../../escape.py", "a/../../escape.py", "'..' would leave the work dir"),
        ("# filename: /etc/cron.d/evil", "/etc/cron.d/evil", "absolute paths are not allowed"),
        ("# filename: ~/.bashrc", "~/.bashrc", "absolute paths are not allowed"),
        # a name the terminal would act on when listed, or show other than it is
        ("# filename: \x1b[31mred\x1b]0;T\x07name.py", "\x1b[31mred\x1b]0;T\x07name.py", "control character"),
        ("# filename: evil\u202etxt.py", "evil\u202etxt.py", "control character"),
        ("# filename: tab\tname.py", "tab\tname.py", "control character"),
        ("# filename: café/naïve.py", "café/naïve.py", None),
    ],
)
def test_filename_line(first_line: str, filename: str, refused: str | None) -> None:
    b = block("python", f"{first_line}\nprint('x')")
    assert b.filename == filename
    if refused is None:
        assert b.filename_error is None
    else:
        assert refused in (b.filename_error or "")


# -- local executor ---------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalExecutor:
    return LocalExecutor(LocalSettings(timeout=5, output_limit=1024), tmp_path / "work")


async def test_local_runs_python_and_shell(local: LocalExecutor) -> None:
    seen: list[str] = []
    code = "import sys\nprint('out')\nprint('err', file=sys.stderr)"
    result = await local.run(block("python", code), on_output=seen.append)
    assert result.ok and result.exit_code == 0
    assert result.output == "out\nerr\n"
    assert "".join(seen) == "out\nerr\n"
    result = await local.run(block("bash", "echo $((6 * 7))"))
    assert result.output == "42\n"


async def test_local_error_exit_code_and_traceback(local: LocalExecutor) -> None:
    result = await local.run(block("python", "raise ValueError('boom')"))
    assert result.exit_code == 1 and not result.ok
    assert "Traceback" in result.output and "ValueError: boom" in result.output


async def test_local_timeout_keeps_partial_output_and_kills_the_group(tmp_path: Path) -> None:
    marker = tmp_path / "survivor"
    executor = LocalExecutor(LocalSettings(timeout=1), tmp_path / "work")
    code = f"(sleep 2; touch {marker}) &\necho started\nsleep 30\n"
    started = time.monotonic()
    result = await executor.run(block("sh", code))
    assert time.monotonic() - started < 10
    assert result.timed_out and result.exit_code == 124
    assert result.output == "started\n"
    assert "timed out after 1 s" in format_result_for_agent([block("sh", code)], [result])
    await asyncio.sleep(2.5)
    assert not marker.exists(), "the background job outlived the timeout"


async def test_local_cancel(local: LocalExecutor) -> None:
    cancel = asyncio.Event()

    async def on_output(text: str) -> None:
        if "ready" in text:
            cancel.set()

    code = "import sys, time\nsys.stdout.write('ready\\n')\ntime.sleep(30)"
    result = await local.run(block("python", code), on_output=on_output, cancel=cancel)
    assert result.cancelled and not result.timed_out
    assert result.duration < 5
    assert result.output == "ready\n"


async def test_local_output_cap_keeps_head_tail_and_full_file(local: LocalExecutor) -> None:
    result = await local.run(block("python", "for i in range(2000):\n    print(f'line {i}')"))
    assert result.ok and result.truncated
    assert len(result.output.encode()) < 1024 + 200
    assert result.output.startswith("line 0\n")
    assert result.output.rstrip().endswith("line 1999")
    assert "bytes of output omitted" in result.output
    full = Path(result.full_output_path or "")
    assert full.read_text().count("\n") == 2000


async def test_local_filename_block_is_saved_and_importable(local: LocalExecutor) -> None:
    saved = await local.run(block("python", "# filename: helpers/util.py\nVALUE = 7"))
    assert saved.ok and saved.saved_to == "helpers/util.py"
    assert (local.work_dir / "helpers" / "util.py").read_text().startswith("# filename:")
    result = await local.run(block("python", "from helpers.util import VALUE\nprint(VALUE)"))
    assert result.output == "7\n"


async def test_local_non_runnable_block_is_saved_not_run(local: LocalExecutor) -> None:
    result = await local.run(block("json", '// filename: data.json\n{"a": 1}'))
    assert result.skipped and result.ok and result.saved_to == "data.json"
    assert (local.work_dir / "data.json").exists()


async def test_filename_escapes_are_refused(local: LocalExecutor, tmp_path: Path) -> None:
    result = await local.run(block("python", "# filename: ../escape.py\nprint(1)"))
    assert not result.ok and "'..' would leave the work dir" in (result.error or "")
    assert not (tmp_path / "escape.py").exists()
    # A symlink planted in the work dir (by earlier code) must not be followed.
    outside = tmp_path / "outside"
    outside.mkdir()
    (local.work_dir / "link").symlink_to(outside)
    result = await local.run(block("python", "# filename: link/evil.py\nprint(1)"))
    assert not result.ok and "symbolic link" in (result.error or "")
    assert not (outside / "evil.py").exists()
    (local.work_dir / "f.py").symlink_to(outside / "target.py")
    result = await local.run(block("python", "# filename: f.py\nprint(1)"))
    assert "symbolic link" in (result.error or "") and not (outside / "target.py").exists()
    text = format_result_for_agent([block("python", "x")], [result])
    assert text.startswith("exitcode: -1 (execution failed)\nCode output: ")


# -- run_blocks and the agent-facing text -----------------------------------------------------


async def test_run_blocks_stops_at_first_failure(local: LocalExecutor) -> None:
    blocks = extract_code_blocks("\n".join([
        fenced("python", "print('one')"),
        fenced("python", "import sys\nprint('two')\nsys.exit(3)"),
        fenced("python", "print('three')"),
        fenced("python", "print('four')"),
    ]))
    results = await run_blocks(local, blocks)
    assert [r.exit_code for r in results] == [0, 3]
    text = format_result_for_agent(blocks, results)
    assert text == (
        "exitcode: 3 (execution failed)\nCode output: one\ntwo\n"
        "(2 later code blocks not run because this one failed)"
    )


async def test_run_blocks_success_text(local: LocalExecutor) -> None:
    text = fenced("python", "print('hello')") + "\n" + fenced("sh", "echo world")
    blocks = extract_code_blocks(text)
    results = await run_blocks(local, blocks)
    assert format_result_for_agent(blocks, results) == (
        "exitcode: 0 (execution succeeded)\nCode output: hello\nworld"
    )


def test_format_timeout_text() -> None:
    result = ExecutionResult(exit_code=124, output="partial\n", timed_out=True,
                             notes=["timed out after 60 s"])
    assert format_result_for_agent([block("python", "x")], [result]) == (
        "exitcode: 124 (execution failed)\nCode output: partial\ntimed out after 60 s"
    )


def test_limits_describe() -> None:
    docker = ExecutionLimits(kind="docker", image="tuiagents-sandbox:latest", network="none",
                             memory="512m", cpus=1, pids_limit=256, timeout=60)
    assert docker.describe() == (
        "docker · tuiagents-sandbox:latest · network none · 512m · 1 cpu · 60 s"
    )
    local = LocalExecutor(DockerSettings(timeout=30), Path("/tmp/x")).limits
    assert local.describe() == "local · UNSANDBOXED on the host · 30 s"


def test_settings_reject_unknown_keys_and_root() -> None:
    with pytest.raises(ValueError):
        DockerSettings(imagee="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="root"):
        DockerSettings(user="0:0")
    with pytest.raises(ValueError, match="512m"):
        DockerSettings(memory="lots")


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
async def test_local_background_job_does_not_outlive_its_block(local: LocalExecutor) -> None:
    result = await local.run(block("sh", "sleep 300 &\necho $! > bg.pid\necho done"))
    assert result.ok and result.output == "done\n"
    pid = int((local.work_dir / "bg.pid").read_text())
    await asyncio.sleep(0.2)
    assert not _running(pid)


def _running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie waiting for its (re)parent to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


async def test_local_executor_refuses_a_fifo_named_like_the_next_file(tmp_path) -> None:
    import os

    from tuiagents.execution import LocalExecutor, LocalSettings
    from tuiagents.execution.codeblocks import CodeBlock, extract_code_blocks

    os.mkfifo(tmp_path / "next.py")
    executor = LocalExecutor(LocalSettings(timeout=10), tmp_path)
    (block,) = extract_code_blocks("```python\n# filename: next.py\nprint('hi')\n```")
    result = await asyncio.wait_for(executor.run(block), 30)
    assert result.exit_code == -1 and "FIFO" in (result.error or ""), result
    ok = await executor.run(CodeBlock(language="sh", code="echo fine", runnable=True))
    assert ok.output == "fine\n"
