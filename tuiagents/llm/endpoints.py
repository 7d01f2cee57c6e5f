"""Building the ``openai`` SDK client for one model entry.

An entry with ``base_url`` talks to that server; without one it follows the SDK's environment
(``OPENAI_BASE_URL``, ``OPENAI_API_KEY``). The key comes from ``api_key_env``, the entry's in-memory
key (OAI_CONFIG_LIST), or the environment, the last only when the entry's endpoint is the one the
environment configures; any other server with no key of its own gets the dummy key
``"not-needed"`` (so Ollama and llama.cpp work out of the box), never someone else's key. Azure entries use
``AsyncAzureOpenAI`` (``base_url`` is the Azure endpoint, ``model`` the deployment). SDK retries are
disabled: :mod:`tuiagents.llm.client` does its own, to report them. ``openai`` is imported lazily.
"""

from __future__ import annotations

import functools
import os
from types import SimpleNamespace
from typing import Any

from tuiagents.llm.settings import DUMMY_API_KEY, ModelEntry


class EndpointConfigError(Exception):
    """An entry cannot be turned into a client (missing key, Azure without a version, ...)."""


@functools.cache
def sdk() -> SimpleNamespace:
    """The few ``openai`` names used per call, imported once, on first use."""
    import openai
    from openai.types.chat import ChatCompletion

    return SimpleNamespace(openai=openai, ChatCompletion=ChatCompletion)


def make_sdk_client(entry: ModelEntry) -> tuple[Any, str | None]:
    """A new ``AsyncOpenAI`` / ``AsyncAzureOpenAI`` for ``entry`` and the secret it holds (if any).

    Raises :class:`EndpointConfigError` with a message that says what to fix and quotes no key.
    """
    openai = sdk().openai
    try:
        key = entry.resolved_api_key()
    except ValueError as exc:
        raise EndpointConfigError(str(exc)) from None
    kwargs: dict[str, Any] = {"max_retries": 0, "timeout": entry.timeout}
    if entry.extra_headers:
        kwargs["default_headers"] = entry.extra_headers
    # Without a key of its own, the SDK would read the environment's key and send it to whatever
    # base_url the entry names: that key is only for the endpoint the environment configures.
    env_key = entry.environment_key_applies()
    try:
        if entry.api_type == "azure":
            if not key and not env_key:
                raise EndpointConfigError(
                    f"model entry {entry.name!r}: no API key for {entry.display_url()}; set api_key_env "
                    "on the entry (AZURE_OPENAI_API_KEY is only sent to AZURE_OPENAI_ENDPOINT)")
            client = openai.AsyncAzureOpenAI(
                api_key=key, api_version=entry.api_version, azure_endpoint=entry.base_url, **kwargs
            )
        else:
            if entry.base_url:
                kwargs["base_url"] = entry.base_url
            if not key and not (env_key and os.environ.get("OPENAI_API_KEY")):
                url = entry.effective_base_url()
                if not url or "api.openai.com" in url:
                    raise EndpointConfigError(
                        "no API key: export OPENAI_API_KEY, or set api_key_env on the entry "
                        "(a local server such as Ollama or llama.cpp needs only base_url)"
                    )
                key = DUMMY_API_KEY
            if key:
                kwargs["api_key"] = key
            client = openai.AsyncOpenAI(**kwargs)
    except (openai.OpenAIError, ValueError) as exc:
        raise EndpointConfigError(str(exc)) from None
    secret = getattr(client, "api_key", None)
    if not isinstance(secret, str) or not secret or secret == DUMMY_API_KEY:
        secret = None
    return client, secret


def build_body(
    entry: ModelEntry,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    response_format: Any,
    agent: str,
    stream: bool,
) -> dict[str, Any]:
    """The JSON body of a chat-completions request to ``entry`` (``messages`` is not copied).

    ``user`` carries the agent name; a streamed request asks for usage in its last chunk.
    ``entry.extra_body`` is merged last but one, so it can override sampling fields.
    """
    body: dict[str, Any] = {"model": entry.model, "messages": messages}
    if tools:
        body["tools"] = tools
    if entry.temperature is not None:
        body["temperature"] = entry.temperature
    if entry.max_tokens is not None:
        body["max_tokens"] = entry.max_tokens
    if response_format is not None:
        body["response_format"] = response_format_param(response_format)
    if entry.extra_body:
        body.update(entry.extra_body)
    if agent:
        body["user"] = agent
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def response_format_param(value: Any) -> Any:
    """A response-format dict unchanged, or a pydantic model class as a strict JSON schema."""
    from pydantic import BaseModel

    if isinstance(value, type) and issubclass(value, BaseModel):
        try:
            from openai.lib._parsing._completions import type_to_response_format_param
        except ImportError:  # private helper moved: send a plain (non-strict) JSON schema
            schema = {"name": value.__name__, "schema": value.model_json_schema(), "strict": False}
            return {"type": "json_schema", "json_schema": schema}
        return type_to_response_format_param(value)
    return value
