"""Typed settings of the LLM layer: one :class:`ModelEntry` per configured endpoint, plus
:class:`LLMSettings` for what applies to every call (cache, streaming, retry pacing).

The config module builds these from ``[[models]]`` tables of ``config.toml``; AutoGen users can also
bring an ``OAI_CONFIG_LIST`` (see :mod:`tuiagents.llm.config_list`). This module imports neither
``openai`` nor anything else heavy, so ``tuiagents --help`` stays fast.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tuiagents import secrets

#: Key used for a local server (Ollama, llama.cpp, the scripted test server) that needs none.
DUMMY_API_KEY = "not-needed"


class KeySource(BaseModel):
    """Where an entry's inline key came from: one entry of an ``OAI_CONFIG_LIST``, never the key.

    It travels in the session header so that a resumed or forked run reads the same entry's key
    again, from the same place: ``file`` (an absolute path) or, when None, the JSON held by the
    environment variable ``env_or_file``. ``position`` is the entry's 1-based place in the list
    (before any ``filter_dict``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    env_or_file: str = Field(min_length=1, description="The variable or file name the list was found by.")
    file: str | None = Field(default=None, description="The file read; None: the variable's JSON.")
    position: int = Field(ge=1, description="1-based place of the entry in the list.")
    model: str = Field(min_length=1, description="The entry's model, to recognise it again.")

    def where(self) -> str:
        """The place the list is read from, for messages."""
        if self.file is None:
            return f"the JSON in environment variable {self.env_or_file}"
        return f"file {self.file}"

    def describe(self) -> str:
        """The entry and its place, for messages: ``entry 2 (model gpt-4o) of OAI_CONFIG_LIST file ...``."""
        return f"entry {self.position} (model {self.model}) of the OAI_CONFIG_LIST in {self.where()}"


class ModelEntry(BaseModel):
    """One model endpoint agents can use, referred to by ``name``.

    ``base_url=None`` follows the ``openai`` client's own environment (``OPENAI_BASE_URL``,
    ``OPENAI_API_KEY``). The key is read from ``api_key_env`` when given, else from an in-memory
    ``api_key`` (set only from an ``OAI_CONFIG_LIST`` entry, which ``key_from`` names; the key is
    never dumped, logged or shown), else from the client's environment, but only for the endpoint
    that environment configures (see :meth:`environment_key_applies`): a key goes nowhere else. ``price`` is USD per 1M
    prompt / completion tokens; without it a built-in table of approximate prices is used.
    ``fallback`` names the entries tried, in order, when this one keeps failing with a timeout,
    a connection error, a 429 or a 5xx.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, allow_inf_nan=False)

    name: str = Field(min_length=1, description="What agents refer to.")
    model: str = Field(min_length=1, description="Model id sent to the API.")
    base_url: str | None = Field(default=None, description="None: OPENAI_BASE_URL or api.openai.com.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the key.")
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    key_from: KeySource | None = Field(
        default=None, description="The OAI_CONFIG_LIST entry whose inline key this entry sends.")
    api_type: Literal["openai", "azure"] = "openai"
    api_version: str | None = Field(default=None, description="Azure API version.")
    price: tuple[float, float] | None = Field(
        default=None, description="USD per 1M prompt tokens, per 1M completion tokens."
    )
    tags: list[str] = Field(default_factory=list)
    timeout: float = Field(
        default=600.0, gt=0,
        description="Seconds for a whole request, from sending it to its last streamed token.")
    max_retries: int = Field(default=3, ge=0, le=100, description="Retries on this entry before falling back.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    fallback: list[str] = Field(default_factory=list, description="Entries to fall back to, in order.")
    extra_headers: dict[str, str] | None = None
    extra_body: dict[str, Any] | None = None

    @field_validator("price")
    @classmethod
    def _price_not_negative(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and (value[0] < 0 or value[1] < 0):
            raise ValueError("price must be two non-negative numbers: USD per 1M prompt, completion tokens")
        return value

    def model_post_init(self, __context: Any) -> None:
        """Tell the process-wide scrubber every secret this entry knows, before anything is shown."""
        self.register_secrets()

    def register_secrets(self) -> None:
        """Register the key, the key variable's value, URL credentials and credential headers."""
        if self.api_key is not None:
            secrets.register(self.api_key.get_secret_value())
        if self.api_key_env:
            secrets.register(os.environ.get(self.api_key_env))
        secrets.register_url(self.effective_base_url())  # OPENAI_BASE_URL too, when it is the one used
        secrets.register_headers(self.extra_headers)

    def resolved_api_key(self) -> str | None:
        """The key to send, or None to let the ``openai`` client read its own environment.

        Raises :class:`ValueError` (without any key material) when ``api_key_env`` names an
        unset variable.
        """
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if not value:
                raise ValueError(
                    f"model entry {self.name!r}: environment variable {self.api_key_env} is not set; "
                    f"export it or remove api_key_env from the entry"
                )
            secrets.register(value)
            return value
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.key_from is not None:  # its key was not read again: no other key may stand in for it
            raise ValueError(f"model entry {self.name!r}: the key of {self.key_from.describe()} was not "
                             f"found again; restore that entry")
        return None

    def environment_key_applies(self) -> bool:
        """True when the client's environment key (``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``) is
        meant for this entry's endpoint: the entry has no ``base_url`` of its own, or its
        ``base_url`` is the endpoint the environment names (``OPENAI_BASE_URL`` /
        ``AZURE_OPENAI_ENDPOINT``; without it, OpenAI's own API). Any other server never gets it."""
        if not self.base_url:
            return True
        env_url = os.environ.get("OPENAI_BASE_URL" if self.api_type == "openai" else "AZURE_OPENAI_ENDPOINT")
        if env_url:
            return _same_endpoint(self.base_url, env_url)
        return self.api_type == "openai" and _same_endpoint(self.base_url, "https://api.openai.com/v1")

    def effective_base_url(self) -> str | None:
        """``base_url``, else the ``OPENAI_BASE_URL`` the client will follow (None: OpenAI's)."""
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or None

    def display_url(self) -> str:
        """The endpoint for messages: host and path only, never credentials or query strings."""
        url = self.effective_base_url()
        if not url:
            return "api.openai.com" if self.api_type == "openai" else "azure (AZURE_OPENAI_ENDPOINT)"
        return redact_url(url)

    def label(self) -> str:
        """Short human description, e.g. ``default (gpt-4o @ 127.0.0.1:8080/v1)``."""
        return f"{self.name} ({self.model} @ {self.display_url()})"


def redact_url(url: str) -> str:
    """Strip the scheme, any ``user:password@`` part and the query string from ``url``."""
    rest = url.split("://", 1)[-1]
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    host, sep, path = rest.partition("/")
    host = host.rsplit("@", 1)[-1]
    return (host + sep + path).rstrip("/")


def _same_endpoint(a: str, b: str) -> bool:
    """Whether two base URLs name one endpoint (scheme, host and path; case of the host ignored)."""
    def norm(url: str) -> tuple[str, str]:
        scheme = url.split("://", 1)[0].lower() if "://" in url else "https"
        host, _, path = redact_url(url).partition("/")
        return f"{scheme}://{host.lower()}", path.rstrip("/")
    return norm(a) == norm(b)


class LLMSettings(BaseModel):
    """Settings for every LLM call of a run.

    ``cache_seed`` works like AutoGen's: responses are cached on disk per seed; another seed gives
    fresh answers; ``False`` disables the cache. ``cache_dir`` defaults to the user cache folder
    (``platformdirs.user_cache_dir("tuiagents")``). ``stream`` is the default for calls that do not
    say. The retry pacing fields are exposed so tests and impatient users can shrink them:
    the n-th retry waits a random time in ``[0, min(retry_max_delay, retry_base_delay * 2**(n-1))]``
    unless the server sent ``Retry-After``, which is honoured up to ``retry_after_cap`` seconds.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    cache_seed: int | Literal[False] = 41
    cache_dir: str | None = None
    stream: bool = True
    retry_base_delay: float = Field(default=1.0, ge=0)
    retry_max_delay: float = Field(default=20.0, ge=0)
    retry_after_cap: float = Field(default=60.0, ge=0)

    @field_validator("cache_seed", mode="before")
    @classmethod
    def _no_true_seed(cls, value: Any) -> Any:
        if value is True:
            raise ValueError("cache_seed is an integer seed, or false to disable the cache")
        return value


#: A value `filter_dict` accepts for a key: one value, or a list of them (AutoGen's form).
FilterValue = str | int | float | bool


class ConfigListSettings(BaseModel):
    """Where AutoGen's ``OAI_CONFIG_LIST`` is found and which of its entries to keep (``[config_list]``).

    Found the way AutoGen's ``config_list_from_json(env_or_file, file_location, filter_dict)`` finds
    it: the environment variable ``env_or_file`` holding the JSON or a file's path, else the file
    ``file_location/env_or_file``. ``filter_dict`` keeps entries whose value for every key is one of
    the listed values (a list value such as ``tags``: shares one); ``exclude = true`` keeps the others.
    """

    model_config = ConfigDict(extra="forbid")

    env_or_file: str = Field(default="OAI_CONFIG_LIST", min_length=1)
    file_location: str = ""
    filter_dict: dict[str, list[FilterValue] | FilterValue] | None = None
    exclude: bool = False
