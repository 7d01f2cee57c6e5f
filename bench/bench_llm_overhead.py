"""Per-call client overhead of the LLM layer: ``chat.completions.create()`` versus our path.

The SDK's ``create()`` validates and transforms the whole message history on every call; our
:class:`~tuiagents.llm.client.LLMClient` sends the body through the SDK's ``client.post()``. This
benchmark sends the same non-streamed request, with histories of 10, 200 and 1000 messages, to a
trivial keep-alive HTTP server on 127.0.0.1 (run in a child process, so it does not compete for
the client's interpreter) that answers every request with the same small completion. It reports
the median wall time per call of:

- ``raw httpx``: the body JSON-encoded as the SDK does and sent by a bare ``httpx2.AsyncClient``,
  the floor (encoding, loopback HTTP, the server);
- ``create()``: ``AsyncOpenAI.chat.completions.create(...)``;
- ``client.post()``: ``AsyncOpenAI.post("/chat/completions", body=..., cast_to=ChatCompletion)``;
- ``LLMClient.complete()``: the full tuiagents call (cache off, no streaming), with accounting;

and the overhead of each over the floor. The variants run round-robin, so drift (CPU frequency,
other load) affects them alike; expect a few tenths of a millisecond of noise.

Run: ``python bench/bench_llm_overhead.py [--quick]``. Timing lives here, never in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time

REPLY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench-model",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "ok", "refusal": None}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
}).encode()


# -- the trivial server (child process) ------------------------------------------------------------
async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(REPLY), REPLY))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _serve() -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- the client side -----------------------------------------------------------------------------
def history(n: int) -> list[dict]:
    """A plausible conversation: a system message, then alternating user/assistant turns."""
    text = ("Here is a paragraph of a realistic length for a chat message between agents, with a few "
            "clauses, a list of steps, and some code-ish words like `def main()` and `print(x)`. ") * 2
    out = [{"role": "system", "content": "You are a helpful agent in a team."}]
    for i in range(n - 1):
        if i % 2:
            out.append({"role": "assistant", "content": f"{i}: {text}"})
        else:
            out.append({"role": "user", "name": "planner", "content": f"{i}: {text}"})
    return out


JSON_HEADERS = {"Content-Type": "application/json"}


def _dumps(body: dict) -> bytes:
    """JSON-encode the body the way the SDK does (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


async def _time_all(calls: dict, repeats: int) -> dict[str, float]:
    """Median seconds per call of each variant, run round-robin so drift hits them all alike."""
    for call in calls.values():  # warm-up: connections, lazy imports, caches
        for _ in range(3):
            await call()
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            await call()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


async def bench(url: str, sizes: list[int], repeats: dict[int, int]) -> list[tuple[int, dict[str, float]]]:
    import httpx2
    import openai
    from openai.types.chat import ChatCompletion

    from tuiagents.llm import LLMClient, LLMSettings, ModelEntry

    raw = httpx2.AsyncClient(base_url=url)
    sdk = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
    ours = LLMClient([ModelEntry(name="bench", model="bench-model", base_url=url)],
                     LLMSettings(cache_seed=False, stream=False))
    rows = []
    for n in sizes:
        messages = history(n)
        body = {"model": "bench-model", "messages": messages, "user": "bench"}
        calls = {
            "raw httpx": lambda b=body: raw.post("/chat/completions", content=_dumps(b), headers=JSON_HEADERS),
            "create()": lambda m=messages: sdk.chat.completions.create(model="bench-model", messages=m, user="bench"),
            "client.post()": lambda b=body: sdk.post("/chat/completions", body=b, cast_to=ChatCompletion),
            "LLMClient.complete()": lambda m=messages: ours.complete(m, agent="bench"),
        }
        rows.append((n, await _time_all(calls, repeats[n])))
    await raw.aclose()
    await sdk.close()
    await ours.aclose()
    return rows


def table(rows: list[tuple[int, dict[str, float]]]) -> str:
    """A Markdown table: median ms per call, and overhead over the raw-httpx floor."""
    names = list(rows[0][1])
    head = "| messages | " + " | ".join(names) + " | create() overhead | our overhead |"
    lines = [head, "|" + "---|" * (len(names) + 3)]
    for n, t in rows:
        floor = t["raw httpx"]
        cells = " | ".join(f"{t[k] * 1000:.2f} ms" for k in names)
        lines.append(f"| {n} | {cells} | {(t['create()'] - floor) * 1000:.2f} ms "
                     f"| {(t['LLMClient.complete()'] - floor) * 1000:.2f} ms |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
        return 0
    sizes = [10, 200, 1000]
    repeats = {10: 20, 200: 10, 1000: 5} if args.quick else {10: 300, 200: 100, 1000: 30}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = int(server.stdout.readline())
        rows = asyncio.run(bench(f"http://127.0.0.1:{port}", sizes, repeats))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Median wall time per non-streamed call (openai {__import__('openai').__version__}, "
          f"Python {sys.version.split()[0]}, loopback server in a child process):\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
