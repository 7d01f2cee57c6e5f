"""What went wrong with one attempt, whether it is worth another, and how long to wait.

:func:`classify` turns whatever an attempt raised into a :class:`Failure`. Retryable failures
(timeouts, connection errors, 429, 5xx, a broken or malformed stream, an unreadable body) are
retried on the same entry with exponential backoff and full jitter, honouring ``Retry-After``
(capped), then fall back to the next entry. Any other HTTP 4xx is final: retrying or asking
another endpoint would not change a bad request, a bad key or an unknown model.
HTTP 408 counts as a timeout. Every text here goes through :func:`scrub` so keys never leak.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FailureKind = Literal[
    "rate_limit", "server", "timeout", "connection", "stream", "malformed", "client", "config"
]

_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|Bearer\s+[A-Za-z0-9_\-.=*]{8,})")

_HINTS = {
    401: "check the API key (api_key_env, OPENAI_API_KEY or the OAI_CONFIG_LIST entry)",
    403: "the key is not allowed to use this model or endpoint",
    404: "check the model id and base_url of the entry",
    413: "the request is too large; shorten the history or lower max_tokens",
}


class StreamBroken(Exception):
    """A stream ended badly (malformed chunk, error event, missing data) after it had started."""


class MalformedResponse(Exception):
    """A 200 response whose body is not a chat completion."""


class RequestTimedOut(Exception):
    """The whole request (sending, waiting, and reading every chunk) took longer than ``timeout``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete reply within the {seconds:g} s timeout")
        self.seconds = seconds


@dataclass(frozen=True)
class Failure:
    """One failed attempt, described safely enough to show a user."""

    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        """True when another attempt (same entry or a fallback) may succeed."""
        return self.kind not in ("client", "config")

    def short(self) -> str:
        """A few words for notices: ``429``, ``HTTP 503``, ``timeout``, ``malformed stream``."""
        if self.kind == "rate_limit":
            return "429 rate limit"
        if self.status is not None:
            return f"HTTP {self.status}"
        return {
            "stream": "stream broke",
            "malformed": "malformed response",
            "connection": "connection error",
            "config": "configuration error",
        }.get(self.kind, self.kind)

    def hint(self) -> str:
        """What the user can do about a final (non-retryable) failure."""
        if self.kind == "config":
            return "fix the [[models]] entry or the environment"
        return _HINTS.get(self.status or 0, "fix the request or the entry's settings; retrying will not help")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and anything shaped like an API key replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub("***", text)


def classify(exc: BaseException, secrets: Iterable[str] = ()) -> Failure | None:
    """Describe what ``exc`` (raised by one attempt) means for retrying and falling back.

    Returns None for exceptions that are not about the endpoint (bugs, cancellation): the
    caller re-raises those unchanged.
    """
    import openai  # lazy: keep openai out of `tuiagents --help`

    secrets = list(secrets)
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", "the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {type(cause).__name__}" if cause is not None else ""
        return Failure("connection", scrub(f"connection failed{detail}", secrets))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = scrub(_api_message(exc), secrets)
        if status == 429:
            return Failure("rate_limit", message, status, parse_retry_after(exc.response.headers))
        if status == 408:
            return Failure("timeout", message, status)
        if status >= 500:
            return Failure("server", message, status, parse_retry_after(exc.response.headers))
        return Failure("client", message, status)
    if isinstance(exc, openai.APIError):  # error event inside a stream
        return Failure("stream", scrub(f"error event in the stream: {_api_message(exc)}", secrets))
    if isinstance(exc, RequestTimedOut):
        return Failure("timeout", str(exc))
    if isinstance(exc, StreamBroken):
        return Failure("stream", scrub(str(exc), secrets))
    if isinstance(exc, MalformedResponse):
        return Failure("malformed", scrub(f"malformed response: {exc}", secrets)[:300])
    if isinstance(exc, openai.OpenAIError):
        return Failure("config", scrub(str(exc), secrets))
    return None


def _api_message(exc: Any) -> str:
    """The API's own error message (``error.message`` in the body), else the SDK's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return inner["message"]
    return str(getattr(exc, "message", "") or exc)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(
    retry_number: int,
    *,
    base: float,
    maximum: float,
    retry_after: float | None = None,
    retry_after_cap: float = 60.0,
) -> float:
    """Seconds to wait before retry number ``retry_number`` (1 for the first retry).

    ``Retry-After`` from the server wins, capped at ``retry_after_cap``. Otherwise "full jitter":
    a uniform random wait in ``[base/2, min(maximum, base * 2**(n-1))]``, so parallel agents hit
    by the same 429 do not all come back at the same instant.
    """
    if retry_after is not None:
        return min(retry_after, retry_after_cap)
    ceiling = min(maximum, base * (2 ** max(0, retry_number - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling)
