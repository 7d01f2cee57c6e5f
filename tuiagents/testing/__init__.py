"""tuiagents.testing package."""
