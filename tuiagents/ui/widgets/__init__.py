"""tuiagents.ui.widgets package."""
