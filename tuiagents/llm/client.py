"""The LLM client the engine calls: one ``complete()`` with cache, retries, fallback and usage.

Each :class:`~tuiagents.llm.settings.ModelEntry` gets its own ``openai.AsyncOpenAI`` (or
``AsyncAzureOpenAI``), created on first use and reused. Requests go through the SDK's documented
low-level ``client.post("/chat/completions", ...)`` rather than ``chat.completions.create()``: the
latter re-validates and transforms the whole message history on every call, which grows with the
conversation (see ``bench/bench_llm_overhead.py``), while ``post`` keeps the SDK's HTTP handling,
error types and response types; a streamed reply is read from the raw response by
:mod:`tuiagents.llm.sse`. The SDK's own retries are off (``max_retries=0``): this module retries
so that every retry and fallback can be reported through ``notify``. An entry's ``timeout`` bounds
each whole attempt (connecting, waiting, and reading every chunk), not each read.

``openai`` is imported lazily, inside methods, so importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import json
import re
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from tuiagents.llm.cache import ResponseCache, cache_key
from tuiagents.llm.endpoints import EndpointConfigError, build_body, make_sdk_client
from tuiagents.llm.endpoints import sdk as sdk_names
from tuiagents.llm.errors import Attempt, LLMError, exhausted_error, final_error, interrupted_error
from tuiagents.llm.pricing import cost_usd, price_for
from tuiagents.llm.retry import Failure, MalformedResponse, RequestTimedOut, backoff_delay, classify, scrub
from tuiagents.llm.settings import LLMSettings, ModelEntry
from tuiagents.llm.sse import raw_response_type, read_sse
from tuiagents.llm.streaming import (
    DeltaCallback,
    DiscardCallback,
    DraftDiscard,
    Reply,
    StreamProgress,
    call_maybe_async,
    estimate_usage,
    parse_completion,
)
from tuiagents.llm.types import ToolCall
from tuiagents.llm.usage import UsageRecord, UsageTracker

log = logging.getLogger(__name__)

NotifyCallback = Callable[[str, str], "Awaitable[None] | None"]


async def _within(seconds: float, call: Awaitable[Reply]) -> Reply:
    """Await ``call`` for at most ``seconds`` (``asyncio.TimeoutError`` after that)."""
    if hasattr(asyncio, "timeout"):  # Python 3.11+: no extra task per call
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


class Completion(BaseModel):
    """The answer to one :meth:`LLMClient.complete` call.

    ``model`` is the model the server says answered; ``entry`` the configured entry used (after
    any fallback). ``cached`` answers cost 0 and their tokens are those of the original call.
    """

    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    model: str
    entry: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cached: bool = False
    finish_reason: str | None = None
    usage_estimated: bool = False  # the server reported no usage; tokens are estimates


class LLMClient:
    """Completes chat requests over a list of model entries, with fallback between them.

    ``notify(level, text)`` (sync or async) hears about retries and fallbacks, e.g.
    ``("warning", "429 rate limit from default, retrying in 1.2 s (attempt 2/4)")``; the engine
    turns these into Notice events. ``usage`` holds token and cost totals for the run.
    """

    def __init__(
        self,
        entries: list[ModelEntry],
        settings: LLMSettings | None = None,
        notify: NotifyCallback | None = None,
    ) -> None:
        if not entries:
            raise ValueError("no model entries: configure at least one [[models]] entry")
        self.entries: dict[str, ModelEntry] = {}
        for entry in entries:
            if entry.name in self.entries:
                raise ValueError(f"two model entries are named {entry.name!r}; names must be unique")
            self.entries[entry.name] = entry
        for entry in entries:
            unknown = [name for name in entry.fallback if name not in self.entries]
            if unknown:
                raise ValueError(
                    f"model entry {entry.name!r} falls back to unknown entries {unknown}; "
                    f"known: {list(self.entries)}"
                )
        self.settings = settings or LLMSettings()
        self.notify = notify
        self.usage = UsageTracker()
        self._clients: dict[str, Any] = {}
        self._building: dict[str, asyncio.Future[tuple[Any, str | None]]] = {}
        self._secrets: set[str] = set()
        self._no_stream_options: set[str] = set()
        self._cache = ResponseCache(self.settings.cache_dir) if self.settings.cache_seed is not False else None

    def __repr__(self) -> str:
        return f"LLMClient(entries={list(self.entries)}, cache_seed={self.settings.cache_seed!r})"

    def chain(self, start: str | None = None) -> list[ModelEntry]:
        """The entries tried for a call starting at ``start``: it, then its ``fallback`` list,
        or (without one) every other entry in configuration order."""
        name = start or next(iter(self.entries))
        if name not in self.entries:
            raise LLMError(f"unknown model entry {name!r}; configured entries: {', '.join(self.entries)}")
        first = self.entries[name]
        rest = first.fallback if first.fallback else [n for n in self.entries if n != name]
        return [first] + [self.entries[n] for n in rest if n != name]

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        entry: str | None = None,
        tools: list[dict[str, Any]] | None = None,
        agent: str = "",
        on_delta: DeltaCallback | None = None,
        on_discard: DiscardCallback | None = None,
        stream: bool | None = None,
        response_format: Any = None,
    ) -> Completion:
        """Ask for the next assistant message.

        Starts at entry ``entry`` (default: the first configured), retries retryable failures with
        backoff, then falls back along :meth:`chain`. Text deltas go to ``on_delta`` as they arrive
        (once, whole, for non-streamed and cached answers). A stream that breaks after some text
        reached ``on_delta`` is retried like any other transient failure when ``on_discard`` is
        given: it first hears a :class:`DraftDiscard` (that text is void; the next attempt starts
        the reply again). Without ``on_discard`` such a break raises :class:`StreamInterrupted`,
        since the text shown cannot be taken back. ``agent`` is sent as the request's
        ``user`` and used for usage accounting. ``response_format`` is an OpenAI response-format
        dict or a pydantic model class. Raises :class:`LLMError` when no endpoint could answer.
        """
        use_stream = self.settings.stream if stream is None else stream
        chain = self.chain(entry)
        attempts: list[Attempt] = []
        for position, current in enumerate(chain):
            body = build_body(current, messages, tools, response_format, agent, use_stream)
            if current.name in self._no_stream_options:
                body.pop("stream_options", None)
            key = self._cache_key(body, current)
            if key is not None and (hit := self._cache.get(key)) is not None:  # type: ignore[union-attr]
                return await self._from_cache(hit, current, agent, on_delta)
            last = position + 1 == len(chain)
            outcome = await self._try_entry(current, body, use_stream, agent, (on_delta, on_discard), attempts, last)
            if isinstance(outcome, Reply):
                if key is not None:
                    self._cache.put(key, outcome)  # type: ignore[union-attr]
                return self._account(estimate_usage(outcome, messages), current, agent)
            failure = outcome
            if position + 1 < len(chain):
                nxt = chain[position + 1]
                self.usage.note_fallback(agent, current.model)
                reason = failure.short()
                if failure.retry_after is not None and failure.retry_after > self.settings.retry_after_cap:
                    reason += f" (asked to wait {failure.retry_after:.0f} s)"
                await self._notify("warning", f"falling back from {current.name} to {nxt.name}: {reason}")
        raise exhausted_error(agent, chain, attempts)

    async def _try_entry(
        self,
        current: ModelEntry,
        body: dict[str, Any],
        use_stream: bool,
        agent: str,
        callbacks: tuple[DeltaCallback | None, DiscardCallback | None],
        attempts: list[Attempt],
        last: bool,
    ) -> Reply | Failure:
        """Attempt ``current`` up to ``max_retries + 1`` times: the reply, or the last retryable
        failure once retries are used up. Final failures raise :class:`LLMError`.

        A server asking to wait longer than ``retry_after_cap`` (an exhausted quota, say) is not
        waited for when another entry can be tried (``last`` is False): we fall back at once."""
        on_delta, on_discard = callbacks
        total = current.max_retries + 1
        failure = Failure("config", "not attempted")
        number = 0
        while number < total:
            number += 1
            progress = StreamProgress()
            try:
                client = await self._client_for(current)
                return await self._attempt(client, current, body, use_stream, on_delta, progress)
            except LLMError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below, unknown ones re-raised
                failure = classify(exc, self._secrets)
                if failure is None:
                    raise
                attempts.append(Attempt(current.name, current.label(), failure))
                log.info("LLM attempt %d/%d on %s failed: %s", number, total, current.name, failure.message)
                if progress.delivered:
                    if on_discard is None:
                        raise interrupted_error(agent, current, attempts, progress.text) from None
                    discard = DraftDiscard(current.name, progress.text, f"{failure.short()}: {failure.message}")
                    await call_maybe_async(on_discard, discard)
                if failure.kind == "client" and self._drop_stream_options(current, body, failure):
                    attempts.pop()
                    number -= 1  # a changed request, not a retry
                    continue
                if not failure.retryable:
                    raise final_error(agent, current, attempts) from None
            cap = self.settings.retry_after_cap
            if not last and failure.retry_after is not None and failure.retry_after > cap:
                break  # asked to wait longer than we are willing to: fall back now
            if number < total:
                delay = backoff_delay(
                    number,
                    base=self.settings.retry_base_delay,
                    maximum=self.settings.retry_max_delay,
                    retry_after=failure.retry_after,
                    retry_after_cap=cap,
                )
                self.usage.note_retry(agent, current.model)
                await self._notify(
                    "warning",
                    f"{failure.short()} from {current.name}, retrying in {delay:.1f} s "
                    f"(attempt {number + 1}/{total})",
                )
                await asyncio.sleep(delay)
        return failure

    def _drop_stream_options(self, current: ModelEntry, body: dict[str, Any], failure: Failure) -> bool:
        """Some servers refuse ``stream_options``: drop it for this entry (usage then may be 0)."""
        if "stream_options" not in body or "stream_options" not in failure.message:
            return False
        del body["stream_options"]
        self._no_stream_options.add(current.name)
        log.info("%s refuses stream_options; streaming without usage reports", current.name)
        return True

    async def _attempt(
        self,
        client: Any,
        current: ModelEntry,
        body: dict[str, Any],
        use_stream: bool,
        on_delta: DeltaCallback | None,
        progress: StreamProgress,
    ) -> Reply:
        """One HTTP request through ``client.post``, read to the end within the entry's ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + current.timeout
        try:
            return await _within(current.timeout, self._request(client, current, body, use_stream, on_delta, progress))
        except asyncio.TimeoutError:
            if loop.time() < deadline:
                raise  # not ours: some other wait inside timed out
            raise RequestTimedOut(current.timeout) from None

    async def _request(
        self,
        client: Any,
        current: ModelEntry,
        body: dict[str, Any],
        use_stream: bool,
        on_delta: DeltaCallback | None,
        progress: StreamProgress,
    ) -> Reply:
        sdk = sdk_names()
        try:
            if use_stream:
                raw = raw_response_type(client)
                response = await _post(client, body, cast_to=raw, stream=True)
                return await read_sse(response, current.model, on_delta, progress)
            response = await _post(client, body, cast_to=sdk.ChatCompletion)
        except json.JSONDecodeError:
            raise MalformedResponse("the body is not valid JSON") from None
        reply = parse_completion(response, current.model)
        if reply.content and on_delta is not None:
            await call_maybe_async(on_delta, reply.content)
        return reply

    def _cache_key(self, body: dict[str, Any], entry: ModelEntry) -> str | None:
        if self._cache is None or self.settings.cache_seed is False:
            return None
        return cache_key(body, self.settings.cache_seed, f"{entry.api_type} {entry.display_url()}")

    async def _from_cache(
        self, hit: Reply, current: ModelEntry, agent: str, on_delta: DeltaCallback | None
    ) -> Completion:
        """Answer from the cache: no request; deltas once, whole; counted as cached, cost 0."""
        if hit.content:
            await call_maybe_async(on_delta, hit.content)
        return self._record(hit, current, agent, cost=0.0, cached=True, priced=True)

    def _account(self, reply: Reply, current: ModelEntry, agent: str) -> Completion:
        """Price a fresh reply, record its usage and wrap it as a :class:`Completion`."""
        price = price_for(current.model, current.price)
        cost = cost_usd(reply.prompt_tokens, reply.completion_tokens, price)
        return self._record(reply, current, agent, cost=cost, cached=False, priced=price is not None)

    def _record(
        self, reply: Reply, current: ModelEntry, agent: str, *, cost: float, cached: bool, priced: bool
    ) -> Completion:
        tokens = (reply.prompt_tokens, reply.completion_tokens)
        self.usage.record(UsageRecord(agent, current.name, current.model, *tokens, cost, cached, priced))
        return Completion(
            content=reply.content,
            tool_calls=reply.tool_calls,
            model=reply.model,
            entry=current.name,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost=cost,
            cached=cached,
            finish_reason=reply.finish_reason,
            usage_estimated=reply.usage_estimated,
        )

    async def _client_for(self, current: ModelEntry) -> Any:
        """The SDK client of ``current``, created on first use (configuration errors: LLMError).

        It is built in a worker thread: the first one imports ``openai`` and makes an SSL context
        (0.25-0.3 s here), which on the event loop would hold the app's first frame and its keys.
        Concurrent first calls of one entry share the one build.
        """
        client = self._clients.get(current.name)
        if client is not None:
            return client
        building = self._building.get(current.name)
        if building is None:
            building = asyncio.ensure_future(asyncio.to_thread(make_sdk_client, current))
            self._building[current.name] = building
        try:
            client, secret = await asyncio.shield(building)
        except EndpointConfigError as exc:
            failure = Failure("config", scrub(str(exc), self._secrets))
            raise final_error("", current, [Attempt(current.name, current.label(), failure)]) from None
        finally:
            if building.done() and self._building.get(current.name) is building:
                del self._building[current.name]
        if secret:
            self._secrets.add(secret)
        return self._clients.setdefault(current.name, client)

    async def _notify(self, level: str, text: str) -> None:
        """Tell ``notify`` (if any) about a retry or fallback; its own errors are only logged."""
        log.info("%s", text)
        try:
            await call_maybe_async(self.notify, level, scrub(text, self._secrets))
        except Exception:  # noqa: BLE001 - a broken listener must not break the call
            log.exception("the LLM notify callback failed")

    async def aclose(self) -> None:
        """Close every SDK client and the cache. The client may be used again afterwards."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
        if self._cache is not None:
            self._cache.close()


async def _post(client: Any, body: dict[str, Any], **kwargs: Any) -> Any:
    """``client.post`` of a chat request; a history holding lone surrogates is sent as U+FFFD.

    A model may send a lone surrogate (JSON allows ``\\ud800``); UTF-8 cannot carry one, so
    the request body could not be encoded and the run would fail on the next turn.
    """
    try:
        return await client.post("/chat/completions", body=body, **kwargs)
    except UnicodeEncodeError:
        return await client.post("/chat/completions", body=utf8_safe(body), **kwargs)


def utf8_safe(value: Any) -> Any:
    """A copy of a JSON-like value whose strings hold no lone surrogate (each becomes U+FFFD)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _has_surrogate(value) else value
    if isinstance(value, dict):
        return {key: utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [utf8_safe(item) for item in value]
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
