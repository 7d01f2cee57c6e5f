"""What reading a block's changes back costs in a copied work dir when the block touches many entries.

One executor with ``[docker] workspace = "copy"`` on the daemon in use (``DOCKER_HOST``); its work
dir is filled first with ``--files`` files of ``--size`` bytes in ten folders (what the block does
not touch). Each block then writes ``--touch`` new files at the top of the work dir and deletes the
ones the block before wrote, so every block touches ``2 x --touch`` top entries. Before the watchdog
gathered a block's changes into one archive, past 32 touched entries the whole work dir was read
back; run the same script against the older code to compare.

    python bench/bench_sandbox_copy_touch.py [--rounds 3] [--blocks 6] [--touch 50] [--files 100] [--size 1000000]

Prints the median per block of each round and the median of the rounds. Timing lives here, never
in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
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


def _block(tag: str, before: str | None, touch: int):
    remove = f"rm -f t{before}-*.txt; " if before else ""
    (found,) = extract_code_blocks(
        f"```sh\n{remove}for i in $(seq 1 {touch}); do echo {tag} > t{tag}-$i.txt; done\n```")
    return found


async def measure(image: str, rounds: int, blocks: int, touch: int, files: int, size: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-touch-"))
    _fill(work, files, size)
    executor = DockerExecutor(DockerSettings(image=image, workspace="copy", disk_limit="2g"), work,
                              f"bench-touch-{uuid.uuid4().hex[:6]}")
    try:
        assert (await executor.run(_block("warm", None, touch))).ok  # container + first copy in
        before, medians = "warm", []
        for r in range(rounds):
            times = []
            for n in range(blocks):
                tag = f"{r}x{n}"
                t0 = time.perf_counter()
                result = await executor.run(_block(tag, before, touch))
                times.append(time.perf_counter() - t0)
                assert result.ok, result
                assert (work / f"t{tag}-{touch}.txt").read_text() == f"{tag}\n"
                assert not (work / f"t{before}-1.txt").exists()
                before = tag
            medians.append(statistics.median(times))
            print(f"round {r + 1}: {medians[-1] * 1000:.1f} ms per block")
        median = statistics.median(medians)
        print(f"median of {rounds} rounds, {2 * touch} top entries touched per block, "
              f"{files} files of {size} bytes untouched in the work dir "
              f"(quota layer: {executor.disk_quota}): {median * 1000:.1f} ms per block")
    finally:
        await executor.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--touch", type=int, default=50)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--image", default=os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest"))
    args = parser.parse_args()
    asyncio.run(measure(args.image, args.rounds, args.blocks, args.touch, args.files, args.size))


if __name__ == "__main__":
    main()
