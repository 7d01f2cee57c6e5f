"""A known key that a program prints in pieces (`print(k[:20], k[20:])`, a prefix, a suffix) reaches
neither the session log nor the console: the scrubber finds fragments of known secrets, not only
the whole value."""

from __future__ import annotations

import secrets as pysecrets
from pathlib import Path

from tuiagents.app.cli import main
from tuiagents.secrets import FRAGMENT_LENGTH
from tuiagents.testing import Rule

FENCE = "`" * 3


def _config(tmp_path: Path, server) -> Path:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir()
    path.write_text(f'''
[llm]
cache_seed = false

[[models]]
name = "default"
model = "scripted-model"
base_url = "{server.url}"
api_key_env = "LLM_ACCESS"
max_retries = 0

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
code_execution = "local"

[[agents]]
name = "assistant"
kind = "assistant"
model = "default"

[[teams]]
name = "pair"
agents = ["user", "assistant"]
max_turns = 4

[local_execution]
timeout = 20
''')
    return path


def _fragments(key: str, text: str) -> list[str]:
    return [key[i:i + FRAGMENT_LENGTH] for i in range(len(key) - FRAGMENT_LENGTH + 1)
            if key[i:i + FRAGMENT_LENGTH] in text]


def test_a_key_printed_in_pieces_is_redacted_in_the_log_and_masked_on_the_console(server, capsys, tmp_path,
                                                                                  monkeypatch):
    key = f"zq8-{pysecrets.token_hex(20)}"  # a shape no key pattern knows: only the registry finds it
    monkeypatch.setenv("LLM_ACCESS", key)
    # The program holds the key reversed (a form the scrubber cannot know) and prints it forwards, in
    # pieces: split in two, a prefix alone, a suffix alone.
    code = (f"k = {key[::-1]!r}[::-1]\nprint('RAN', 'OK')\nprint(k[:20], k[20:])\n"
            f"print('prefix', k[:{FRAGMENT_LENGTH}])\nprint('suffix', k[-{FRAGMENT_LENGTH + 3}:])")
    server.load([Rule(agent="assistant", replies=[f"Printing it.\n{FENCE}python\n{code}\n{FENCE}",
                                                  "Done. TERMINATE"])])
    session = tmp_path / "run.jsonl"
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--headless", "--config", str(_config(tmp_path, server)), "--team", "pair",
                 "--task", "print the key", "--approve", "all", "--session", str(session)]) == 0
    out, err = capsys.readouterr()
    log = session.read_text()
    assert "RAN OK" in log and "RAN OK" in out, "the program ran and its output was logged and shown"
    assert _fragments(key, log) == []
    assert _fragments(key, out + err) == []
    assert "[redacted] [redacted]" in log and "prefix [redacted]" in log and "suffix [redacted]" in log
    assert "prefix …" in out and "suffix …" in out  # masked on the console, so a person sees it was a key
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".toml"]
    assert {str(p): f for p in written if (f := _fragments(key, p.read_text(errors="replace")))} == {}
