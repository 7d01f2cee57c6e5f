"""`tuiagents demo`: a planner, a coder and a critic solve a small data task, from a script.

The replies come from the scripted OpenAI-compatible server (`tuiagents.testing`) on 127.0.0.1,
spoken to through the real openai client, so everything else is real: the approvals, the Docker
sandbox that runs the coder's block, the session log. No API key is needed.
"""

from __future__ import annotations

import sys
from typing import Any

from tuiagents.testing.script import Reply, Rule, Script

TASK = ("Here are last week's noon temperatures (°C): Lisbon 19, 21, 22, 20, 23; Oslo 4, 6, 5, 3, 7; "
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

REVIEW = """I checked the output against the data:
- Cairo: (30+31+29+33+32)/5 = 31.0 ✓
- Lisbon: (19+21+22+20+23)/5 = 21.0 ✓
- Oslo: (4+6+5+3+7)/5 = 5.0 ✓

The ranking is right: **Cairo** was the warmest. The planner can wrap up."""

NO_RUN_REVIEW = ("The code did not run, so I cannot check any output. Reading the code itself, the "
                 "means would be Cairo 31.0, Lisbon 21.0, Oslo 5.0: Cairo is warmest. The planner can wrap up.")

WRAP_UP = """**Answer:** Cairo was the warmest city last week (average 31.0 °C), ahead of Lisbon (21.0 °C) and Oslo (5.0 °C).

TERMINATE"""

SPEAKERS = ["planner", "coder", "user", "critic", "planner"]


def demo_script() -> Script:
    """The scripted replies of the demo: rules keyed by agent and by what they just read."""
    rules = [
        Rule(agent="planner", contains="temperatures", reply=PLAN, name="plan"),
        Rule(agent="planner", reply=WRAP_UP, name="wrap-up"),
        Rule(agent="coder", contains="rejected", reply=REVISED, name="revised code"),
        Rule(agent="coder", reply=CODE, name="code"),
        Rule(agent="critic", contains="not run", reply=NO_RUN_REVIEW, name="review without output"),
        Rule(agent="critic", contains="exitcode: 0", reply=REVIEW, name="review"),
        Rule(agent="critic", reply=NO_RUN_REVIEW, name="review (other)"),
    ]
    rules += [Rule(agent="speaker_selector", turn=i, reply=Reply.speaker(name), name=f"select {name}")
              for i, name in enumerate(SPEAKERS)]
    rules.append(Rule(agent="speaker_selector", reply=Reply.speaker("planner"), name="select planner"))
    return Script(rules=rules, default="(scripted demo: no scripted reply for this) TERMINATE")


def pick_image() -> tuple[str, str | None]:
    """The sandbox image to use and, when code cannot run, a sentence saying why and the fix."""
    from tuiagents.execution.doctor import docker_checks
    from tuiagents.execution.settings import DockerSettings
    from tuiagents.paths import user_data_path

    for image in ("tuiagents-sandbox:latest", "python:3.12-slim"):
        checks = docker_checks(DockerSettings(image=image), user_data_path() / "work", smoke_test=False)
        failed = [c for c in checks if not c.ok]
        if not failed:
            return image, None
        daemon = next((c for c in failed if "daemon" in c.name), None)
        if daemon is not None:
            fix = (daemon.fix or "start the Docker daemon").rstrip(".")
            return image, (f"Docker is not available, so the coder's code will not run (the demo goes on "
                           f"without it). Fix: {fix}.")
    return "tuiagents-sandbox:latest", ("No sandbox image is present, so the coder's code will not run. "
                                        "Fix: `tuiagents sandbox build` (offline) or `docker pull "
                                        "python:3.12-slim`. The demo goes on without it.")


def demo_config(base_url: str, image: str) -> Any:
    """The demo's config: one scripted model, four agents, one group chat."""
    from tuiagents.config import parse_config

    return parse_config({
        "models": [{"name": "scripted", "model": "scripted-model", "base_url": base_url,
                    "price": [0.15, 0.60]}],
        "llm": {"cache_seed": False},
        "agents": [
            {"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER", "code_execution": "docker",
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
        "docker": {"image": image, "timeout": 30},
    })


BANNER = "SCRIPTED DEMO · replies come from a built-in script on 127.0.0.1, not from a model"


def demo_main(headless: bool = False) -> int:
    """Start the scripted server, then the app (or the console) on the demo team."""
    from tuiagents.testing.server import ScriptedServer

    image, problem = pick_image()
    with ScriptedServer(demo_script()) as server:
        config = demo_config(server.url, image)
        if headless:
            from tuiagents.cli import run_headless_command

            print(BANNER)
            if problem:
                print(f"! {problem}")
            return run_headless_command(config, "demo", TASK, "all", None)
        from tuiagents.launch import prepare_run
        from tuiagents.ui.app import run_prepared_app

        run = prepare_run(config, "demo", TASK, approve="ask")
        run.startup_notices.append(BANNER)
        if problem:
            run.startup_notices.append(problem)
        return run_prepared_app(run, banner=BANNER)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(demo_main(headless="--headless" in sys.argv))
