"""Lets `python -m tuiagents` behave like the `tuiagents` command."""
from tuiagents.app.cli import main

raise SystemExit(main())
