"""tuiagents.session package."""
