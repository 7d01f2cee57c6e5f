"""`tuiagents demo`: a planner, a coder and a critic solve a small data task, from a script.

The replies come from the scripted OpenAI-compatible server (`tuiagents.testing`) on 127.0.0.1,
spoken to through the real openai client, so everything else is real: the approvals, the Docker
sandbox that runs the coder's block, the session log. No API key is needed.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the script's models load with the demo, not with every `tuiagents` (F2 hooks import this)
    from tuiagents.testing.script import Script

#: The task is a prompt template: the demo's `[context]` fills {week} and {unit} (shown above the panes).
CONTEXT = {"week": "last week", "unit": "°C"}
TASK = ("Here are {week}'s noon temperatures ({unit}): Lisbon 19, 21, 22, 20, 23; Oslo 4, 6, 5, 3, 7; "
        "Cairo 30, 31, 29, 33, 32. Compute each city's average and tell me which city was warmest.")

PLAN = """Plan:
1. **coder**: write one Python block that holds the data, computes each city's mean and prints them, warmest first.
2. **user**: run it in the sandbox.
3. **critic**: check the printed numbers against the data.
4. I wrap up with the answer."""

CODE = """I'll keep the data inline so the block runs anywhere:

```python
# filename: temperatures.py
from statistics import mean

temps = {
    "Lisbon": [19, 21, 22, 20, 23],
    "Oslo": [4, 6, 5, 3, 7],
    "Cairo": [30, 31, 29, 33, 32],
}
averages = {city: mean(values) for city, values in temps.items()}
for city, avg in sorted(averages.items(), key=lambda kv: -kv[1]):
    print(f"{city:<7} {avg:5.1f} °C")
print("warmest:", max(averages, key=averages.get))
```"""

REVISED = CODE.replace("I'll keep the data inline", "Revised after your feedback. I'll keep the data inline")

REVISED_PLAN = "Thanks for the feedback: I have revised the plan with it in mind.\n\n" + PLAN.replace(
    "4. I wrap up with the answer.", "4. I wrap up with the answer, and say how your feedback shaped it.")

REVIEW = """I checked the output against the data:
- Cairo: (30+31+29+33+32)/5 = 31.0 ✓
- Lisbon: (19+21+22+20+23)/5 = 21.0 ✓
- Oslo: (4+6+5+3+7)/5 = 5.0 ✓

The ranking is right: **Cairo** was the warmest. The planner can wrap up."""

NO_RUN_REVIEW = ("The code did not run, so I cannot check any output. Reading the code itself, the "
                 "means would be Cairo 31.0, Lisbon 21.0, Oslo 5.0: Cairo is warmest. The planner can wrap up.")

REVISED_REVIEW = "Point taken: I went through it again with your feedback in mind.\n\n"

WRAP_UP = """**Answer:** Cairo was the warmest city last week (average 31.0 °C), ahead of Lisbon (21.0 °C) and Oslo (5.0 °C).

TERMINATE"""

REVISED_WRAP_UP = "Thanks, I have taken your feedback into account.\n\n" + WRAP_UP

#: What the user agent says when the demo has no sandbox (so nobody is asked to run code).
NO_SANDBOX_REPLY = "The code was not run: the demo has no Docker sandbox on this machine."

#: Stages of the conversation, latest first. The conversation so far says who is next, whoever
#: asks, so a resumed or forked demo (a new server, its turn counts at zero) goes on where it stood.
NEXT_SPEAKER = [("The planner can wrap up", "planner"), ("exitcode:", "critic"), ("The code was not run", "critic"),
                ("```python", "user"), ("Plan:", "coder")]

BANNER = "SCRIPTED DEMO · replies come from a built-in script on 127.0.0.1, not from a model"
SCRIPTED_MODEL = "scripted-model"


def demo_script() -> Script:
    """The scripted replies of the demo: rules keyed by agent and by how far the conversation got.

    A rejection is answered like a model would: the agent acknowledges the feedback and revises.
    """
    from tuiagents.testing.script import Reply, Rule, Script

    wrapped = "The planner can wrap up"
    rules = [
        Rule(agent="planner", contains="rejected", history=wrapped, reply=REVISED_WRAP_UP, name="revised wrap-up"),
        Rule(agent="planner", contains="rejected", reply=REVISED_PLAN, name="revised plan"),
        Rule(agent="planner", history=wrapped, reply=WRAP_UP, name="wrap-up"),
        Rule(agent="planner", reply=PLAN, name="plan"),
        Rule(agent="coder", contains="rejected", reply=REVISED, name="revised code"),
        Rule(agent="coder", reply=CODE, name="code"),
        Rule(agent="critic", contains="rejected", history="exitcode: 0", reply=REVISED_REVIEW + REVIEW,
             name="revised review"),
        Rule(agent="critic", contains="rejected", reply=REVISED_REVIEW + NO_RUN_REVIEW,
             name="revised review (no output)"),
        Rule(agent="critic", history="exitcode: 0", reply=REVIEW, name="review"),
        Rule(agent="critic", reply=NO_RUN_REVIEW, name="review without output"),
    ]
    rules += [Rule(agent="speaker_selector", history=marker, reply=Reply.speaker(name), name=f"select {name}")
              for marker, name in NEXT_SPEAKER]
    rules.append(Rule(agent="speaker_selector", reply=Reply.speaker("planner"), name="select planner"))
    return Script(rules=rules, models=[SCRIPTED_MODEL],
                  default="(scripted demo: no scripted reply for this) TERMINATE")


def demo_config(base_url: str, image: str | None) -> Any:
    """The demo's config: one scripted model, four agents, one group chat.

    Without an `image` the user agent runs no code (so nobody is asked to run any) and says so.
    """
    from tuiagents.config import parse_config

    user: dict[str, Any] = ({"code_execution": "docker"} if image else
                            {"code_execution": "none", "default_auto_reply": NO_SANDBOX_REPLY})
    return parse_config({
        "models": [{"name": "scripted", "model": SCRIPTED_MODEL, "base_url": base_url,
                    "price": [0.15, 0.60]}],
        "llm": {"cache_seed": False},
        "context": CONTEXT,
        "agents": [
            {"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", **user,
             "description": "Runs the code the coder writes, after your approval."},
            {"name": "planner", "kind": "conversable", "model": "scripted", "human_input_mode": "NEVER",
             "description": "Breaks the task into steps and wraps up.",
             "system_message": "You are the planner of a small team."},
            {"name": "coder", "kind": "assistant", "model": "scripted",
             "description": "Writes Python code."},
            {"name": "critic", "kind": "conversable", "model": "scripted", "human_input_mode": "NEVER",
             "description": "Checks the output.", "system_message": "You are the critic."},
        ],
        "teams": [{"name": "demo", "kind": "group_chat", "agents": ["user", "planner", "coder", "critic"],
                   "speaker_selection": "auto", "max_rounds": 12, "task": TASK}],
        "docker": {"image": image or "tuiagents-sandbox:latest", "timeout": 30},
    })


def configured_image() -> str | None:
    """The `[docker] image` of the person's config, when they have one (the demo honours it)."""
    from tuiagents.config import load_app_config

    try:
        config = load_app_config(None, required=False)
    except Exception:  # noqa: BLE001 - a broken config must not stop the demo; doctor reports it
        return None
    if config is None or "image" not in config.docker.model_fields_set:
        return None
    return config.docker.image


def sandbox_notice(text: str) -> Any:
    """The one notice, in the coder's pane, that the coder's code will not run."""
    from tuiagents.engine.events import Notice

    return Notice(level="warning", text=text, agent="coder")


def _start_run(url: str, image: str | None, problem: str | None) -> Any:
    from tuiagents.app.launch import prepare_run

    run = prepare_run(demo_config(url, image), "demo", TASK, approve="ask")
    run.startup_notices.append(BANNER)
    if image is None and problem:
        run.startup_notices.append(sandbox_notice(problem))
    return run


_sandbox_check: list[Future[Any]] = []


def start_sandbox_check() -> None:
    """Start looking for the demo's sandbox (Docker checks) in a thread, unless already started
    (`demo --headless` overlaps them with starting the scripted server)."""
    if not _sandbox_check:
        def check() -> Any:
            from tuiagents.app.demo_sandbox import sandbox_status

            return sandbox_status(configured_image())

        pool = ThreadPoolExecutor(1, thread_name_prefix="demo-sandbox-check")
        _sandbox_check.append(pool.submit(check))
        pool.shutdown(wait=False)


def demo_agents() -> list[Any]:
    """The demo's agents as the cockpit shows them, known before its run is built."""
    from tuiagents.engine.events import AgentInfo

    return [AgentInfo(name=a.name, kind=a.kind, model=a.model, description=a.description,
                      human_input_mode=a.human_input_mode or "NEVER")
            for a in demo_config("http://127.0.0.1:9/v1", None).agents]


def demo_main(headless: bool = False) -> int:
    """The app, painted at once on the demo's panes, or the console (which waits for the checks).

    In the app the scripted server and the Docker checks start after the first frame, in the
    app's worker thread; their answer brings the sandbox offer or the run.
    """
    if headless:
        from tuiagents.testing.server import ScriptedServer

        start_sandbox_check()
        with ScriptedServer(demo_script()) as server:
            return _headless(server.url, _sandbox_check.pop().result())
    from tuiagents.app.tui import run_prepared_app
    from tuiagents.ui.screens.sandbox_screen import SandboxFound, SandboxWait

    servers: list[Any] = []
    found: list[Any] = []  # the SandboxStatus, once checked

    def check() -> SandboxFound:
        from tuiagents.app.demo_sandbox import sandbox_offer, sandbox_status
        from tuiagents.testing.server import ScriptedServer

        servers.append(ScriptedServer(demo_script()).start())
        status = sandbox_status(configured_image())
        found.append(status)
        if status.image is not None or not status.can_prepare:
            return SandboxFound(image=status.image)
        return SandboxFound(offer=sandbox_offer(status))

    def start(image: str | None) -> Any:
        status = found[0]
        problem = None if image else declined(status) if status.can_prepare else status.problem
        return _start_run(servers[0].url, image, problem)

    try:
        return run_prepared_app(None, banner=BANNER, sandbox_wait=SandboxWait(demo_agents(), check),
                                start_with_image=start)
    finally:
        for server in servers:
            server.stop()


def declined(status: Any) -> str:
    """The notice when the person went on without preparing the sandbox."""
    fix = status.problem.split("Fix: ", 1)[-1] if status.problem else "`tuiagents doctor` says how"
    return f"The sandbox image was not prepared, so the coder's code will not run. To prepare it later: {fix}"


def _headless(url: str, status: Any) -> int:
    from tuiagents.app.launch import run_headless_command

    print(BANNER)
    if status.image:
        print(f"! --headless approves every step: the coder's code runs in the Docker sandbox ({status.image}) "
              "without asking. Run `tuiagents demo` to decide each step yourself.")
    else:
        print(f"! {status.problem}")
    return run_headless_command(demo_config(url, status.image), "demo", TASK, "all", None)


def is_demo_log(path: Any) -> bool:
    """True when `path` is a session log the demo wrote (its team on the demo's scripted model)."""
    from tuiagents.session.log import SessionError
    from tuiagents.session.reader import read_header

    try:
        header = read_header(path)
    except (SessionError, OSError):
        return False
    models = header.config.get("models") or []
    return header.team == "demo" and any(
        isinstance(m, dict) and m.get("model") == SCRIPTED_MODEL and str(m.get("base_url", "")).startswith(
            "http://127.0.0.1:") for m in models)


_servers: list[Any] = []  # scripted servers started for demo sessions resumed in the app


def resume_in_app(path: Any, approve: str = "ask") -> Any:
    """The session browser's resume of a demo session (None for any other log).

    A scripted server with the demo's script is started for it and stopped when the process exits.
    """
    if not is_demo_log(path):
        return None
    import atexit

    from tuiagents.app.demo_sandbox import sandbox_status
    from tuiagents.session.resume import prepare_resume
    from tuiagents.testing.server import ScriptedServer

    if not _servers:
        _servers.append(ScriptedServer(demo_script()).start())
        atexit.register(_servers[0].stop)
    status = sandbox_status(configured_image())
    run = prepare_resume(path, config=demo_config(_servers[0].url, status.image), approve=approve)
    run.startup_notices.append(BANNER)
    if status.image is None and status.problem:
        run.startup_notices.append(sandbox_notice(status.problem))
    return run


def install_app_hooks() -> None:
    """Let the app's session browser resume demo sessions on the demo's script."""
    from tuiagents.ui.app import TuiAgentsApp

    TuiAgentsApp.resume_override = staticmethod(resume_in_app)


def demo_resume(args: Any) -> int:
    """`tuiagents resume` (or `--fork-at`) of a demo session: the demo's script answers again.

    The server the log names is gone with the demo that started it; a new one serves the same
    script, and the sandbox is looked for as the demo does (no code runs without an image).
    """
    from tuiagents.config import ConfigError
    from tuiagents.app.demo_sandbox import sandbox_status
    from tuiagents.session.log import SessionError
    from tuiagents.session.resume import prepare_resume
    from tuiagents.testing.server import ScriptedServer

    if getattr(args, "detach", False):  # refused before anything is forked or started
        import shlex

        again = shlex.join(["tuiagents", "resume", str(args.session),
                            *(["--fork-at", str(args.fork_at)] if args.fork_at is not None else [])])
        print("tuiagents: a demo session cannot resume with --detach: the demo's scripted model lives with "
              f"this terminal, not in a process of its own; `{again}` continues it here", file=sys.stderr)
        return 2
    if args.config:
        print("tuiagents: a demo session resumes on the demo's own script; --config is ignored", file=sys.stderr)
    path = args.session
    status = sandbox_status(configured_image())
    with ScriptedServer(demo_script()) as server:
        try:
            if args.fork_at is not None:
                from tuiagents.session.fork import fork_session

                path = fork_session(path, args.fork_at)
                print(f"forked {args.session} at event {args.fork_at} into {path}")
            run = prepare_resume(path, config=demo_config(server.url, status.image), approve=args.approve or "ask",
                                 message=args.task)
        except (ConfigError, SessionError, ValueError) as exc:
            print(f"tuiagents: {exc}", file=sys.stderr)
            return 2
        run.startup_notices.append(BANNER)
        if status.image is None and status.problem:
            run.startup_notices.append(sandbox_notice(status.problem))
        if args.headless:
            import asyncio

            from tuiagents.headless import run_headless

            if status.problem and not status.image:
                print(f"! {status.problem}")
            return asyncio.run(run_headless(run, ask=(args.approve or "ask") == "ask"))
        from tuiagents.app.tui import run_prepared_app

        return run_prepared_app(run, banner=BANNER)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(demo_main(headless="--headless" in sys.argv))
