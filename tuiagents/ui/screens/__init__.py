"""tuiagents.ui.screens package."""
