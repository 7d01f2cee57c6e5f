"""What one code block costs in the Docker sandbox, next to its floor.

The floor is a bare ``container.exec_run(["python3", "-u", "-c", CODE])`` into one long-lived
container of the same image (no watchdog, no limits checked, nothing verified). Against it:
``DockerExecutor.run()`` of the same code as an approved block, with every guarantee of the trust
design on (root watchdog, code as the sandbox user, sha256 checked right before exec, every
process killed after the block, disk watch, output captured and capped). Both containers exist
before timing starts; the variants alternate block by block, so drift hits both alike.

    python bench/bench_sandbox_block.py [--rounds 5] [--blocks 20] [--image IMAGE]

Prints the median per block of each round and the median of the rounds, and the ratio to the
floor (the goal of issue 12 is at most 1.10x). Timing lives here, never in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tuiagents.execution import DockerExecutor, DockerSettings, extract_code_blocks
from tuiagents.execution.docker_client import connect_docker

CODE = "print('hello from the sandbox')"


async def measure(image: str, rounds: int, blocks: int) -> None:
    client = connect_docker()
    floor_box = client.containers.run(image, ["sleep", "infinity"], detach=True,
                                      network_mode="none", labels={"tuiagents.bench": "1"})
    work = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    executor = DockerExecutor(DockerSettings(image=image), work, f"bench-{uuid.uuid4().hex[:6]}")
    (block,) = extract_code_blocks(f"```python\n{CODE}\n```")
    (named,) = extract_code_blocks(f"```python\n# filename: hello.py\n{CODE}\n```")
    try:
        first = await executor.run(block)  # starts the container: not part of a block's cost
        assert first.ok, first
        assert floor_box.exec_run(["python3", "-u", "-c", CODE]).exit_code == 0
        floor_rounds, ours_rounds, named_rounds = [], [], []
        for r in range(rounds):
            floor_times, ours_times, named_times = [], [], []
            for _ in range(blocks):
                t0 = time.perf_counter()
                done = floor_box.exec_run(["python3", "-u", "-c", CODE])
                floor_times.append(time.perf_counter() - t0)
                assert done.exit_code == 0
                t0 = time.perf_counter()
                result = await executor.run(block)
                ours_times.append(time.perf_counter() - t0)
                assert result.ok and result.output == "hello from the sandbox\n", result
                t0 = time.perf_counter()
                result = await executor.run(named)
                named_times.append(time.perf_counter() - t0)
                assert result.ok and result.saved_to == "hello.py", result
            floor_rounds.append(statistics.median(floor_times))
            ours_rounds.append(statistics.median(ours_times))
            named_rounds.append(statistics.median(named_times))
            print(f"round {r + 1}: floor {floor_rounds[-1] * 1e3:6.1f} ms   "
                  f"tuiagents {ours_rounds[-1] * 1e3:6.1f} ms", file=sys.stderr)
        floor, ours = statistics.median(floor_rounds), statistics.median(ours_rounds)
        saved = statistics.median(named_rounds)
        print(f"\ncode block in the Docker sandbox ({image}, median of {rounds} rounds × "
              f"{blocks} blocks, {os.cpu_count()} CPUs)")
        print("| work | per block | vs floor |")
        print("|---|---|---|")
        print(f"| bare `exec_run` into one long-lived container (floor) | {floor * 1e3:.1f} ms | 1.00x |")
        print(f"| tuiagents `DockerExecutor.run()`, every guarantee on | {ours * 1e3:.1f} ms | "
              f"{ours / floor:.2f}x |")
        print(f"| the same as a `# filename:` block (saved off the event loop first) | "
              f"{saved * 1e3:.1f} ms | {saved / floor:.2f}x |")
    finally:
        await executor.close()
        floor_box.remove(force=True)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--image", default=os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest"))
    args = parser.parse_args()
    asyncio.run(measure(args.image, args.rounds, args.blocks))


if __name__ == "__main__":
    main()
