"""``python -m tuiagents.testing``: run the scripted OpenAI-compatible server (see ``--help``)."""

from tuiagents.testing.server import main

raise SystemExit(main(prog="python -m tuiagents.testing"))
