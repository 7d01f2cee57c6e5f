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


def test_engine_modules_form_no_import_circle(graph):
    modules = sorted(graph.find_descendants("tuiagents.engine"))
    circles = [(a, b) for a in modules for b in modules
               if a < b and graph.chain_exists(a, b) and graph.chain_exists(b, a)]
    assert circles == []


def test_the_loop_turns_and_speaker_selection_do_not_import_the_run(graph):
    for module in ("tuiagents.engine.loop", "tuiagents.engine.turns", "tuiagents.engine.speaker"):
        assert graph.find_shortest_chain(importer=module, imported="tuiagents.engine.run") is None


def test_the_markdown_and_html_exports_form_no_import_circle(graph):
    assert graph.find_shortest_chain(importer="tuiagents.session.export_html",
                                     imported="tuiagents.session.export") is None
