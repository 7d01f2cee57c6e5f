"""Lets `python -m tuiagents` behave like the `tuiagents` command."""
from tuiagents.cli import main

raise SystemExit(main())
