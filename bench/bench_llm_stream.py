"""One streamed turn: tuiagents' ``LLMClient.complete()`` next to the raw ``openai`` stream loop and
the SDK-less floor.

A trivial keep-alive HTTP server on 127.0.0.1 (a child process, so it does not compete for the
client's interpreter) answers every request with the same server-sent-event stream: a role chunk,
``--words`` content chunks of one word each, a finish chunk and a usage chunk, shaped exactly like
OpenAI's (``id``, ``object``, ``created``, ``model``, ``choices[].delta``, ``logprobs``, ...). Each
variant sends a ``--messages``-message history and reads the whole reply; the variants run
round-robin so drift (CPU frequency, other load) hits them alike, and the median is reported:

- ``SSE read floor``: a bare ``httpx`` client (the one the SDK uses) posts the JSON body, splits
  the stream into lines and ``json.loads`` each ``data:`` line: the work no client can avoid;
- ``openai stream loop``: ``await client.chat.completions.create(..., stream=True)`` and
  ``async for chunk in stream`` collecting ``delta.content``: what an SDK user writes (and what
  AG2 and AgentChat do underneath);
- ``tuiagents``: ``LLMClient.complete(..., on_delta=...)`` with the cache off: the full streamed
  call (retries armed, text handed to ``on_delta`` piece by piece, usage and cost accounted);
- ``AG2``: ``ConversableAgent.generate_reply()`` with ``stream: True`` in its config, when an
  interpreter that has AG2 is given with ``--ag2-python`` (it pins its own ``openai``, so it lives
  in its own virtualenv: ``python -m venv /tmp/ag2 && /tmp/ag2/bin/pip install 'ag2[openai]==0.14.0'``);
- ``AgentChat``: ``AssistantAgent.on_messages()`` with ``model_client_stream=True``, given
  ``--agentchat-python`` (``pip install 'autogen-agentchat==0.7.5' 'autogen-ext[openai]==0.7.5'``).

Each framework runs in a worker process that times one turn whenever this process asks, so it is
measured in the same rounds as the others; without its interpreter the table says it was not measured.

Run: ``python bench/bench_llm_stream.py [--quick] [--messages 200] [--words 100] [--ag2-python PATH]
[--agentchat-python PATH]``. Timing lives here, never in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import json
import os
import statistics
import subprocess
import sys
import time


def sse_body(words: int) -> bytes:
    """The chunked-encoded SSE stream the server sends (built once)."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "bench-model", "system_fingerprint": None, "usage": None}

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": f"word{i} "}) for i in range(words)]
    events.append(chunk({}, "stop"))
    events.append({**base, "choices": [],
                   "usage": {"prompt_tokens": 900, "completion_tokens": words, "total_tokens": 900 + words}})
    out = bytearray()
    for data in [json.dumps(e) for e in events] + ["[DONE]"]:
        payload = f"data: {data}\n\n".encode()
        out += f"{len(payload):X}\r\n".encode() + payload + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


# -- the trivial server (child process) ------------------------------------------------------------
async def _serve(words: int) -> None:
    body = sse_body(words)
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in request.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- AG2 and AgentChat, each in its own interpreter (worker processes) -------------------------------
def _worker(kind: str, url: str, messages_n: int, words: int) -> None:
    """Time one streamed turn of ``kind`` per line read from stdin; print the seconds it took."""
    import logging

    logging.disable(logging.WARNING)
    messages = history(messages_n)[1:]  # the agent adds its own system message
    expected = "".join(f"word{i} " for i in range(words))
    turn = _ag2_turn(url, messages) if kind == "ag2" else _agentchat_turn(url, messages)
    for line in sys.stdin:
        if not line.strip():
            break
        took, text = turn()
        if text != expected:
            print(f"error: unexpected {kind} reply {text!r:.80}", flush=True)
            return
        print(took, flush=True)


def _ag2_turn(url: str, messages: list[dict]):
    """AG2 0.14: ``ConversableAgent.generate_reply()`` over the whole history, streaming."""
    import contextlib
    import io

    from autogen import ConversableAgent

    entry = {"model": "bench-model", "base_url": url, "api_key": "bench", "stream": True, "price": [0, 0]}
    agent = ConversableAgent("bench", llm_config={"config_list": [entry], "cache_seed": None},
                             human_input_mode="NEVER", max_consecutive_auto_reply=10**9)  # default: 100

    def turn() -> tuple[float, str]:
        sink = io.StringIO()  # AG2 prints streamed tokens to stdout
        with contextlib.redirect_stdout(sink):
            start = time.perf_counter()
            reply = agent.generate_reply(messages=messages)
            took = time.perf_counter() - start
        return took, reply if isinstance(reply, str) else (reply or {}).get("content")

    return turn


def _agentchat_turn(url: str, messages: list[dict]):
    """AgentChat 0.7: ``AssistantAgent.on_messages()`` with ``model_client_stream``; its model
    context holds the history, reset to it before every turn (outside the timing)."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.messages import TextMessage
    from autogen_core import CancellationToken
    from autogen_core.model_context import UnboundedChatCompletionContext
    from autogen_core.models import AssistantMessage, UserMessage
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    info = {"vision": False, "function_calling": True, "json_output": False, "family": "unknown",
            "structured_output": False}
    client = OpenAIChatCompletionClient(model="bench-model", base_url=url, api_key="bench", model_info=info)
    context = UnboundedChatCompletionContext()
    agent = AssistantAgent("bench", model_client=client, model_client_stream=True, model_context=context)
    history_msgs = [UserMessage(content=m["content"], source="user") if m["role"] == "user"
                    else AssistantMessage(content=m["content"], source="bench") for m in messages[:-1]]
    last = TextMessage(content=messages[-1]["content"], source="user")
    loop = asyncio.new_event_loop()

    async def one() -> tuple[float, str]:
        await context.clear()
        for message in history_msgs:
            await context.add_message(message)
        start = time.perf_counter()
        response = await agent.on_messages([last], CancellationToken())
        return time.perf_counter() - start, response.chat_message.content

    def close() -> None:
        loop.run_until_complete(client.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    atexit.register(close)
    return lambda: loop.run_until_complete(one())


class Worker:
    """The parent's handle on a worker process: ``turn()`` asks for one timed turn."""

    def __init__(self, kind: str, python: str, url: str, messages_n: int, words: int) -> None:
        self.kind = kind
        self.proc = subprocess.Popen([python, __file__, "--worker", kind, url, str(messages_n), str(words)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def turn(self) -> float:
        """Seconds the worker took for one streamed turn (measured inside the worker)."""
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        try:
            return float(line)
        except ValueError:
            raise RuntimeError(f"the {self.kind} worker failed: {line.strip() or 'no answer'}") from None

    def close(self) -> None:
        """Stop the worker."""
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=10)


WORKER_LABELS = {"ag2": "AG2 0.14 generate_reply (stream)", "agentchat": "AgentChat 0.7 on_messages (stream)"}


# -- the client side -----------------------------------------------------------------------------
def history(n: int) -> list[dict]:
    """A plausible conversation: a system message, then alternating user/assistant turns."""
    text = ("Here is a paragraph of a realistic length for a chat message between agents, with a few "
            "clauses, a list of steps, and some code-ish words like `def main()` and `print(x)`. ") * 2
    out = [{"role": "system", "content": "You are a helpful agent in a team."}]
    for i in range(n - 1):
        out.append({"role": "assistant" if i % 2 else "user", "content": f"{i}: {text}"})
    return out


def _http_module():
    """The httpx flavour the installed SDK uses (``httpx2`` for openai 3, ``httpx`` before)."""
    import openai

    client = openai.AsyncOpenAI(base_url="http://127.0.0.1:1", api_key="x")
    http = next(k for k in type(client._client).__mro__ if k.__module__.startswith("httpx"))
    return sys.modules[http.__module__.split(".")[0]]


async def _time_all(calls: dict, repeats: int, workers: list[Worker]) -> dict[str, float]:
    """Median seconds per call of each variant, run round-robin so drift hits them all alike."""
    for call in calls.values():  # warm-up: connections, lazy imports, caches
        for _ in range(5):
            await call()
    for worker in workers:
        for _ in range(5):
            worker.turn()
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in [*calls, *(WORKER_LABELS[w.kind] for w in workers)]}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            await call()
            samples[name].append(time.perf_counter() - start)
        for worker in workers:
            samples[WORKER_LABELS[worker.kind]].append(worker.turn())
    return {name: statistics.median(values) for name, values in samples.items()}


async def bench(url: str, messages_n: int, words: int, repeats: int, pythons: dict[str, str]) -> dict[str, float]:
    import openai

    from tuiagents.llm import LLMClient, LLMSettings, ModelEntry

    http = _http_module()
    raw = http.AsyncClient(base_url=url)
    sdk = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
    ours = LLMClient([ModelEntry(name="bench", model="bench-model", base_url=url)],
                     LLMSettings(cache_seed=False, stream=True))
    messages = history(messages_n)
    request = {"model": "bench-model", "messages": messages, "stream": True,
               "stream_options": {"include_usage": True}}
    expected = "".join(f"word{i} " for i in range(words))

    async def floor() -> None:
        parts = []
        body = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode()  # every client encodes
        async with raw.stream("POST", "/chat/completions", content=body,
                              headers={"Content-Type": "application/json"}) as response:
            buffer = b""
            async for data in response.aiter_bytes():
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        chunk = json.loads(line[6:])
                        for choice in chunk["choices"]:
                            parts.append(choice["delta"].get("content") or "")
        assert "".join(parts) == expected

    async def sdk_loop() -> None:
        stream = await sdk.chat.completions.create(model="bench-model", messages=messages, stream=True,
                                                   stream_options={"include_usage": True})
        parts = []
        async for chunk in stream:
            for choice in chunk.choices:
                parts.append(choice.delta.content or "")
        assert "".join(parts) == expected

    async def on_delta(text: str) -> None:
        pass

    async def tuiagents() -> None:
        result = await ours.complete(messages, agent="bench", on_delta=on_delta)
        assert result.content == expected and result.completion_tokens == words

    calls = {"SSE read floor (httpx, no SDK)": floor, "openai stream loop": sdk_loop, "tuiagents": tuiagents}
    workers = [Worker(kind, python, url, messages_n, words) for kind, python in pythons.items()]
    try:
        return await _time_all(calls, repeats, workers)
    finally:
        for worker in workers:
            worker.close()
        await raw.aclose()
        await sdk.close()
        await ours.aclose()


def table(times: dict[str, float]) -> str:
    """A Markdown table: median ms per streamed turn, and each as a multiple of the floor."""
    floor = times["SSE read floor (httpx, no SDK)"]
    lines = ["| variant | ms per streamed turn | x floor |", "|---|---|---|"]
    ag2 = next((v for k, v in times.items() if k.startswith("AG2")), None)
    if ag2 is None:
        lines = ["| variant | ms per streamed turn | x floor |", "|---|---|---|"]
    else:
        lines = ["| variant | ms per streamed turn | x floor | x AG2 |", "|---|---|---|---|"]
    for name, value in times.items():
        extra = "" if ag2 is None else f" {value / ag2:.2f}x |"
        lines.append(f"| {name} | {value * 1000:.2f} | {value / floor:.1f}x |{extra}")
    pad = "" if ag2 is None else " |"
    if ag2 is None:
        lines.append("| AG2 | not measured (give --ag2-python) | |")
    if not any(k.startswith("AgentChat") for k in times):
        lines.append("| AgentChat | not measured (give --agentchat-python) | |" + pad)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--messages", type=int, default=None, help="history length (default: 200, then 10)")
    parser.add_argument("--words", type=int, default=None, help="content chunks per reply (default: 100, then 20)")
    parser.add_argument("--ag2-python", default=None, help="an interpreter with ag2[openai]==0.14 installed")
    parser.add_argument("--agentchat-python", default=None,
                        help="an interpreter with autogen-agentchat and autogen-ext[openai] 0.7 installed")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(_serve(args.serve))
        return 0
    if args.worker is not None:
        kind, url, messages_n, words = args.worker
        _worker(kind, url, int(messages_n), int(words))
        return 0
    pythons = {k: v for k, v in (("ag2", args.ag2_python), ("agentchat", args.agentchat_python)) if v}
    repeats = 20 if args.quick else 200
    if args.messages is None and args.words is None:
        shapes = [(200, 100), (10, 20)]
    else:
        shapes = [(args.messages or 200, args.words or 100)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for messages, words in shapes:
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(words)],
                                  stdout=subprocess.PIPE, text=True, env=env)
        try:
            port = int(server.stdout.readline())
            times = asyncio.run(bench(f"http://127.0.0.1:{port}", messages, words, repeats, pythons))
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(f"Median wall time per streamed turn ({messages}-message history, {words}-word reply; "
              f"openai {__import__('openai').__version__}, Python {sys.version.split()[0]}, "
              f"loopback server in a child process, {repeats} interleaved rounds):\n")
        print(table(times) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
