"""What the copied workspace adds to a code block, next to the bind mount, on the same daemon.

Two executors of the same image and limits on the daemon in use (``DOCKER_HOST``): one with
``[docker] workspace = "bind"``, one with ``"copy"`` (the work dir copied in through the Docker API
before each block and its changes back after it). Each work dir is filled first with ``--files``
files of ``--size`` bytes, so the copy back has a work dir to read; each block writes one small
file. The variants alternate block by block, so drift hits both alike.

    python bench/bench_sandbox_copy.py [--rounds 5] [--blocks 10] [--files 200] [--size 10000]

Prints the median per block of each round, the median of the rounds, and what copying adds.
Timing lives here, never in a test assertion.
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


def _fill(work: Path, files: int, size: int) -> None:
    for number in range(files):
        folder = work / f"data{number % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{number}.bin").write_bytes(os.urandom(size))


async def measure(image: str, rounds: int, blocks: int, files: int, size: int) -> None:
    runs = {}
    for mode in ("bind", "copy"):
        work = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
        _fill(work, files, size)
        runs[mode] = DockerExecutor(DockerSettings(image=image, workspace=mode), work,
                                    f"bench-{mode}-{uuid.uuid4().hex[:6]}")
    try:
        for mode, executor in runs.items():  # starts the container and the first copy: not timed
            (warm,) = extract_code_blocks("```sh\ntrue\n```")
            assert (await executor.run(warm)).ok
        medians: dict[str, list[float]] = {mode: [] for mode in runs}
        for r in range(rounds):
            times: dict[str, list[float]] = {mode: [] for mode in runs}
            for n in range(blocks):
                (block,) = extract_code_blocks(f"```sh\necho {r}-{n} > out-{r}-{n}.txt\n```")
                for mode, executor in runs.items():
                    t0 = time.perf_counter()
                    result = await executor.run(block)
                    times[mode].append(time.perf_counter() - t0)
                    assert result.ok, result
                    assert (executor.work_dir / f"out-{r}-{n}.txt").read_text() == f"{r}-{n}\n"
            line = []
            for mode in runs:
                medians[mode].append(statistics.median(times[mode]))
                line.append(f"{mode} {medians[mode][-1] * 1000:.1f} ms")
            print(f"round {r + 1}: " + ", ".join(line))
        bind, copy = (statistics.median(medians[mode]) for mode in ("bind", "copy"))
        print(f"median of {rounds} rounds, {files} files of {size} bytes in the work dir: "
              f"bind {bind * 1000:.1f} ms, copy {copy * 1000:.1f} ms per block "
              f"(+{(copy - bind) * 1000:.1f} ms, {copy / bind:.2f}x)")
    finally:
        for executor in runs.values():
            await executor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--image", default=os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest"))
    args = parser.parse_args()
    asyncio.run(measure(args.image, args.rounds, args.blocks, args.files, args.size))
    sys.exit(0)


if __name__ == "__main__":
    main()
