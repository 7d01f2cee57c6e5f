"""How long the demo's offline sandbox build takes, and how good its progress estimate is.

Builds a throwaway image with ``tuiagents sandbox build``'s machinery (``build_image`` of the demo,
which calls ``build_sandbox_image``), records every progress report, then removes the image.
Reported: the total time, the lines logged (the demo's ``BUILD_LINES`` should be close), and at
25/50/75/90 % of the wall time the fraction shown and the estimate of the time left next to the
true time left.

Needs root, debootstrap, a Debian mirror and a Docker daemon. Run:
``sudo python bench/bench_sandbox_build.py [--tag tuiagents-sandbox:bench]``. Timing lives here,
never in a test assertion.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    """Build, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default="tuiagents-sandbox:bench")
    args = parser.parse_args()

    import docker

    from tuiagents.app.demo_sandbox import BUILD_LINES, Progress, build_image

    reports: list[tuple[float, Progress]] = []
    start = time.monotonic()
    build_image(args.tag, lambda p: reports.append((time.monotonic() - start, p)))
    total = time.monotonic() - start
    print(f"built {args.tag} in {total:.1f} s; {len(reports)} progress reports (BUILD_LINES = {BUILD_LINES})")
    for share in (0.25, 0.5, 0.75, 0.9):
        at, p = next((t, p) for t, p in reports if t >= share * total)
        eta = "?" if p.eta is None else f"{p.eta:.0f} s"
        print(f"  at {at:5.1f} s: shows {p.fraction:4.0%}, estimates {eta} left, truly {total - at:.0f} s left")
    docker.from_env().images.remove(args.tag)


if __name__ == "__main__":
    main()
