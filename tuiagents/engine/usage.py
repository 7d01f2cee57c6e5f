"""Token and cost totals of LLM calls: one type for the live run, resume and session transcripts."""

from __future__ import annotations

from dataclasses import dataclass

from tuiagents.engine.events import UsageRecorded


@dataclass
class Usage:
    """Totals over a set of calls. A cache hit counts as a call, never as billed tokens or cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached_calls: int = 0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, prompt: int, completion: int, cost: float, cached: bool) -> None:
        """Count one LLM call."""
        self.calls += 1
        if cached:
            self.cached_calls += 1
            return
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost += cost

    def add_event(self, event: UsageRecorded) -> None:
        """Count the call a UsageRecorded event reports."""
        self.add(event.prompt_tokens, event.completion_tokens, event.cost, event.cached)


def format_cost(cost: float) -> str:
    """A cost in USD for people, the same everywhere: $0.0012 below a dollar, $1,234.50 above."""
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"
