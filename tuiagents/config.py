"""The config file: typed sections, cross-checks, and errors that name the file, key and fix.

Search order when no path is given: `$TUIAGENTS_CONFIG`, `./config.toml`, the user config dir.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from tuiagents.config_checks import handoff_problems, sequence_agents, sequence_problems, template_problems
from tuiagents.config_messages import explain_error, key_path
from tuiagents.config_nested import NestedChatConfig, nested_problems
from tuiagents.execution.settings import DockerSettings
from tuiagents.execution.settings import LocalSettings as LocalExecutionSettings
from tuiagents.llm.settings import ConfigListSettings, LLMSettings, ModelEntry
from tuiagents.mcp_tools.settings import McpServerSettings, mcp_tool_problems
from tuiagents.paths import user_config_path
from tuiagents.secrets import scrub_headers, scrub_url
from tuiagents.templates import ContextValue, fill_template

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _printable(name: str) -> str:
    """A name of the config is printable text: it reaches terminals, file names and logs as is."""
    if not name.strip():
        raise ValueError("a name cannot be empty")
    if not name.isprintable():
        raise ValueError(f"{name!r} holds control characters (escape sequences would reach the terminal); "
                         "rename it with printable characters")
    return name


#: an agent's or a team's name
Name = Annotated[str, AfterValidator(_printable)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class AgentConfig(_Strict):
    """One `[[agents]]` entry."""

    name: Name
    kind: Literal["assistant", "user_proxy", "conversable"] = "conversable"
    model: str | None = None
    system_message: str | None = None
    description: str = ""
    human_input_mode: Literal["ALWAYS", "TERMINATE", "NEVER"] | None = None
    # 0 is AutoGen's "never reply automatically"
    max_consecutive_auto_reply: int | None = Field(default=None, ge=0)
    code_execution: Literal["none", "docker", "local"] | None = None
    is_termination_msg: str | None = None  # the keyword; default TERMINATE
    tools: list[str] = Field(default_factory=list)  # "module:function" to import, or "mcp:SERVER[/TOOL]"
    default_auto_reply: str = ""
    #: swarm teams: the agents this one may hand the conversation to (`transfer_to_<name>` tools);
    #: "user" is the person, unless the team has an agent of that name
    handoffs: list[str] = Field(default_factory=list)

    #: chats the agent runs, in order, to reply to a message from a `nested_trigger` agent
    nested_chats: list[NestedChatConfig] = Field(default_factory=list)
    #: agent names (or "human", "all") whose messages start the nested chats
    nested_trigger: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_nested(self) -> "AgentConfig":
        if self.nested_chats and not self.nested_trigger:
            raise ValueError(f"agent {self.name!r} has nested_chats but no nested_trigger: list the agents "
                             f"whose messages start them, e.g. nested_trigger = [\"writer\"]")
        if self.nested_trigger and not self.nested_chats:
            raise ValueError(f"agent {self.name!r} has a nested_trigger but no nested_chats to run")
        return self


class StageConfig(_Strict):
    """One stage of a `kind = "sequence"` team: another team, on its task."""

    team: str
    task: str
    summary_method: Literal["last_msg", "reflection"] = "last_msg"  # what the next stages are given
    max_turns: int | None = Field(default=None, ge=1)  # instead of the stage team's own
    max_rounds: int | None = Field(default=None, ge=1)


class TeamConfig(_Strict):
    """One `[[teams]]` entry: a two-agent chat, a group chat, a swarm or a sequence of teams, and when it stops."""

    name: Name
    kind: Literal["two_agent", "group_chat", "swarm", "sequence"] = "two_agent"
    #: a sequence's are its stages' agents, in first-seen order (filled in at load)
    agents: list[str] = Field(default_factory=list)
    #: a sequence's stages, run one after the other, each given the summaries of those before it
    stages: list[StageConfig] = Field(default_factory=list)
    max_turns: int | None = Field(default=None, ge=1)
    speaker_selection: Literal["auto", "round_robin", "random", "manual"] = "auto"
    max_rounds: int = Field(default=12, ge=1)
    allow_repeat_speaker: bool = True
    allowed_transitions: dict[str, list[str]] | None = None
    disallowed_transitions: dict[str, list[str]] | None = None
    selector_model: str | None = None
    max_messages: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)  # USD
    timeout: float | None = Field(default=None, gt=0)  # wall-clock seconds
    termination_text: str | None = None  # stop when any message mentions this text
    summary_method: Literal["last_msg", "reflection"] = "last_msg"
    task: str | None = None  # default task when none is given

    @model_validator(mode="after")
    def _check(self) -> "TeamConfig":
        if self.kind == "two_agent" and len(self.agents) != 2:
            raise ValueError(f"a two_agent team needs exactly 2 agents, got {len(self.agents)}")
        if self.kind == "group_chat" and len(self.agents) < 2:
            raise ValueError("a group_chat team needs at least 2 agents")
        if self.kind == "swarm" and len(self.agents) < 2:
            raise ValueError("a swarm team needs at least 2 agents")
        if self.kind == "sequence" and not self.stages:
            raise ValueError('a sequence team needs stages: stages = [{ team = "NAME", task = "..." }, ...]')
        if self.kind != "sequence" and self.stages:
            raise ValueError('stages are for kind = "sequence" teams; remove them or set kind = "sequence"')
        if self.allowed_transitions and self.disallowed_transitions:
            raise ValueError("set allowed_transitions or disallowed_transitions, not both")
        return self


class UISettings(_Strict):
    """`[ui]`: theme, code style, bell."""

    theme: str = "tuiagents-dark"
    code_style: str = "monokai"
    bell: bool = True
    stream_interval_ms: int = Field(default=50, ge=1, le=10_000)


class LocalModelSettings(_Strict):
    """`[local]`: the llama.cpp server started by `tuiagents --local`."""

    model_path: str | None = None
    port: int = Field(default=0, ge=0, le=65535)  # 0: any free port
    n_ctx: int = Field(default=4096, ge=1)


class SessionSettings(_Strict):
    """`[session]`: where logs and work dirs go."""

    dir: str | None = None


class AppConfig(_Strict):
    """The whole config file."""

    models: list[ModelEntry] = Field(default_factory=list)
    agents: list[AgentConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    ui: UISettings = Field(default_factory=UISettings)
    keymap: dict[str, str] = Field(default_factory=dict)
    local: LocalModelSettings = Field(default_factory=LocalModelSettings)
    local_execution: LocalExecutionSettings = Field(default_factory=LocalExecutionSettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
    #: AutoGen's OAI_CONFIG_LIST: looked for by default; with this section, it must be found.
    config_list: ConfigListSettings | None = None
    #: MCP servers whose tools agents name as "mcp:NAME" (all) or "mcp:NAME/TOOL" (one).
    mcp_servers: list[McpServerSettings] = Field(default_factory=list)
    #: Where `tools = ["module:function"]` modules are looked for first: the config file's folder
    #: (a relative value is relative to it); kept absolute in the snapshot, so a resume finds them.
    tools_dir: str | None = None
    #: `[context]`: variables that fill `{name}` in system messages and tasks (templates.py);
    #: None (no table) fills nothing, so texts are used as written
    context: dict[str, ContextValue] | None = None

    def fill(self, text: str, where: str) -> str:
        """`text` with this config's `[context]` filled in (TemplateError naming `where` if it cannot be)."""
        return fill_template(text, self.context, where)

    def agent(self, name: str) -> AgentConfig:
        """The agent named `name` (the config was checked, so it exists)."""
        return next(a for a in self.agents if a.name == name)

    def team_reach(self, name: str) -> list[str]:
        """The agents a run of team `name` may hear from: its own, then the recipients of their
        nested chats (and of those recipients' own nested chats), each once."""
        by_name = {a.name: a for a in self.agents}
        reach = list(self.team(name).agents)
        for agent in reach:  # grows while it is read: recipients of recipients are reached too
            for nested in by_name[agent].nested_chats if agent in by_name else []:
                if nested.recipient not in reach:
                    reach.append(nested.recipient)
        return reach

    def team(self, name: str) -> TeamConfig:
        """The team named `name`, or a ConfigError listing the teams there are."""
        for t in self.teams:
            if t.name == name:
                return t
        names = ", ".join(t.name for t in self.teams) or "none defined"
        raise ConfigError(f"no team named {name!r} (teams: {names})")

    def snapshot(self) -> dict[str, Any]:
        """The config without secrets, for session log headers."""
        data = self.model_dump(mode="json", exclude={"keymap"})
        for m in data.get("models", []):
            m.pop("api_key", None)
            m["base_url"] = scrub_url(m.get("base_url"))
            m["extra_headers"] = scrub_headers(m.get("extra_headers"))
        data["mcp_servers"] = [s.snapshot() for s in self.mcp_servers]
        return data


class ConfigError(Exception):
    """A config problem explained for a person: file, key path and what to change."""

    def __init__(self, message: str, path: Path | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


def _cross_check(cfg: AppConfig) -> list[str]:
    problems: list[str] = []
    models = {m.name for m in cfg.models}
    agents = {a.name for a in cfg.agents}
    for kind, names in (("models", [m.name for m in cfg.models]), ("agents", [a.name for a in cfg.agents]),
                        ("teams", [t.name for t in cfg.teams]),
                        ("mcp_servers", [s.name for s in cfg.mcp_servers])):
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"{kind}: duplicate name(s) {', '.join(dupes)}; names must be unique")
    for i, a in enumerate(cfg.agents):
        if a.model and a.model not in models:
            problems.append(f"agents[{i}].model: agent {a.name!r} names model {a.model!r}, "
                            f"which is not defined; add a [[models]] entry named {a.model!r} (or an "
                            f"OAI_CONFIG_LIST entry with that model or name) "
                            f"or use one of: {', '.join(sorted(models)) or '(no models defined)'}")
        if a.model is None and a.kind == "assistant":
            problems.append(f"agents[{i}].model: assistant {a.name!r} has no model, and there is none to "
                            f"give it: set model = \"NAME\" with a [[models]] entry of that name, or "
                            f"provide an OAI_CONFIG_LIST (an agent with no model uses the whole list)")
    problems += mcp_tool_problems([(a.name, a.tools) for a in cfg.agents], {s.name for s in cfg.mcp_servers})
    for i, m in enumerate(cfg.models):
        for fb in m.fallback:
            if fb not in models:
                problems.append(f"models[{i}].fallback: unknown model {fb!r}")
    problems += sequence_problems(cfg.teams)
    for i, t in enumerate(cfg.teams):
        if t.kind == "sequence":
            continue  # its agents are its stages' (see _with_sequence_agents)
        for j, n in enumerate(t.agents):
            if n not in agents:
                problems.append(f"teams[{i}].agents[{j}]: team {t.name!r} names agent {n!r}, which is "
                                f"not defined; add an [[agents]] entry named {n!r} or remove it")
        if t.selector_model and t.selector_model not in models:
            problems.append(f"teams[{i}].selector_model: unknown model {t.selector_model!r}")
        for key in ("allowed_transitions", "disallowed_transitions"):
            for src, dsts in (getattr(t, key) or {}).items():
                for n in [src, *dsts]:
                    if n not in t.agents:
                        problems.append(f"teams[{i}].{key}: {n!r} is not an agent of team {t.name!r}")
    return (problems + handoff_problems(cfg.agents, cfg.teams) + template_problems(cfg.agents, cfg.teams, cfg.context)
            + nested_problems(cfg.agents, cfg.context))


def _with_sequence_agents(cfg: AppConfig) -> AppConfig:
    """`cfg` with each sequence's `agents` set to its stages' (what a run starts with and shows)."""
    if not any(t.kind == "sequence" for t in cfg.teams):
        return cfg
    by_name = {t.name: t for t in cfg.teams}
    teams = [t.model_copy(update={"agents": sequence_agents(by_name, t)}) if t.kind == "sequence" else t
             for t in cfg.teams]
    return cfg.model_copy(update={"teams": teams})


def _models_in_use(cfg: AppConfig) -> set[str]:
    """The models a team calls first: agents', the default one, speaker selectors', and the entries
    they name as `fallback` (the implicit fall back to every other entry is not counted)."""
    first = cfg.models[0].name if cfg.models else None
    wanted = {a.model or (first if a.kind == "assistant" else None) for a in cfg.agents}
    wanted |= {t.selector_model for t in cfg.teams}
    by_name = {m.name: m for m in cfg.models}
    todo = [n for n in wanted if n]
    used: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in used and name in by_name:
            used.add(name)
            todo.extend(by_name[name].fallback)
    return used


def _keys_again(cfg: AppConfig, path: Path | None) -> list[ModelEntry]:
    """`cfg.models`, each whose key came from an OAI_CONFIG_LIST entry (a session header's) with
    that entry's key read again from where it was found. A model in use whose entry is not found
    again is a ConfigError naming it; any other keeps no key, so it fails only if it is called."""
    from tuiagents.llm.config_list import ConfigListError, key_again

    in_use = _models_in_use(cfg)
    models = []
    for m in cfg.models:
        try:
            models.append(key_again(m))
        except ConfigListError as exc:
            if m.name in in_use:
                raise ConfigError(str(exc), path) from None
            models.append(m)
    return models


def _with_config_list(cfg: AppConfig, path: Path | None) -> AppConfig:
    """`cfg` plus the models of AutoGen's OAI_CONFIG_LIST, when one is found.

    A `[[models]]` entry wins over a list entry of the same name. Without a `[config_list]`
    section a missing list is fine (the config may name its own models); with one, it is an error.
    """
    from tuiagents.llm.config_list import ConfigListError, load_config_list

    models = _keys_again(cfg, path)
    settings = cfg.config_list or ConfigListSettings()
    search = [Path.cwd()] + ([path.parent] if path is not None and path.parent.resolve() != Path.cwd().resolve() else [])
    try:
        entries, _ = load_config_list(settings, search, required=cfg.config_list is not None)
    except ConfigListError as exc:
        raise ConfigError(f"OAI_CONFIG_LIST: {exc}", path) from None
    names = {m.name for m in models}
    added = [e for e in entries if e.name not in names]
    if added or models != cfg.models:
        cfg = cfg.model_copy(update={"models": [*models, *added]})
    return _default_models(cfg, [e.name for e in entries], own=names)


def _default_models(cfg: AppConfig, listed: list[str], own: set[str]) -> AppConfig:
    """`cfg` with a model for every assistant that names none: the whole list, as AutoGen's
    ``llm_config={"config_list": ...}`` gives it.

    With an OAI_CONFIG_LIST, its first entry, falling back through the rest of the list in order
    (so a `[[models]]` entry kept for users without a list, like the example's "default", never
    takes over); without one, the first `[[models]]` entry, falling back through the others. The
    choice is written into the agents (and the first entry's `fallback`), so the config snapshot a
    session log keeps rebuilds the same run on resume. With no model at all, the agent keeps
    none and the cross-check names it.
    """
    needy = {id(a) for a in cfg.agents if a.model is None and a.kind == "assistant"}
    if not needy or not cfg.models:
        return cfg
    start = listed[0] if listed else cfg.models[0].name
    models = list(cfg.models)
    first = next(i for i, m in enumerate(models) if m.name == start)
    if listed and start not in own and len(listed) > 1:  # a [[models]] entry keeps its own fallback
        models[first] = models[first].model_copy(update={"fallback": listed[1:]})
    agents = [a.model_copy(update={"model": start}) if id(a) in needy else a for a in cfg.agents]
    return cfg.model_copy(update={"models": models, "agents": agents})


def parse_config(data: dict[str, Any], path: Path | None = None) -> AppConfig:
    """Validate a config dict; raise ConfigError with every problem found."""
    try:
        cfg = AppConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = key_path(err["loc"])
            msg = explain_error(err, AppConfig)
            lines.append(f"  {loc or '(top level)'}: {msg}")
        raise ConfigError("invalid config:\n" + "\n".join(lines), path) from None
    cfg = _with_config_list(cfg, path)
    problems = _cross_check(cfg)
    if problems:
        raise ConfigError("invalid config:\n" + "\n".join("  " + p for p in problems), path)
    return _with_sequence_agents(cfg)


def find_config(explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file to use: `--config`, `$TUIAGENTS_CONFIG`, `./config.toml`, user config dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("TUIAGENTS_CONFIG")
    if env:
        return Path(env)
    for candidate in (Path("config.toml"), user_config_path() / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | os.PathLike) -> AppConfig:
    """Read and validate a TOML config file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found; pass --config FILE or copy config.toml.example", p) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", p) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", p) from None
    except RecursionError:
        raise ConfigError("not valid TOML: arrays or tables nested thousands deep", p) from None
    folder = p.resolve().parent
    tools_dir = data.get("tools_dir")
    data["tools_dir"] = str(folder / Path(tools_dir).expanduser()) if isinstance(tools_dir, str) else \
        (tools_dir if "tools_dir" in data else str(folder))
    return parse_config(data, p)


def load_app_config(path: str | os.PathLike | None, *, required: bool = True) -> AppConfig | None:
    """The config to use (see the search order), or None when none exists and none is required."""
    found = find_config(path)
    if found is None:
        if required:
            raise ConfigError("no config file found: pass --config FILE, set $TUIAGENTS_CONFIG, "
                              "copy config.toml.example to ./config.toml, or run `tuiagents` once to set one up")
        return None
    return load_config(found)
