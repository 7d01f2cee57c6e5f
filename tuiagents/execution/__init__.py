"""tuiagents.execution package."""
