"""No secret is written or shown: a run whose model echoes every credential it was configured with
(an `api_key_env` key, a URL password, a query-string token, a header value), whose code prints the
host's environment, and whose session is exported. Every file written and every screen shown is then
searched for the values."""

from __future__ import annotations

import secrets as pysecrets
from pathlib import Path

import pytest
from ui_support import SIZE, screen_text, wait_until

from tuiagents.app.cli import main
from tuiagents.config import parse_config
from tuiagents.testing import Rule

FENCE = "`" * 3


def _values() -> dict[str, str]:
    tag = pysecrets.token_hex(6)
    # Shapes no key pattern knows: only the registry can find them.
    return {"key": f"zq8-{tag}-keyvalue-{pysecrets.token_hex(8)}",
            "url": f"urlpw{tag}{pysecrets.token_hex(4)}",
            "query": f"qtok{tag}{pysecrets.token_hex(4)}",
            "header": f"hdrv{tag}{pysecrets.token_hex(4)}",
            # key shapes nobody registered, at the start of a line and after a tab: in a JSON line
            # they follow an escape's letter ("\\nsk-..."), not a space
            "shape_nl": f"sk-proj-{pysecrets.token_hex(12)}",
            "shape_tab": f"ghp_{pysecrets.token_hex(12)}",
            "shape_out": f"sk-live-{pysecrets.token_hex(12)}"}


def _echo(v: dict[str, str]) -> str:
    return (f"The key is {v['key']} and the URL password {v['url']}, token {v['query']}, "
            f"header {v['header']}.\n{v['shape_nl']} and\t{v['shape_tab']}\n"
            f"{FENCE}python\nimport os\nprint('x' * 600)\nprint(dict(os.environ))\nprint('y' * 600)\n"
            f"print('\\a\\n' + 'sk-live-' + '{v['shape_out'][8:]}')\n{FENCE}")


def _config(tmp_path: Path, server, v: dict[str, str], executor: str = "local") -> Path:
    host = server.url.split("://", 1)[1]
    text = f'''
[llm]
cache_seed = 7
cache_dir = "{tmp_path / 'cache'}"

[[models]]
name = "default"
model = "scripted-model"
base_url = "http://tester:{v['url']}@{host}"
api_key_env = "LLM_ACCESS"
max_retries = 0
extra_headers = {{ "X-Api-Token" = "{v['header']}", "X-Title" = "secrets test" }}

[[models]]
name = "spare"
model = "scripted-model"
base_url = "http://127.0.0.1:9/v1?api_key={v['query']}"

[[agents]]
name = "user"
kind = "user_proxy"
human_input_mode = "NEVER"
code_execution = "{executor}"

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
output_limit = 256   # the full output, with the environment, goes to a file in the work dir
'''
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def _leaks(text: str | bytes, v: dict[str, str]) -> list[str]:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return [name for name, value in v.items() if value.encode() in data]


def test_headless_run_files_exports_cache_and_console_hold_no_secret(server, capsys, tmp_path, monkeypatch):
    v = _values()
    monkeypatch.setenv("LLM_ACCESS", v["key"])
    server.load([Rule(agent="assistant", replies=[_echo(v), "Done. TERMINATE"])])
    config = _config(tmp_path, server, v)
    work = tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    session = work / "run.jsonl"
    code = main(["run", "--headless", "--config", str(config), "--team", "pair", "--task",
                 f"echo {v['key']}", "--approve", "all", "--session", str(session)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert server.chat_requests, "the model was asked"
    # the code did run and the full output file holds the environment it got (without the keys)
    full = [p for p in tmp_path.rglob("*.out") if b"PYTHONUNBUFFERED" in p.read_bytes()]
    assert full, "the block's full output was kept in a file"
    assert _leaks(out + err, v) == [], out + err
    assert f"{v['key'][:3]}…{v['key'][-4:]}" in out  # shown masked, so a person sees which key

    for fmt in ("md", "html", "json"):
        assert main(["export", str(session), "--format", fmt, "-o", str(work / f"export.{fmt}")]) == 0
    assert main(["export", str(session), "--format", "md"]) == 0
    out, err = capsys.readouterr()
    assert _leaks(out + err, v) == []

    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != config]
    assert any(p.name.startswith("llm-cache") for p in written)
    assert any(p.suffix == ".html" for p in written) and session in written
    assert len(written) > 5
    leaks = {str(p.relative_to(tmp_path)): _leaks(p.read_bytes(), v) for p in written}
    # what the code printed itself is its own in the work dir (its full output file), as any file it
    # writes there; nowhere else (the log's output events, the messages, exports, cache)
    own = {str(p.relative_to(tmp_path)) for p in written if p.suffix == ".out" and work / "run.work" in p.parents}
    leaks = {p: [n for n in found if not (p in own and n == "shape_out")] for p, found in leaks.items()}
    assert {p: found for p, found in leaks.items() if found} == {}


def test_config_snapshot_hides_url_credentials_query_and_header_values(monkeypatch):
    monkeypatch.setenv("LLM_ACCESS", "zq8-value-of-the-key-0000")
    cfg = parse_config({"models": [
        {"name": "a", "model": "m", "base_url": "https://bob:pw-1234567890@h.example/v1?api-version=1&key=kkkkkkkk",
         "api_key_env": "LLM_ACCESS", "extra_headers": {"Authorization": "Bearer tok-1234567890"}}]})
    snap = cfg.snapshot()["models"][0]
    assert snap["base_url"] == "https://[redacted]@h.example/v1?api-version=[redacted]&key=[redacted]"
    assert snap["extra_headers"] == {"Authorization": "[redacted]"}
    assert "zq8-value-of-the-key-0000" not in str(cfg.snapshot())


async def test_tui_shows_echoed_keys_masked(server, tmp_path, monkeypatch):
    """The pane, the request box and the timeline show `zq8…abcd`, never the key."""
    from tuiagents.app.launch import prepare_run
    from tuiagents.ui.app import TuiAgentsApp
    from tuiagents.ui.settings import UIOptions

    v = _values()
    monkeypatch.setenv("LLM_ACCESS", v["key"])
    server.load([Rule(agent="assistant", replies=[f"Your key: {v['key']} ok", "more TERMINATE"])])
    config = parse_config({
        "llm": {"cache_seed": False},
        "models": [{"name": "default", "model": "scripted-model", "base_url": server.url, "max_retries": 0,
                    "api_key_env": "LLM_ACCESS"}],
        "agents": [{"name": "user", "kind": "user_proxy", "human_input_mode": "NEVER"},
                   {"name": "assistant", "kind": "assistant", "model": "default"}],
        "teams": [{"name": "pair", "agents": ["user", "assistant"], "max_turns": 2}]})
    run = prepare_run(config, "pair", "say it", approve="ask", session_path=tmp_path / "s.jsonl")
    app = TuiAgentsApp(run=run, options=UIOptions(bell=False))
    masked = f"{v['key'][:3]}…{v['key'][-4:]}"
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: masked in screen_text(app), what="the masked key on screen")
        shown = screen_text(app)
        assert v["key"] not in shown
        await pilot.press("q")
    assert v["key"] not in (tmp_path / "s.jsonl").read_text()


@pytest.mark.parametrize("text", ["plain", ""])
def test_mask_leaves_ordinary_text(text):
    from tuiagents.text import inert

    assert inert(text) == text
