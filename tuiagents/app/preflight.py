"""`tuiagents doctor`: preflight checks of everything a run needs, each failure with its fix."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tuiagents.execution.doctor import CheckResult

if TYPE_CHECKING:
    from tuiagents.config import AppConfig
    from tuiagents.llm.settings import ModelEntry
    from tuiagents.mcp_tools.settings import McpServerSettings


async def _model_check(entry: "ModelEntry", timeout: float = 5.0) -> CheckResult:
    """Ask the endpoint for its model list: proves the URL, the key and the server answer."""
    import openai

    from tuiagents.llm.settings import DUMMY_API_KEY

    name = f"model {entry.name} ({entry.model})"
    key = entry.resolved_api_key() if hasattr(entry, "resolved_api_key") else None
    if not key and not entry.base_url and not _env("OPENAI_BASE_URL"):
        return CheckResult(name=name, ok=False, detail="no API key and no base_url",
                           fix="set OPENAI_API_KEY (or api_key_env), or base_url for a local server")
    client = openai.AsyncOpenAI(api_key=key or DUMMY_API_KEY, base_url=entry.base_url, timeout=timeout,
                                max_retries=0)
    try:
        models = await client.models.list()
        ids = [m.id for m in models.data]
    except openai.AuthenticationError:
        return CheckResult(name=name, ok=False, detail="the endpoint refused the API key",
                           fix=f"check the key in {entry.api_key_env or 'OPENAI_API_KEY'}")
    except openai.APIConnectionError:
        where = entry.base_url or _env("OPENAI_BASE_URL") or "api.openai.com"
        return CheckResult(name=name, ok=False, detail=f"cannot connect to {where}",
                           fix="start the server or fix base_url")
    except openai.APIStatusError as exc:
        return CheckResult(name=name, ok=False, detail=f"HTTP {exc.status_code} from the endpoint",
                           fix="check base_url (it usually ends in /v1)")
    finally:
        await client.close()
    if ids and entry.model not in ids:
        return CheckResult(name=name, ok=True, detail=f"answering; it does not list {entry.model!r} "
                                                      f"(lists {', '.join(ids[:5])})")
    return CheckResult(name=name, ok=True, detail="answering")


async def _mcp_check(settings: "McpServerSettings", folder: str | None) -> CheckResult:
    """Start the server as a run would, list its tools, and stop it."""
    from tuiagents.engine.tool_servers import in_folder
    from tuiagents.mcp_tools.client import McpServer, McpStartError

    server = McpServer(in_folder(settings, folder))
    name = f"MCP server {settings.name}"
    try:
        await server.start()
    except McpStartError as exc:
        first, _, rest = str(exc).partition("\n")
        return CheckResult(name=name, ok=False, detail=first.split(": ", 1)[-1] + ("\n" + rest if rest else ""),
                           fix=f"check its {'command' if settings.command else 'url'} in [[mcp_servers]] "
                               f"(name = \"{settings.name}\"), or run that command yourself to see it fail")
    finally:
        await server.close()
    tools = sorted(server.tools)
    shown = ", ".join(tools[:8]) + (", …" if len(tools) > 8 else "")
    return CheckResult(name=name, ok=True, detail=f"started; {len(tools)} tool(s): {shown or 'none'}")


def _env(name: str) -> str | None:
    import os

    return os.environ.get(name)


def image_fix(image: str, config_path: Path | None) -> str:
    """The complete fix for a missing sandbox image: a pull, or an offline build the config will use.

    Building `tuiagents-sandbox:latest` helps only if `[docker] image` names it, so the advice
    either builds the configured tag or says which line to set, and in which file.
    """
    from tuiagents.execution.sandbox_check import build_command
    from tuiagents.execution.sandbox_image import DEFAULT_SANDBOX_TAG
    from tuiagents.execution.settings import DEFAULT_IMAGE

    pull = f"`docker pull {image}` where a registry answers"
    if image != DEFAULT_IMAGE:
        return f"{pull}; offline: `{build_command(image)}` (the tag your config names)"
    where = str(config_path) if config_path else "config.toml (`tuiagents` creates one in the user config dir)"
    return (f"{pull}; offline: `{build_command()}` (builds {DEFAULT_SANDBOX_TAG}), then set "
            f"[docker] image = \"{DEFAULT_SANDBOX_TAG}\" in {where}")


def run_checks(config: "AppConfig | None", work_dir: Path, config_path: Path | None = None) -> list[CheckResult]:
    """Docker, image and work dir checks, then one check per configured model and MCP server."""
    from tuiagents.execution.doctor import docker_checks
    from tuiagents.execution.settings import DockerSettings

    settings = config.docker if config else DockerSettings()
    checks = docker_checks(settings, work_dir)
    for i, check in enumerate(checks):
        if check.name == "sandbox image" and not check.ok:
            checks[i] = check.model_copy(update={"fix": image_fix(settings.image, config_path)})
    if config is not None:
        async def models() -> list[CheckResult]:
            return list(await asyncio.gather(*(_model_check(m) for m in config.models),
                                             *(_mcp_check(s, config.tools_dir) for s in config.mcp_servers)))

        checks += asyncio.run(models())
    return checks


def doctor_main(config_path: str | None, clean: bool = False) -> int:
    """Print the checks; exit 0 when all pass, 1 otherwise (2 for a bad config)."""
    from tuiagents.config import load_app_config
    from tuiagents.config import ConfigError
    from tuiagents.paths import run_work_dir, sessions_dir

    if clean:
        from tuiagents.execution.docker_executor import cleanup_leftovers

        try:
            removed = cleanup_leftovers()
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            print(f"could not clean up: {exc}", file=sys.stderr)
            return 1
        print(f"removed {removed} leftover sandbox container(s)")
    from tuiagents.config import find_config

    try:
        found = find_config(config_path)
        config = load_app_config(config_path, required=False)
    except ConfigError as exc:
        print(f"tuiagents: {exc}", file=sys.stderr)
        return 2
    if config is None:
        print("· no config file found (using defaults; see config.toml.example)")
    # where a run's work dir goes, found as a run finds it (a probe named like a run's)
    probe = f"doctor-{os.getpid()}"
    session = sessions_dir(config.session.dir if config else None) / f"{probe}.jsonl"
    work_dir = run_work_dir(config.docker.work_dir if config else None, session, probe)
    checks = run_checks(config, work_dir, Path(found) if found else None)
    for c in checks:
        print(f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}")
        if not c.ok and c.fix:
            print(f"    fix: {c.fix}")
    failed = sum(not c.ok for c in checks)
    print("all checks passed" if not failed else f"{failed} check(s) failed")
    return 0 if not failed else 1
