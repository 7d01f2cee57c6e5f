"""tuiagents.ui package."""
