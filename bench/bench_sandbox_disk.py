"""How far past its disk limit a block can write, however many files the work dir holds.

The attack of issue 16: with ``disk_limit = "20m"``, one block makes many empty files, the next
writes 20 files of 15 MB as fast as it can. Prints what each block cost and how many bytes landed
in the work dir past the limit (the old measuring watchdog let 300 MB land: 15x), under the
kernel's quota (the per-block layer) and, with ``--measured``, without it.

    python bench/bench_sandbox_disk.py [--files 150000] [--measured] [--image IMAGE]

Timing and sizes live here, never in a test assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from tuiagents.execution import DockerExecutor, DockerSettings
from tuiagents.execution.codeblocks import CodeBlock
from tuiagents.execution.sandbox_container import Grants

MANY = """
import os
os.makedirs("many", exist_ok=True)
for i in range({files}):
    open(f"many/{{i}}", "w").close()
"""
BIG = """
import os
chunk = os.urandom(1 << 20)
for i in range(20):
    try:
        with open(f"big{i}", "wb") as f:
            for _ in range(15):
                f.write(chunk)
    except OSError:
        pass
"""


def allocated(root: Path) -> int:
    """Bytes allocated under ``root``, not following symlinks."""
    total = 0
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=150000)
    parser.add_argument("--measured", action="store_true", help="without the kernel's quota")
    parser.add_argument("--image", default=os.environ.get("SANDBOX_IMAGE", "tuiagents-sandbox:latest"))
    args = parser.parse_args()
    Grants.quota = not args.measured
    limit = 20 << 20
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        executor = DockerExecutor(DockerSettings(image=args.image, timeout=600, disk_limit="20m"),
                                  work, f"bench-disk-{uuid.uuid4().hex[:6]}")
        try:
            for name, code in (("many", MANY.format(files=args.files)), ("big", BIG)):
                before = allocated(work)
                began = time.monotonic()
                result = await executor.run(CodeBlock(language="python", code=code, runnable=True))
                took = time.monotonic() - began
                grown = allocated(work) - before
                print(f"{name}: {took:.2f} s, {grown / 1e6:.1f} MB landed "
                      f"({grown / limit:.2f}x the limit), exit {result.exit_code}, {result.notes}")
            print("quota held by the kernel:", executor.disk_quota)
        finally:
            await executor.close()


if __name__ == "__main__":
    asyncio.run(main())
