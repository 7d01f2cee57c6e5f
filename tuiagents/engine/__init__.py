"""tuiagents.engine package."""
