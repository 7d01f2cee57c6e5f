"""The README's scripted-server command, as written: it starts, prints the base URL the README
gives, answers through the real `openai` client, and counts a rule's turns the way the README says
(per agent since the server started, not per conversation)."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys

import openai

from test_readme import ROOT, readme_commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_readme_scripted_server_command_serves_and_counts_turns_per_server_lifetime(tmp_path):
    line = next(c for c in readme_commands() if c.startswith("python -m tuiagents.testing"))
    argv = shlex.split(line)
    readme_port = argv[argv.index("--port") + 1]
    readme_url = f"http://127.0.0.1:{readme_port}/v1"
    assert f"`{readme_url}`" in (ROOT / "README.md").read_text(), "the README states the URL it prints"
    script = tmp_path / argv[argv.index("--script") + 1]
    script.write_text(json.dumps({"rules": [{"agent": "coder", "turn": 0, "reply": "first"},
                                            {"agent": "coder", "turn": 1, "reply": "second"}],
                                  "default": "no rule"}))
    port = _free_port()  # the README's port may be taken here: the same command on a free one
    argv[argv.index("--port") + 1] = str(port)
    server = subprocess.Popen([sys.executable, *argv[1:]], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        assert url == readme_url.replace(readme_port, str(port)), server.stderr.read() if not url else url
        client = openai.OpenAI(base_url=url, api_key="any", max_retries=0, timeout=30)

        def ask(conversation: str) -> str:
            reply = client.chat.completions.create(model="scripted-model", user="coder",
                                                   messages=[{"role": "user", "content": conversation}])
            return reply.choices[0].message.content

        # two separate conversations: the second does not start again at turn 0
        assert [ask("conversation one"), ask("conversation two"), ask("conversation three")] == \
            ["first", "second", "no rule"]
    finally:
        server.terminate()
        server.wait(timeout=30)
