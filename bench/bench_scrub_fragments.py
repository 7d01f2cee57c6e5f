"""Cost of the scrubber per line and per screen-sized text, with fragment matching of known secrets.

Run: python3 bench/bench_scrub_fragments.py. Prints microseconds per call for a typical log line and a
screen-sized text, with 1 and 10 registered keys (fragments of every one are matched).
"""

from __future__ import annotations

import secrets as pysecrets
import timeit

from tuiagents.secrets import Scrubber


def main() -> None:
    line = "assistant: Here is the result of the computation, nothing secret in it at all. " * 2
    screen = "\n".join(f"{i:4d} | some output line with words and numbers 1234567890 and paths /a/b/c" for i in range(48))
    for count in (1, 10):
        keys = [f"sk-proj-{pysecrets.token_urlsafe(36)}" for _ in range(count)]
        with_frag = Scrubber(keys, environ={}, registry=False)
        split = f"{keys[0][:20]} {keys[0][20:]}"
        assert with_frag.scrub(split) == "[redacted] [redacted]"
        for name, text in (("log line", line), ("screen", screen), ("split key", split)):
            n = 2000
            t = timeit.timeit(lambda: with_frag.mask(text), number=n) / n * 1e6
            print(f"{count:2d} keys  {name:9s} {len(text):5d} chars  mask {t:7.1f} us")


if __name__ == "__main__":
    main()
