"""Parse time of the plain-English order grammar over the labelled corpus.

    .venv/bin/python bench/nlparse.py [--repeat N]

Parses every corpus text N times (errors included), reports the median and p99 ms per
order, and, as a baseline in the same process, the time of `text.lower().split()` over the
same texts. Also prints the per-field accuracy table of the corpus.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "nlorders"))

from corpus import cases, expected, run  # noqa: E402

from gpux.domain.errors import ExchangeError  # noqa: E402
from gpux.nlorders.parser import parse  # noqa: E402


def _times(fn: object, texts: list[tuple[str, datetime]], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        for text, now in texts:
            t0 = time.perf_counter()
            with contextlib.suppress(ExchangeError):
                fn(text, now)  # type: ignore[operator]
            out.append((time.perf_counter() - t0) * 1000)
    return out


def accuracy() -> list[tuple[str, int, int]]:
    """(field, right, total) over every expected field of every corpus case."""
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for case in cases():
        got, want = run(case), expected(case)
        for key, value in want.items():
            field = key.split(".")[-1].split("[")[0]
            ok = (value in got.get(key, "\0")) if key == "error.quote" else got.get(key) == value
            seen[field] += 1
            right[field] += ok
    return [(f, right[f], seen[f]) for f in sorted(seen)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    texts = [(c["text"], datetime.fromisoformat(c["now"].replace("Z", "+00:00")))
             for c in cases()]
    _times(parse, texts, 1)  # warm the regex caches
    grammar = sorted(_times(parse, texts, args.repeat))
    base = sorted(_times(lambda t, n: t.lower().split(), texts, args.repeat))
    med, p99 = statistics.median(grammar), grammar[int(0.99 * (len(grammar) - 1))]
    bmed = statistics.median(base)
    print(f"orders: {len(texts)} x {args.repeat}")
    print(f"parse:    median {med:.3f} ms  p99 {p99:.3f} ms")
    print(f"baseline: median {bmed * 1000:.2f} us  (text.lower().split())")
    print(f"ratio:    {med / bmed:.0f}x the baseline")
    print("\n| field | right | total | accuracy |\n| --- | --- | --- | --- |")
    for field, ok, total in accuracy():
        print(f"| {field} | {ok} | {total} | {100 * ok / total:.1f}% |")


if __name__ == "__main__":
    main()
