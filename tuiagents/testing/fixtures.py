"""Pytest fixtures for the scripted server; import them into a ``conftest.py``::

    from tuiagents.testing.fixtures import scripted_server  # noqa: F401

    def test_chat(scripted_server):
        server = scripted_server([Rule(agent="coder", reply="hi")])
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tuiagents.testing.script import Script
from tuiagents.testing.server import ScriptedServer

ServerFactory = Callable[..., ScriptedServer]


@pytest.fixture
def scripted_server() -> Iterator[ServerFactory]:
    """A factory ``(script=None, **kwargs) -> started ScriptedServer``; every server is stopped afterwards."""
    servers: list[ScriptedServer] = []

    def start(script: Script | dict | list | str | Path | None = None, **kwargs: Any) -> ScriptedServer:
        server = ScriptedServer(script, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
