"""tuiagents.llm package."""
