"""The layers of DESIGN.md hold and no module import circle is left (import-linter and grimp).

A layer imports only the layers below it: entry points (`tuiagents.app`) > the UI and the console
(`tuiagents.headless`) > session > engine > config > llm | execution | render > text > the rest.
The contracts live in pyproject.toml (`[tool.importlinter]`); `lint-imports` shows the same report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    done = subprocess.run([exe, "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, "an import breaks the layers of DESIGN.md (see `lint-imports`):\n" + report
    assert "BROKEN" not in report and "KEPT" in report, report


def import_circles(package: str = "tuiagents") -> list[list[str]]:
    """Groups of modules that import each other in a circle (strongly connected, two or more)."""
    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:  # Tarjan's algorithm, iterative deep enough for this package
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return circles


def test_no_module_imports_itself_through_others():
    circles = import_circles()
    assert not circles, "import circles (each line: modules that import each other, also inside functions):\n" + \
        "\n".join("  " + " <-> ".join(group) for group in circles)


def test_the_circle_finder_finds_a_circle(tmp_path, monkeypatch):
    pkg = tmp_path / "circ_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circ_pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from circ_pkg import a\n")
    (pkg / "c.py").write_text("from circ_pkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_circles("circ_pkg") == [["circ_pkg.a", "circ_pkg.b"]]
