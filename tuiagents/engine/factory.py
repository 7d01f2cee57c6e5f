"""Builds a TeamRun from the config file: agents, model client, executors, limits, policies."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuiagents.engine.agent import AssistantAgent, ConversableAgent, UserProxyAgent
from tuiagents.engine.events import Notice
from tuiagents.engine.handoffs import enable_handoffs
from tuiagents.engine.nested import NestedChat, register_nested_chats
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunResources, RunSettings, StageSettings
from tuiagents.engine.supervisor import ApproveMode, Supervisor
from tuiagents.engine.termination import (
    AnyOf, CostBudget, MaxMessages, TerminationCondition, TextMention, Timeout, TokenBudget,
)
from tuiagents.engine.tool_servers import ToolServers, wanted_tools
from tuiagents.engine.tools import load_tool
from tuiagents.templates import context_text
from tuiagents.mcp_tools.settings import MCP_PREFIX

if TYPE_CHECKING:
    from tuiagents.config import AgentConfig, AppConfig, TeamConfig
    from tuiagents.execution.base import CodeExecutor
    from tuiagents.llm.client import LLMClient

_KINDS = {"assistant": AssistantAgent, "user_proxy": UserProxyAgent, "conversable": ConversableAgent}


def _termination(team: "TeamConfig") -> TerminationCondition | None:
    # Stopping from outside needs no condition here: the UI and Ctrl+C call run.request_stop().
    parts: list[TerminationCondition] = []
    if team.termination_text:
        parts.append(TextMention(team.termination_text))
    if team.max_messages:
        parts.append(MaxMessages(team.max_messages))
    if team.max_tokens:
        parts.append(TokenBudget(team.max_tokens))
    if team.max_cost is not None:
        parts.append(CostBudget(team.max_cost))
    if team.timeout:
        parts.append(Timeout(team.timeout))
    return AnyOf(parts) if parts else None


def make_executor(kind: str, config: "AppConfig", work_dir: Path, session_id: str) -> "CodeExecutor | None":
    """The code executor an agent's `code_execution` setting asks for (None for "none")."""
    if kind == "docker":
        from tuiagents.execution.docker_executor import DockerExecutor

        return DockerExecutor(config.docker, work_dir, session_id)
    if kind == "local":
        from tuiagents.execution.local_executor import LocalExecutor

        return LocalExecutor(config.local_execution, work_dir)
    return None


def build_agent(cfg: "AgentConfig", llm: "LLMClient | None", config: "AppConfig", work_dir: Path,
                session_id: str, executors: "dict[str, CodeExecutor | None]") -> ConversableAgent:
    """One agent from its `[[agents]]` entry."""
    cls = _KINDS[cfg.kind]
    kw: dict[str, Any] = {"description": cfg.description} if cfg.description else {}
    if cfg.human_input_mode:
        kw["human_input_mode"] = cfg.human_input_mode
    model = cfg.model
    if model is None and cfg.kind == "assistant" and config.models:
        model = config.models[0].name
    code = cfg.code_execution or "none"
    if code != "none":
        if code not in executors:
            executors[code] = make_executor(code, config, work_dir, session_id)
        kw["code_executor"] = executors[code]
    args: list[Any] = [cfg.name]
    if cfg.system_message is not None:  # `[context]` filled in (checked when the config was loaded)
        args.append(config.fill(cfg.system_message, f"agent {cfg.name!r} system message"))
    agent = cls(*args, llm=llm if model else None, model=model,
                max_consecutive_auto_reply=cfg.max_consecutive_auto_reply,
                termination_keyword=cfg.is_termination_msg or "TERMINATE",
                default_auto_reply=cfg.default_auto_reply, **kw)
    for spec in cfg.tools:
        if not spec.startswith(MCP_PREFIX):  # an MCP server's tools come once it runs (tool_servers.py)
            agent.register_tool(load_tool(spec, config.tools_dir))
    return agent


def team_settings(config: "AppConfig", team: "TeamConfig", seed: int | None = None) -> RunSettings:
    """How `team` runs; a sequence's stages each with their team's settings (the config was
    checked: no sequence contains itself)."""
    stages = []
    for stage in team.stages:
        inner = config.team(stage.team)
        own = team_settings(config, inner, seed)
        own.summary_method = stage.summary_method
        own.max_turns = stage.max_turns or own.max_turns
        own.max_rounds = stage.max_rounds or own.max_rounds
        task = config.fill(stage.task, f"team {team.name!r} stage {len(stages) + 1} task")
        stages.append(StageSettings(team=inner.name, task=task, settings=own, agents=list(inner.agents),
                                    termination=_termination(inner)))
    return RunSettings(
        kind=team.kind, team_name=team.name, max_turns=team.max_turns, max_rounds=team.max_rounds,
        speaker_selection=team.speaker_selection, allow_repeat_speaker=team.allow_repeat_speaker,
        allowed_transitions=team.allowed_transitions, disallowed_transitions=team.disallowed_transitions,
        selector_model=team.selector_model, summary_method=team.summary_method, seed=seed, stages=stages)


def _swarms(config: "AppConfig", team: "TeamConfig") -> list["TeamConfig"]:
    """The swarm teams a run of `team` runs: itself, or its stages' (a sequence's, at any depth)."""
    if team.kind == "swarm":
        return [team]
    return [s for stage in team.stages for s in _swarms(config, config.team(stage.team))]


def build_run(config: "AppConfig", team_name: str, task: str, *, approve: ApproveMode = "ask",
              work_dir: Path | None = None, run_id: str | None = None, seed: int | None = None) -> TeamRun:
    """A ready-to-run TeamRun for `team_name` of `config`, on `task`."""
    from tuiagents.paths import user_data_path

    team = config.team(team_name)
    llm = None
    if config.models:
        from tuiagents.llm.client import LLMClient

        llm = LLMClient(list(config.models), config.llm)
    run_id = run_id or uuid.uuid4().hex[:12]
    work_dir = work_dir or (user_data_path() / "work" / run_id)
    executors: dict[str, CodeExecutor | None] = {}
    # the team's agents, then the recipients of their nested chats (one agent object per name)
    built = {n: build_agent(config.agent(n), llm, config, work_dir, run_id, executors)
             for n in config.team_reach(team.name)}
    for name, agent in built.items():
        cfg = config.agent(name)
        if cfg.nested_chats:
            register_nested_chats(agent, [NestedChat(built[c.recipient], c.message, c.summary_method, c.max_turns)
                                          for c in cfg.nested_chats], cfg.nested_trigger)
    agents = [built[n] for n in team.agents]
    settings = team_settings(config, team, seed)
    settings.context = {k: context_text(v) for k, v in (config.context or {}).items()}
    for swarm in _swarms(config, team):
        for agent in agents:
            if agent.name in swarm.agents:
                enable_handoffs(agent, config.agent(agent.name).handoffs, swarm.agents)
    run = TeamRun(agents, task, settings, termination=_termination(team), supervisor=Supervisor(approve),
                  selector_llm=llm, run_id=run_id,
                  resources=RunResources(executors=[e for e in executors.values() if e is not None],
                                         work_dir=work_dir, llm=llm,
                                         tool_servers=ToolServers(
                                             config.mcp_servers,
                                             wanted_tools({n: config.agent(n).tools for n in built}),
                                             config.tools_dir)))
    for agent in built.values():  # e.g. a tool module beside the config shadowing an installed one
        run.startup_notices += [Notice(text=t.note, level="warning", agent=agent.name)
                                for t in agent.tools.values() if t.note]
    if llm is not None:
        async def notify(level: str, text: str) -> None:
            await run.notice(text, level if level in ("info", "warning", "error") else "info")

        llm.notify = notify
    return run
