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
from tuiagents.llm.settings import ConfigListSettings, KeySource, ModelEntry

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
    raw, source, file = _read_source(env_or_file, file_location)
    data = _parse(raw, source)
    # positions are places in the list as written, so that a resumed run finds the entry again
    numbered = list(enumerate(data, start=1))
    if filter_dict:
        kept = [(n, item) for n, item in numbered if _matches(item, filter_dict) != exclude]
        if data and not kept:  # an empty pick would only start a run with nothing to reply
            models = ", ".join(sorted({str(item.get("model")) for item in data}))
            raise ConfigListError(
                f"filter_dict {dict(filter_dict)}{' with exclude = true' if exclude else ''} keeps none of "
                f"the {len(data)} entries of {source} (models: {models}); change filter_dict or exclude")
        numbered = kept
    entries: list[ModelEntry] = []
    seen: dict[str, int] = {}
    for position, item in numbered:
        entry = _entry_from_autogen(item, source, position, (env_or_file, file))
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


def _parse(raw: str, source: str) -> list[dict[str, Any]]:
    """The list's entries, each key told to the scrubber; a clear error that quotes no content."""
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
    return data


def key_again(entry: ModelEntry) -> ModelEntry:
    """``entry`` (from a session header: no key) with the key of the list entry ``entry.key_from``.

    The list is read from the same place as the first time (the same file, or the JSON in the same
    variable) and the entry is the one at the same position, or, if the list changed, the only one
    with the same model and endpoint. The key goes only to the endpoint it was listed with: an entry
    that now names another ``base_url`` is refused. Raises :class:`ConfigListError` naming the
    entry and where it looked.
    """
    ref = entry.key_from
    if ref is None or entry.api_key is not None:
        return entry
    wanted = f"model entry {entry.name!r} sent the key of {ref.describe()}"
    if ref.file is None:
        raw = os.environ.get(ref.env_or_file)
        if raw is None or not raw.strip().startswith(("[", "{")):
            raise ConfigListError(f"{wanted}; ${ref.env_or_file} no longer holds that JSON list: "
                                  f"export it again")
        source = f"environment variable {ref.env_or_file}"
    else:
        try:
            raw = _read_file(Path(ref.file), False)
        except ConfigListError as exc:
            raise ConfigListError(f"{wanted}; {exc}: restore the file") from None
        source = f"file {ref.file}"
    items = list(enumerate(_parse(raw, source), start=1))

    def same(item: Mapping[str, Any]) -> bool:
        url = item.get("base_url") or item.get("azure_endpoint")
        return item.get("model") == ref.model and secrets.scrub_url(url) == secrets.scrub_url(entry.base_url)

    at = dict(items).get(ref.position)
    if at is None or not same(at):
        matches = [item for _, item in items if same(item)]
        at = matches[0] if len(matches) == 1 else None
    if at is None or not at.get("api_key"):
        why = "it is not there any more" if at is None else "it has no api_key any more"
        raise ConfigListError(f"{wanted}; {why} (looked for model {ref.model} at "
                              f"{secrets.scrub_url(entry.base_url) or 'the default endpoint'}); restore "
                              "the entry")
    # the header holds the URL and headers scrubbed; the list holds them as they are to be sent
    update: dict[str, Any] = {"api_key": SecretStr(str(at["api_key"])),
                              "base_url": at.get("base_url") or at.get("azure_endpoint") or None}
    headers = at.get("default_headers")
    if isinstance(headers, dict) and entry.extra_headers is not None and set(map(str, headers)) == set(entry.extra_headers):
        update["extra_headers"] = {str(k): str(v) for k, v in headers.items()}
    return entry.model_copy(update=update)


def _read_source(env_or_file: str, file_location: str | os.PathLike = "", *,
                 describe_only: bool = False) -> tuple[str, str, str | None]:
    """The JSON text, a description of where it came from (never its content), and the file read
    (its absolute path; None when the variable holds the JSON)."""
    value = os.environ.get(env_or_file)
    if value is not None:
        stripped = value.strip()
        if stripped.startswith(("[", "{")):
            return ("" if describe_only else value), f"environment variable {env_or_file}", None
        path = Path(stripped).expanduser()
        if path.is_file():
            return (_read_file(path, describe_only), f"file {path} (named by ${env_or_file})",
                    str(path.resolve()))
        raise ConfigListError(
            f"environment variable {env_or_file} is neither JSON nor the path of an existing file; "
            f"set it to a JSON list of models or to the path of such a file"
        )
    path = Path(file_location).expanduser() / env_or_file
    if path.is_file():
        return _read_file(path, describe_only), f"file {path}", str(path.resolve())
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


def _entry_from_autogen(item: Mapping[str, Any], source: str, position: int,
                        found: tuple[str, str | None]) -> ModelEntry:
    """Map one AutoGen entry onto a :class:`ModelEntry` (API key kept as a ``SecretStr``; where it
    was found, ``found`` = (env_or_file, file) and ``position``, in ``key_from``)."""
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
        fields["key_from"] = KeySource(env_or_file=found[0], file=found[1], position=position, model=model)
    ignored = sorted(set(item) - set(fields) - {"api_key", "azure_endpoint", "default_headers"})
    if ignored:
        log.debug("OAI_CONFIG_LIST entry %d (%s): ignoring keys %s", position, model, ", ".join(ignored))
    try:
        return ModelEntry(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigListError(f"{source}: entry {position} ({model}): {problems}") from None
