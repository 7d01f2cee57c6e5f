"""tuiagents: a terminal cockpit for supervising teams of LLM agents."""

__version__ = "0.1.0"
