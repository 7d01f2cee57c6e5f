"""AutoGen's ``OAI_CONFIG_LIST``, accepted unchanged, and filters over model entries.

An ``OAI_CONFIG_LIST`` is a JSON list of objects such as::

    [{"model": "gpt-4o", "api_key": "sk-...", "tags": ["fast"]},
     {"model": "llama3", "base_url": "http://127.0.0.1:11434/v1", "api_key": "ollama"}]

It is found as AutoGen finds it: the environment variable's content when it is JSON, else the file
that variable names, else a file path given directly. Keys read: ``model``, ``api_key``,
``base_url``, ``api_type``, ``api_version``, ``tags``, ``price`` and, when present, ``name``,
``temperature``, ``max_tokens``, ``timeout``, ``max_retries``, ``default_headers``. Other AutoGen
keys are ignored. ``price`` keeps AutoGen's meaning (USD per **1K** tokens) and is converted to the
per-1M prices of :class:`~tuiagents.llm.settings.ModelEntry`. API keys are kept in memory only, as
``SecretStr``; no error message here ever quotes the file's content.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from tuiagents import secrets
from tuiagents.llm.settings import ConfigListSettings, ModelEntry

log = logging.getLogger(__name__)

_AZURE_TYPES = {"azure", "azure_openai", "azure-openai"}


class ConfigListError(ValueError):
    """An ``OAI_CONFIG_LIST`` could not be found or read; the message says where and why."""


def load_oai_config_list(
    env_or_file: str = "OAI_CONFIG_LIST", filter_dict: Mapping[str, Any] | None = None, *,
    file_location: str | os.PathLike = "", exclude: bool = False,
) -> list[ModelEntry]:
    """Load model entries from an AutoGen ``OAI_CONFIG_LIST``, like ``config_list_from_json``.

    ``env_or_file`` is an environment variable (holding JSON, or a path to a JSON file) or, when no
    such variable is set, a file name looked up in ``file_location``. ``filter_dict`` keeps
    AutoGen's semantics: ``{"model": ["gpt-4o"], "tags": ["fast"]}`` keeps entries whose value is
    one of the listed ones (for list values such as ``tags``: that share at least one);
    ``exclude=True`` keeps the entries that do not match instead. Entries get ``name = model``
    unless they carry a ``name``; a repeated name gets a ``#2``, ``#3`` suffix.
    """
    raw, source = _read_source(env_or_file, file_location)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigListError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    except RecursionError:
        raise ConfigListError(f"{source} is nested too deeply to be a list of models") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ConfigListError(f"{source} must hold a JSON list of objects, one per model")
    for item in data:  # filtered-out entries' keys are known to the process too: never show them
        _register_secrets(item)
    if filter_dict:
        kept = [item for item in data if _matches(item, filter_dict) != exclude]
        if data and not kept:  # an empty pick would only start a run with nothing to reply
            models = ", ".join(sorted({str(item.get("model")) for item in data}))
            raise ConfigListError(
                f"filter_dict {dict(filter_dict)}{' with exclude = true' if exclude else ''} keeps none of "
                f"the {len(data)} entries of {source} (models: {models}); change filter_dict or exclude")
        data = kept
    entries: list[ModelEntry] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(data, start=1):
        entry = _entry_from_autogen(item, source, position)
        count = seen.get(entry.name, 0) + 1
        seen[entry.name] = count
        if count > 1:
            entry = entry.model_copy(update={"name": f"{entry.name}#{count}"})
        entries.append(entry)
    return entries


def filter_entries(
    entries: Iterable[ModelEntry],
    model: str | Iterable[str] | None = None,
    tags: str | Iterable[str] | None = None,
) -> list[ModelEntry]:
    """Entries whose model id is ``model`` (or one of several) and that carry any of ``tags``."""
    models = _as_set(model)
    wanted_tags = _as_set(tags)
    out = []
    for entry in entries:
        if models is not None and entry.model not in models:
            continue
        if wanted_tags is not None and not wanted_tags.intersection(entry.tags):
            continue
        out.append(entry)
    return out


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    return set(value)


def load_config_list(settings: ConfigListSettings, search: Iterable[str | os.PathLike] = (), *,
                     required: bool = True) -> tuple[list[ModelEntry], str | None]:
    """The entries of the ``OAI_CONFIG_LIST`` that ``settings`` describe, and where it was found.

    A relative ``file_location`` is tried in each folder of ``search`` in turn (the working dir
    first, as AutoGen does). When nothing is found: ``([], None)`` unless ``required``, then
    :class:`ConfigListError`.
    """
    location = Path(settings.file_location).expanduser()
    folders = [location] if location.is_absolute() else [Path(f) / location for f in search] or [location]
    if settings.env_or_file not in os.environ:
        found = next((f for f in folders if (f / settings.env_or_file).is_file()), None)
        if found is None:
            if not required:
                return [], None
            tried = ", ".join(str(f / settings.env_or_file) for f in folders)
            raise ConfigListError(
                f"no OAI_CONFIG_LIST found: ${settings.env_or_file} is not set and there is no file {tried}; "
                f"export {settings.env_or_file} (a JSON list of models, or a file's path) or fix "
                f"[config_list] file_location")
        location = found
    entries = load_oai_config_list(settings.env_or_file, settings.filter_dict, file_location=location,
                                   exclude=settings.exclude)
    return entries, _read_source(settings.env_or_file, location, describe_only=True)[1]


def _read_source(env_or_file: str, file_location: str | os.PathLike = "", *,
                 describe_only: bool = False) -> tuple[str, str]:
    """Return the JSON text and a description of where it came from (never its content)."""
    value = os.environ.get(env_or_file)
    if value is not None:
        stripped = value.strip()
        if stripped.startswith(("[", "{")):
            return ("" if describe_only else value), f"environment variable {env_or_file}"
        path = Path(stripped).expanduser()
        if path.is_file():
            return _read_file(path, describe_only), f"file {path} (named by ${env_or_file})"
        raise ConfigListError(
            f"environment variable {env_or_file} is neither JSON nor the path of an existing file; "
            f"set it to a JSON list of models or to the path of such a file"
        )
    path = Path(file_location).expanduser() / env_or_file
    if path.is_file():
        return _read_file(path, describe_only), f"file {path}"
    raise ConfigListError(
        f"no OAI_CONFIG_LIST found: {env_or_file!r} is neither a set environment variable nor an "
        f"existing file; export it with a JSON list of models, or pass the file's path"
    )


def _read_file(path: Path, describe_only: bool) -> str:
    if describe_only:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigListError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _register_secrets(item: Mapping[str, Any]) -> None:
    """Tell the scrubber an entry's key, URL credentials and header values (whatever their types)."""
    key = item.get("api_key")
    if isinstance(key, str):
        secrets.register(key)
    for url_key in ("base_url", "azure_endpoint"):
        if isinstance(item.get(url_key), str):
            secrets.register_url(item[url_key])
    headers = item.get("default_headers")
    if isinstance(headers, dict):
        secrets.register_headers({str(k): v for k, v in headers.items() if isinstance(v, str)})


def _matches(item: Mapping[str, Any], filter_dict: Mapping[str, Any]) -> bool:
    """AutoGen's ``filter_config`` rule for one raw entry."""
    for key, accepted in filter_dict.items():
        if accepted is None:
            continue
        accepted_values = [accepted] if isinstance(accepted, (str, int, float, bool)) else list(accepted)
        value = item.get(key)
        if isinstance(value, (list, tuple, set)):
            if not any(v in accepted_values for v in value):
                return False
        elif value not in accepted_values:
            return False
    return True


def _entry_from_autogen(item: Mapping[str, Any], source: str, position: int) -> ModelEntry:
    """Map one AutoGen entry onto a :class:`ModelEntry` (API key kept as a ``SecretStr``)."""
    model = item.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigListError(f"{source}: entry {position} has no 'model'")
    api_type = str(item.get("api_type") or "openai").lower()
    fields: dict[str, Any] = {
        "name": item.get("name") or model,
        "model": model,
        "base_url": item.get("base_url") or item.get("azure_endpoint"),
        "api_type": "azure" if api_type in _AZURE_TYPES else "openai",
        "api_version": item.get("api_version"),
        "tags": item.get("tags") or [],
    }
    price = item.get("price")
    if price is not None:
        if (not isinstance(price, (list, tuple)) or len(price) != 2
                or not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in price)):
            raise ConfigListError(f"{source}: entry {position} ({model}): price must be [prompt, completion], "
                                  "two numbers in USD per 1K tokens")
        fields["price"] = (float(price[0]) * 1000.0, float(price[1]) * 1000.0)
    for key in ("temperature", "max_tokens", "timeout", "max_retries"):
        if item.get(key) is not None:
            fields[key] = item[key]
    if isinstance(item.get("default_headers"), dict):
        fields["extra_headers"] = {str(k): str(v) for k, v in item["default_headers"].items()}
    key = item.get("api_key")
    if key:
        fields["api_key"] = SecretStr(str(key))
    ignored = sorted(set(item) - set(fields) - {"api_key", "azure_endpoint", "default_headers"})
    if ignored:
        log.debug("OAI_CONFIG_LIST entry %d (%s): ignoring keys %s", position, model, ", ".join(ignored))
    try:
        return ModelEntry(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigListError(f"{source}: entry {position} ({model}): {problems}") from None
