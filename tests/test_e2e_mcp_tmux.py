"""End to end in a real terminal: the README's calc team (config.toml.example and the example MCP
server beside it) in the cockpit under tmux. The person reads the server's description of the tool
where they decide, runs the call with a key, sees its result, and quits with no server left."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from test_demo import isolated_env
from test_e2e_tmux import EXITED, pytestmark, terminal  # noqa: F401 - the tmux marks and fixture

from tuiagents.testing import Reply, Rule, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent


def example_servers() -> list[str]:
    """Command lines of running example MCP servers (this machine's, any test's)."""
    done = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False)
    return [line for line in done.stdout.splitlines() if "mcp_calc_server.py" in line and "examples" in line]


def test_the_calc_example_in_the_cockpit(terminal, tmp_path):  # noqa: F811 - the fixture
    (tmp_path / "config.toml").write_bytes((ROOT / "config.toml.example").read_bytes())
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "mcp_calc_server.py").write_bytes((ROOT / "examples" / "mcp_calc_server.py").read_bytes())
    rules = [Rule(agent="calculator", replies=[Reply.tool("multiply", a=1234, b=5678),
                                               "1234 * 5678 = 7006652. TERMINATE"])]
    before = set(example_servers())
    with ScriptedServer(rules) as server:
        env = isolated_env(tmp_path, OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-test-not-real",
                           DOCKER_HOST="unix:///nonexistent.sock")
        terminal.start(["--config", "config.toml", "--team", "calc", "--task", "What is 1234 * 5678?"], env)
        terminal.wait_for("Deliver calculator's message?")
        terminal.keys("a")
        # the request box draws the tool's description a frame after its title: wait for both
        shown = terminal.wait_for(lambda s: "calculator wants to call multiply" in s
                                  and "Multiply two numbers and return the product." in " ".join(s.split()))
        assert len(set(example_servers()) - before) == 1  # the run started its server
        terminal.keys("a")
        terminal.wait_for(lambda s: "7006652" in s and "Deliver calculator's message?" in s)
        terminal.keys("a")
        terminal.wait_for("calculator said TERMINATE")
        terminal.keys("a")  # the user proxy (ALWAYS) lets the run end
        terminal.wait_for(lambda s: re.search(r"stopped: calculator said TERMINATE", s, re.I) is not None)
        terminal.keys("q")
        shown = terminal.wait_for(lambda s: EXITED.search(s) is not None)
        assert EXITED.search(shown).group(1) == "0", shown
    assert set(example_servers()) - before == set()
