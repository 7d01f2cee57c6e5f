"""Errors of the LLM layer, worded for the person at the terminal.

:class:`LLMError` says which endpoints were tried, what failed on each and what to do next. Its
text is built only from entry names, model ids, redacted URLs and scrubbed API messages, so it never
contains an API key. :class:`StreamInterrupted` is the special case of a stream that broke after
part of the reply had already been shown to a caller that gave no ``on_discard`` to take it back:
it carries that partial text instead of silently retrying (which would show the start of the reply
twice). Callers that pass ``on_discard`` (the engine does) get retries and fallback instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuiagents.llm.retry import Failure
from tuiagents.llm.settings import ModelEntry


@dataclass(frozen=True)
class Attempt:
    """One failed attempt: the entry's name, its safe label and what went wrong."""

    entry: str
    label: str
    failure: Failure


class LLMError(Exception):
    """A completion could not be obtained.

    ``attempts`` lists every failed attempt in order; ``failure`` is the last one (None for a
    usage error such as an unknown entry name); ``partial`` is text already delivered through
    ``on_delta`` (only for :class:`StreamInterrupted`).
    """

    def __init__(self, message: str, *, attempts: list[Attempt] | None = None, partial: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.attempts = list(attempts or [])
        self.partial = partial

    @property
    def failure(self) -> Failure | None:
        """The last failure, if any attempt was made."""
        return self.attempts[-1].failure if self.attempts else None

    @property
    def status(self) -> int | None:
        """HTTP status of the last failure, when there was one."""
        return self.failure.status if self.failure else None

    @property
    def retryable(self) -> bool:
        """True when asking again later may work (every endpoint was down, rate-limited, ...)."""
        return bool(self.failure and self.failure.retryable)


class StreamInterrupted(LLMError):
    """The stream broke after part of the reply had been delivered to ``on_delta``."""


def final_error(agent: str, entry: ModelEntry, attempts: list[Attempt]) -> LLMError:
    """The error for a failure that no retry or fallback can fix (HTTP 4xx, bad configuration)."""
    failure = attempts[-1].failure
    what = f"{failure.short()}: {failure.message}" if failure.status else failure.message
    who = f" for agent {agent!r}" if agent else ""
    return LLMError(
        f"{entry.label()} refused the request{who} ({what}). Not retried and no fallback tried: "
        f"{failure.hint()}.",
        attempts=attempts,
    )


def interrupted_error(agent: str, entry: ModelEntry, attempts: list[Attempt], partial: str) -> StreamInterrupted:
    """The error for a stream that broke after ``partial`` had been shown."""
    failure = attempts[-1].failure
    who = f" for agent {agent!r}" if agent else ""
    return StreamInterrupted(
        f"The reply from {entry.label()}{who} broke off after {len(partial)} characters had been "
        f"streamed ({failure.short()}: {failure.message}). It was not retried automatically, so "
        f"the text shown is incomplete: discard it and ask again.",
        attempts=attempts,
        partial=partial,
    )


def exhausted_error(agent: str, chain: list[ModelEntry], attempts: list[Attempt]) -> LLMError:
    """The error when every entry of the fallback chain failed with retryable errors."""
    parts = []
    for entry in chain:
        mine = [a.failure for a in attempts if a.entry == entry.name]
        if not mine:
            continue
        kinds: dict[str, int] = {}
        for f in mine:
            kinds[f.short()] = kinds.get(f.short(), 0) + 1
        counted = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
        parts.append(f"{entry.label()}: {counted} (last: {mine[-1].message})")
    who = f" for agent {agent!r}" if agent else ""
    advice = _advice({a.failure.kind for a in attempts})
    return LLMError(
        f"No model endpoint answered{who}. Tried " + "; ".join(parts) + f". {advice}",
        attempts=attempts,
    )


def _advice(kinds: set[str]) -> str:
    tips = []
    if kinds & {"connection", "timeout"}:
        tips.append("check that the servers are running and reachable (base_url), or raise `timeout`")
    if "rate_limit" in kinds:
        tips.append("wait for the rate limit to reset or lower the number of parallel agents")
    if kinds & {"server", "stream", "malformed"}:
        tips.append("the server is failing; try again later")
    tips.append("add or adjust `fallback` entries in [[models]]")
    return "What to do: " + "; ".join(tips) + "."
