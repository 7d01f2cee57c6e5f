"""What the first-run setup writes: checks of what the person typed, the config text, the file.

No Textual here: the setup screen (`setup_screen.py`) collects a `ModelChoice`, these functions
check it, render a commented `config.toml` with a two-agent team and a group chat (like
config.toml.example), and write it under the user config dir without overwriting a file silently.
A key is never written: the config names the environment variable that holds it (`api_key_env`).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

ChoiceKind = Literal["openai", "compatible", "local", "autogen"]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
LLAMA_CPP_URL = "http://127.0.0.1:8080/v1"  # llama.cpp's server when started by hand
FALLBACK_IMAGE = "python:3.12-slim"
SANDBOX_IMAGE = "tuiagents-sandbox:latest"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LIST_NAME = "OAI_CONFIG_LIST"  # AutoGen's default env_or_file


@dataclass
class FoundList:
    """An AutoGen ``OAI_CONFIG_LIST`` found as AutoGen finds it, described without its content.

    `env_or_file` and `file_location` are what a ``[config_list]`` section needs to find the same
    list again from any folder: the file's name and its folder, or (`file_location` empty) the
    environment variable that holds the JSON itself.
    """

    source: str  # where it was found, in words
    models: list[str]  # the entries' names, in order (never keys or URLs)
    env_or_file: str
    file_location: str = ""


@dataclass
class ModelChoice:
    """How the agents reach a model: OpenAI, an OpenAI-compatible URL, a local GGUF file, or a
    found OAI_CONFIG_LIST (`found`)."""

    kind: ChoiceKind
    model: str = DEFAULT_OPENAI_MODEL
    key_env: str | None = DEFAULT_KEY_ENV  # the variable holding the key (None: no key)
    base_url: str | None = None
    model_path: str | None = None
    found: FoundList | None = None


def find_config_list(cwd: Path | None = None) -> FoundList | None:
    """The ``OAI_CONFIG_LIST`` AutoGen's ``config_list_from_json()`` would use here, when it holds
    at least one usable entry: ``$OAI_CONFIG_LIST`` (the JSON, or a file's path), else a file of
    that name in the working dir. A list that does not load is not offered."""
    import os

    from tuiagents.llm.config_list import ConfigListError, load_config_list
    from tuiagents.llm.settings import ConfigListSettings

    folder = (cwd or Path.cwd()).resolve()
    try:
        entries, source = load_config_list(ConfigListSettings(env_or_file=LIST_NAME), [folder], required=False)
    except ConfigListError:
        return None
    if not entries or source is None:
        return None
    value = os.environ.get(LIST_NAME)
    if value is not None and value.strip().startswith(("[", "{")):
        return FoundList(source, [e.name for e in entries], LIST_NAME)
    path = Path(value.strip()).expanduser().resolve() if value is not None else folder / LIST_NAME
    return FoundList(source, [e.name for e in entries], path.name, str(path.parent))


# -- checks: each returns a sentence saying what to fix, or None ---------------------------------------
def looks_like_key(text: str) -> bool:
    """True when `text` looks like an API key itself rather than a variable name."""
    text = text.strip()
    return text.startswith(("sk-", "sk_", "gsk_", "xai-")) or (len(text) >= 32 and not _ENV_NAME.match(text))


def check_model(text: str) -> str | None:
    """The model id sent to the API: not empty, no spaces."""
    text = text.strip()
    if not text:
        return "Type the model name, for example gpt-4o-mini (OpenAI) or llama3.2 (Ollama)."
    if any(c.isspace() or ord(c) < 32 for c in text):
        return f"The model name cannot contain spaces: {text!r}."
    return None


def check_key_env(text: str, *, required: bool) -> str | None:
    """The name of the environment variable holding the key (optional for local servers)."""
    text = text.strip()
    if not text:
        return "Type the name of the variable that holds your key, e.g. OPENAI_API_KEY." if required else None
    if looks_like_key(text):
        return ("That looks like a key itself. Type the NAME of the variable (e.g. OPENAI_API_KEY) and export "
                "the key in your shell; what you typed was cleared and not saved.")
    if not _ENV_NAME.match(text):
        return f"{text!r} is not a variable name: use letters, digits and _, e.g. OPENAI_API_KEY."
    return None


def check_base_url(text: str) -> str | None:
    """An http(s) URL with a host, such as http://127.0.0.1:11434/v1."""
    text = text.strip()
    if not text:
        return "Type the server's URL, for example http://127.0.0.1:11434/v1 (Ollama)."
    parsed = urllib.parse.urlparse(text)
    bad = ("The URL must look like http://127.0.0.1:11434/v1: http:// or https://, the host, "
           "optionally :port, then the API path (usually /v1).")
    if parsed.scheme not in ("http", "https") or not parsed.hostname or any(c.isspace() for c in text):
        return bad
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return bad
    return None


def check_model_path(text: str) -> str | None:
    """An existing .gguf file."""
    text = text.strip()
    if not text:
        return "Type the path of a .gguf model file, e.g. ~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf."
    path = Path(text).expanduser()
    if not path.exists():
        return f"There is no file at {path}: check the path."
    if not path.is_file():
        return f"{path} is a folder: give the .gguf file inside it."
    if path.suffix.lower() != ".gguf":
        return f"{path.name} is not a .gguf file: llama.cpp needs a GGUF model."
    return None


def check_choice(choice: ModelChoice) -> dict[str, str]:
    """Every problem with `choice`, keyed by the field it belongs to ("model", "key_env", ...)."""
    problems: dict[str, str | None] = {}
    if choice.kind == "autogen":
        return {}  # the list was found and loaded before it was offered
    if choice.kind == "local":
        problems["model_path"] = check_model_path(choice.model_path or "")
    else:
        if choice.kind == "compatible":
            problems["base_url"] = check_base_url(choice.base_url or "")
        problems["model"] = check_model(choice.model)
        problems["key_env"] = check_key_env(choice.key_env or "", required=choice.kind == "openai")
    return {k: v for k, v in problems.items() if v}


# -- the file ---------------------------------------------------------------------------------------------
def toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON escaping is valid TOML for these characters)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _list_section(found: FoundList) -> str:
    lines = ["# The models: AutoGen's OAI_CONFIG_LIST, read unchanged (keys stay in it, never here).",
             "# The agents below name no model, so each uses the whole list: its first entry, then the",
             "# next ones in order as fallbacks. Name an entry with `model = \"...\"` to pin an agent.",
             "[config_list]"]
    if found.file_location:
        lines += [f"env_or_file = {toml_string(found.env_or_file)}",
                  f"file_location = {toml_string(found.file_location)}   # found here by the first-run setup"]
    else:
        lines += [f"env_or_file = {toml_string(found.env_or_file)}   # the variable holding the JSON: "
                  "keep it exported in the shell that starts tuiagents"]
    lines.append('# filter_dict = { tags = ["fast"] }   # keep only some entries (AutoGen\'s filter_dict)')
    return "\n".join(lines)


def _model_section(choice: ModelChoice) -> str:
    if choice.kind == "autogen" and choice.found is not None:
        return _list_section(choice.found)
    lines = ["[[models]]", 'name = "default"                 # what the agents below refer to']
    if choice.kind == "local":
        lines += ['model = "local"',
                  (f"base_url = {toml_string(LLAMA_CPP_URL)}   # used without --local, when you start "
                   "llama.cpp's server yourself"),
                  "# `tuiagents --local` starts llama.cpp with [local] model_path and points every agent at it"]
    else:
        lines.append(f"model = {toml_string(choice.model.strip())}")
        if choice.kind == "compatible":
            lines.append(f"base_url = {toml_string((choice.base_url or '').strip())}")
        if choice.key_env and choice.key_env.strip():
            lines.append(f"api_key_env = {toml_string(choice.key_env.strip())}   # the variable holding your "
                         "key; the key itself is never stored here")
        elif choice.kind == "compatible":
            lines.append('# api_key_env = "MY_SERVER_KEY"      # if the server wants a key')
    lines += ["# price = [0.15, 0.60]               # USD per 1M prompt / completion tokens", "timeout = 120"]
    return "\n".join(lines)


_AGENTS_AND_TEAMS = '''
# Agents. kind: assistant (LLM) | user_proxy (you; runs the code you approve) | conversable.
[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "ALWAYS"
code_execution = "docker"        # none | docker | local (local runs UNSANDBOXED on this machine)
default_auto_reply = "Go on. If the task is done, give the final answer and end with TERMINATE."

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"

[[agents]]
name = "planner"
kind = "assistant"
model = "default"
human_input_mode = "NEVER"
description = "Breaks the task into small steps and decides what to do next."
system_message = "You are the planner. Break the task into short, numbered steps, assign coding steps to the coder and ask the critic to check results. When the critic confirms the task is done, reply TERMINATE."

[[agents]]
name = "coder"
kind = "assistant"
model = "default"
description = "Writes Python code that the user runs in the sandbox."

[[agents]]
name = "critic"
kind = "assistant"
model = "default"
human_input_mode = "NEVER"
description = "Checks outputs and code for mistakes and says whether the task is done."
system_message = "You are the critic. Read the code and its output. Point out concrete mistakes, or say clearly that the result is correct."

# Teams: `tuiagents --team pair` or `--team crew` (the first one is the default).
[[teams]]
name = "pair"
kind = "two_agent"
agents = ["user", "assistant"]   # the first one starts with the task
max_turns = 10

[[teams]]
name = "crew"
kind = "group_chat"
agents = ["user", "planner", "coder", "critic"]
speaker_selection = "auto"       # auto | round_robin | random | manual
max_rounds = 12
'''


def render_config(choice: ModelChoice, *, image: str = FALLBACK_IMAGE) -> str:
    """The text of a commented config.toml for `choice`, sandboxed in Docker with `image`."""
    head = (f"# tuiagents configuration, written by the first-run setup on {date.today().isoformat()}.\n"
            "# Edit it freely: every key is explained in config.toml.example (see the README).\n"
            "# Search order: --config FILE, $TUIAGENTS_CONFIG, ./config.toml, then this file.\n")
    image_note = ("" if image == SANDBOX_IMAGE else
                  "   # air-gapped? `tuiagents sandbox build`, then image = \"tuiagents-sandbox:latest\"")
    docker = (f"# The sandbox that runs the code you approve (`tuiagents doctor` checks it).\n[docker]\n"
              f"image = {toml_string(image)}{image_note}\nnetwork = \"none\"\nmemory = \"512m\"\ntimeout = 60\n")
    agents = _AGENTS_AND_TEAMS
    if choice.kind == "autogen":  # no agent names a model: each gets the whole list
        agents = agents.replace('model = "default"\n', "")
    parts = [head, _model_section(choice), agents, docker]
    if choice.kind == "local":
        path = str(Path(choice.model_path or "").expanduser().resolve())
        parts.append(f"[local]                          # `tuiagents --local`\nmodel_path = {toml_string(path)}\n")
    parts.append('[ui]\ntheme = "tuiagents-dark"         # tuiagents-dark | tuiagents-light | '
                 'tuiagents-high-contrast\n')
    return "\n".join(parts)


def backup_path(path: Path) -> Path:
    """Where an overwritten config is kept: `config.toml.bak`."""
    return path.with_name(path.name + ".bak")


def write_config(text: str, path: Path, *, overwrite: bool = False) -> Path:
    """Write `text` to `path` (creating its folders); an existing file is kept as .bak when
    `overwrite`, else FileExistsError. Returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if not overwrite:
            raise FileExistsError(str(path))
        path.replace(backup_path(path))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


# -- probes -------------------------------------------------------------------------------------------------
def probe_models(base_url: str, *, api_key: str | None = None, timeout: float = 5.0) -> tuple[bool, list[str], str]:
    """GET {base_url}/models: (answered, model ids, a sentence for the person). The key, and a
    `user:password@` in the URL (sent as basic auth; urllib takes none in a URL), are only sent:
    the sentence shows the URL without them."""
    url = base_url.strip().rstrip("/") + "/models"
    parts = urllib.parse.urlsplit(url)
    headers = {}
    if parts.username is not None or parts.password is not None:
        pair = f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        url = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = json.loads(resp.read().decode("utf-8", "replace") or "{}")
    except urllib.error.HTTPError as exc:
        hint = " (check the key variable)" if exc.code in (401, 403) else (
            " (is the path right? most servers use /v1)" if exc.code == 404 else "")
        return False, [], f"The server answered {url} with HTTP {exc.code}{hint}."
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, [], f"Cannot reach {url}: {reason}. Is the server running?"
    except ValueError:
        return False, [], f"{url} did not answer with JSON: is this an OpenAI-compatible API (usually under /v1)?"
    models = [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)] if isinstance(body, dict) else []
    return True, models, f"The server answered: {len(models)} model(s)."


def local_sandbox_image() -> str:
    """The offline sandbox image when this machine's Docker has it, else python:3.12-slim."""
    try:
        import docker

        client = docker.from_env(timeout=3)  # DOCKER_HOST or the default socket; short: the app may be quitting
        try:
            client.images.get(SANDBOX_IMAGE)
        finally:
            client.close()
        return SANDBOX_IMAGE
    except Exception:  # noqa: BLE001 - no daemon, no image or no SDK: the normal default
        return FALLBACK_IMAGE
