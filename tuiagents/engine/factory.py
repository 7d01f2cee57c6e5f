"""Builds a TeamRun from the config file: agents, model client, executors, limits, policies."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuiagents.engine.agent import AssistantAgent, ConversableAgent, UserProxyAgent
from tuiagents.engine.events import Notice
from tuiagents.engine.handoffs import enable_handoffs
from tuiagents.engine.run import TeamRun
from tuiagents.engine.settings import RunResources, RunSettings
from tuiagents.engine.supervisor import ApproveMode, Supervisor
from tuiagents.engine.termination import (
    AnyOf, CostBudget, MaxMessages, TerminationCondition, TextMention, Timeout, TokenBudget,
)
from tuiagents.engine.tools import load_tool
from tuiagents.templates import context_text

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
        agent.register_tool(load_tool(spec, config.tools_dir))
    return agent


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
    agents = [build_agent(config.agent(n), llm, config, work_dir, run_id, executors) for n in team.agents]
    settings = RunSettings(
        kind=team.kind, team_name=team.name, max_turns=team.max_turns, max_rounds=team.max_rounds,
        speaker_selection=team.speaker_selection, allow_repeat_speaker=team.allow_repeat_speaker,
        allowed_transitions=team.allowed_transitions, disallowed_transitions=team.disallowed_transitions,
        selector_model=team.selector_model, summary_method=team.summary_method, seed=seed,
        context={k: context_text(v) for k, v in (config.context or {}).items()})
    if team.kind == "swarm":
        for agent in agents:
            enable_handoffs(agent, config.agent(agent.name).handoffs, team.agents)
    run = TeamRun(agents, task, settings, termination=_termination(team), supervisor=Supervisor(approve),
                  selector_llm=llm, run_id=run_id,
                  resources=RunResources(executors=[e for e in executors.values() if e is not None],
                                         work_dir=work_dir, llm=llm))
    for agent in agents:  # e.g. a tool module beside the config shadowing an installed one
        run.startup_notices += [Notice(text=t.note, level="warning", agent=agent.name)
                                for t in agent.tools.values() if t.note]
    if llm is not None:
        async def notify(level: str, text: str) -> None:
            await run.notice(text, level if level in ("info", "warning", "error") else "info")

        llm.notify = notify
    return run
