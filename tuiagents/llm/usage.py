"""Token usage and cost, per call, per agent, per model and per run.

Every finished call (network or cache) is one :class:`UsageRecord`. Calls answered from the cache
are counted apart: their tokens go to the ``cached_*`` fields and their cost is 0. Retries and
fallbacks are counted too, so the UI can show how bumpy a run was. One :class:`UsageTracker` lives
on each :class:`~tuiagents.llm.client.LLMClient`; the run's totals are :meth:`UsageTracker.totals`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UsageRecord:
    """Usage of one completed call: who asked, which entry/model answered, tokens and cost."""

    agent: str
    entry: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    cached: bool = False
    priced: bool = True


@dataclass
class UsageTotals:
    """Sums over a set of calls. Cache hits are in ``cached_*`` only, never in the billed fields."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached_calls: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    retries: int = 0
    fallbacks: int = 0
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        """Billed prompt + completion tokens (cache hits excluded)."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, record: UsageRecord) -> None:
        """Add one call's usage."""
        if record.cached:
            self.cached_calls += 1
            self.cached_prompt_tokens += record.prompt_tokens
            self.cached_completion_tokens += record.completion_tokens
            return
        self.calls += 1
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens
        self.cost += record.cost
        if not record.priced:
            self.unpriced_calls += 1


@dataclass
class _Hiccup:
    """A retry or a fallback, kept so totals can be split by agent and model."""

    agent: str
    model: str
    kind: str  # "retry" | "fallback"


@dataclass
class UsageTracker:
    """Collects :class:`UsageRecord`s and retry/fallback counts; read with the ``totals`` helpers."""

    records: list[UsageRecord] = field(default_factory=list)
    _hiccups: list[_Hiccup] = field(default_factory=list, repr=False)

    def record(self, record: UsageRecord) -> None:
        """Store one finished call."""
        self.records.append(record)

    def note_retry(self, agent: str, model: str) -> None:
        """Count one retry of a call made for ``agent`` on ``model``."""
        self._hiccups.append(_Hiccup(agent, model, "retry"))

    def note_fallback(self, agent: str, model: str) -> None:
        """Count one fallback away from ``model`` for a call made for ``agent``."""
        self._hiccups.append(_Hiccup(agent, model, "fallback"))

    def totals(self) -> UsageTotals:
        """Totals of the whole run (every call this tracker saw)."""
        return self._sum(self.records, self._hiccups)

    def by_agent(self) -> dict[str, UsageTotals]:
        """Totals per agent name, in first-seen order."""
        return self._group(lambda r: r.agent, lambda h: h.agent)

    def by_model(self) -> dict[str, UsageTotals]:
        """Totals per model id, in first-seen order."""
        return self._group(lambda r: r.model, lambda h: h.model)

    def reset(self) -> None:
        """Forget everything (start counting a new run with the same client)."""
        self.records.clear()
        self._hiccups.clear()

    def _group(
        self, rkey: Callable[[UsageRecord], str], hkey: Callable[[_Hiccup], str]
    ) -> dict[str, UsageTotals]:
        out: dict[str, UsageTotals] = {}
        for rec in self.records:
            out.setdefault(rkey(rec), UsageTotals()).add(rec)
        for hic in self._hiccups:
            self._count(out.setdefault(hkey(hic), UsageTotals()), hic)
        return out

    @classmethod
    def _sum(cls, records: Iterable[UsageRecord], hiccups: Iterable[_Hiccup]) -> UsageTotals:
        totals = UsageTotals()
        for rec in records:
            totals.add(rec)
        for hic in hiccups:
            cls._count(totals, hic)
        return totals

    @staticmethod
    def _count(totals: UsageTotals, hic: _Hiccup) -> None:
        if hic.kind == "retry":
            totals.retries += 1
        else:
            totals.fallbacks += 1
