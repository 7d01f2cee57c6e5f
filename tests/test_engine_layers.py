"""The engine's import structure: the LLM layer sits below the engine, and engine modules form no
circle (a circle is what forced imports inside functions and private attributes shared across files)."""

from __future__ import annotations

import grimp
import pytest


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("tuiagents")


def test_llm_imports_nothing_of_the_engine(graph):
    for module in graph.find_descendants("tuiagents.llm"):
        upward = [m for m in graph.find_modules_directly_imported_by(module) if m.startswith("tuiagents.engine")]
        assert not upward, f"{module} imports {upward}"
