"""Two versions of the clearing engine on one book, back to back: old, new, old, new, ...

    python -m bench.pairs OLD_COMMIT BOOK.json [--time-limit 30] [--pairs 3] [--workers 2]

Runs of the same code on market-10000 at 30 s vary by about +-5 k on a 2-core machine, and
the machine's speed drifts between sessions (2x seen), so a change is judged by pairs run
one right after the other: `gpux clear` of `src/` at OLD_COMMIT (extracted with `git
archive` into a scratch folder and put first on `PYTHONPATH`), then of the working tree.
Each run's result is checked with `gpux check` (of the working tree). Prints the machine's
speed (a pure-Python loop) before and after, and, per pair, both surpluses, their
difference, wall seconds and the search's counts (window rounds, ejection moves), then the
mean difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def extract(commit: str, into: Path) -> Path:
    """`src/` of `commit`, extracted under `into`; its path."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "src"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def clear(src: Path, book: Path, limit: float, workers: int, out: Path
          ) -> tuple[Decimal, float, dict[str, object]]:
    """Run `gpux clear` with `src` first on the path: surplus, wall seconds, stats."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    began = time.monotonic()
    with out.open("w") as sink:
        subprocess.run([sys.executable, "-m", "gpux.entrypoints.cli", "clear", str(book),
                        "--time-limit", str(limit), "--workers", str(workers), "--seed", "0"],
                       env=env, stdout=sink, check=True)
    wall = time.monotonic() - began
    subprocess.run([sys.executable, "-m", "gpux.entrypoints.cli", "check", str(book),
                    str(out)], check=True, capture_output=True)
    doc = json.loads(out.read_text())
    return Decimal(str(doc["surplus"])), wall, doc["stats"]


def machine_speed() -> float:
    """Seconds a pure-Python loop of 10 M additions takes here now, in a function: 0.32-0.39
    s on a quick machine (session 9; the notes' 0.70-1.15 s are the same loop at a module's
    top level, slower). The machine's speed drifts within a session: 1.6x seen."""
    began = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pairs", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="the commit to compare the working tree with")
    ap.add_argument("book", type=Path)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    diffs: list[Decimal] = []
    print(f"machine: 10 M additions in {machine_speed():.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        old_src = extract(args.old, Path(scratch))
        new_src = ROOT / "src"
        out = Path(scratch) / "result.json"
        print(f"{'pair':>4} {'old':>16} {'new':>16} {'new - old':>12} {'wall old/new':>13} "
              f"{'windows':>9} {'ejections':>9}", flush=True)
        for k in range(1, args.pairs + 1):
            old, old_wall, old_stats = clear(old_src, args.book, args.time_limit,
                                             args.workers, out)
            new, new_wall, new_stats = clear(new_src, args.book, args.time_limit,
                                             args.workers, out)
            diffs.append(new - old)
            print(f"{k:>4} {old:>16,.2f} {new:>16,.2f} {new - old:>+12,.2f} "
                  f"{old_wall:>6.1f}/{new_wall:<6.1f} "
                  f"{old_stats.get('window_rounds')}/{new_stats.get('window_rounds'):<6} "
                  f"{old_stats.get('ejection_moves')}/{new_stats.get('ejection_moves')}",
                  flush=True)
    mean = sum(diffs, Decimal(0)) / len(diffs) if diffs else Decimal(0)
    print(f"mean new - old: {mean:+,.2f} over {len(diffs)} pairs")
    print(f"machine: 10 M additions in {machine_speed():.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
