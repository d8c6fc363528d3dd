"""Run gpux and the baselines over a matrix of instances and print Markdown tables.

    python -m bench.run [--sizes 100,1000,10000,50000] [--cats 100x500,200x1000,400x2000]
                        [--time-limit 30] [--big-time-limit 120] [--seeds 1]
                        [--methods gpux,greedy,cpsat,cpsat-warm,highs] [--no-lp]
                        [--out bench/out/results.json] [--resume]
    python -m bench.run --reference [--sizes 1000] [--seeds 1,2]

Each (instance, method) runs in a fresh `python -m bench.worker` child, one after another,
so timings do not compete for the two cores and each peak RSS is that method's own. Market
sizes above `--gpux-only-above` bids run gpux alone, with `--big-time-limit`: the naive
enumeration there has millions of columns and tens of millions of nonzeros.

`--reference` is the targets' yardstick: gpux, plain CP-SAT and HiGHS each warm-started
from greedy, 600 s each (`--time-limit` still overrides), no LP, no CATS, rows saved to
`bench/out/reference.json`; `--against` that file adds each instance's best reference
surplus to the report, and gpux's share of it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.instances import InstanceSpec
from bench.report import print_report
from bench.worker import METHODS

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_METHODS = "gpux,cpsat-warm,highs-warm"
REFERENCE_SECONDS = 600.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1000,10000,50000", help="market sizes in bids")
    ap.add_argument("--cats", default="100x500,200x1000,400x2000", help="CATS goods x bids")
    ap.add_argument("--time-limit", type=float, default=None, help="30 (600 with --reference)")
    ap.add_argument("--big-time-limit", type=float, default=120.0)
    ap.add_argument("--gpux-only-above", type=int, default=10_000)
    ap.add_argument("--seeds", default="1", help="comma-separated seeds")
    ap.add_argument("--methods", default="gpux,greedy,cpsat,cpsat-warm,highs")
    ap.add_argument("--no-lp", action="store_true", help="skip the LP-relaxation bound")
    ap.add_argument("--out", default=None,
                    help="bench/out/results.json (reference.json with --reference)")
    ap.add_argument("--reference", action="store_true",
                    help="10-minute reference runs: gpux, cpsat-warm, highs-warm; no LP")
    ap.add_argument("--against", default=None,
                    help="a --reference run's rows, to compare surpluses with")
    ap.add_argument("--resume", action="store_true",
                    help="keep rows already in --out and run only the missing ones")
    args = ap.parse_args(argv)
    if args.reference:
        args.methods, args.no_lp, args.cats = REFERENCE_METHODS, True, ""
        if "--sizes" not in (argv if argv is not None else sys.argv):
            args.sizes = "1000"
    if args.time_limit is None:
        args.time_limit = REFERENCE_SECONDS if args.reference else 30.0
    if args.out is None:
        args.out = "bench/out/reference.json" if args.reference else "bench/out/results.json"
    return args


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def plan(args: argparse.Namespace) -> list[tuple[str, str, float, int]]:
    """(instance, method, time limit, seed) for every run, in the order they will run."""
    methods = _split(args.methods)
    for m in methods:
        if m not in METHODS:
            raise SystemExit(f"--methods: {m!r} is not one of {', '.join(METHODS)}")
    if not args.no_lp and "lp" not in methods:
        methods.append("lp")
    runs = []
    for seed in (int(s) for s in _split(args.seeds)):
        specs = [InstanceSpec("market", int(n), seed) for n in _split(args.sizes)]
        for gb in _split(args.cats):
            goods, bids = (int(v) for v in gb.split("x"))
            specs.append(InstanceSpec("cats", bids, seed, goods=goods))
        for spec in specs:
            big = spec.kind == "market" and spec.bids > args.gpux_only_above
            limit = args.big_time_limit if big else args.time_limit
            for m in (["gpux"] if big else methods):
                runs.append((spec.name, m, limit, seed))
    return runs


def run_one(name: str, method: str, limit: float, seed: int) -> dict[str, Any]:
    """Run one method on one instance in a child process and read back its row."""
    timeout = 4 * limit + 300  # generous: build and pricing come on top of the solve limit
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        cmd = [sys.executable, "-m", "bench.worker", name, method, str(limit), str(seed),
               str(out)]
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"instance": name, "method": method, "time_limit": limit,
                    "status": f"killed after {timeout:.0f} s"}
        if not out.exists():
            return {"instance": name, "method": method, "time_limit": limit,
                    "status": f"child exited {proc.returncode} without a result",
                    "stderr": proc.stderr[-2000:],
                    "child_seconds": round(time.monotonic() - started, 1)}
        row: dict[str, Any] = json.loads(out.read_text())
        row["child_seconds"] = round(time.monotonic() - started, 1)
        return row


def main(argv: list[str] | None = None) -> int:
    """Run the matrix, saving rows as they come, then print the report."""
    args = _args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    if args.resume and out.exists():
        rows = json.loads(out.read_text())["rows"]
    done = {(r["instance"], r["method"]) for r in rows}
    started = time.monotonic()
    for name, method, limit, seed in plan(args):
        if (name, method) in done:
            continue
        print(f"[{time.monotonic() - started:7.1f}s] {name} {method} (limit {limit:g}s) ...",
              file=sys.stderr, flush=True)
        row = run_one(name, method, limit, seed)
        print(f"           -> {row.get('status')} in {row.get('child_seconds', '?')}s",
              file=sys.stderr, flush=True)
        rows.append(row)
        out.write_text(json.dumps({"argv": sys.argv, "rows": rows}, indent=1, default=str))
    reference: list[dict[str, Any]] = []
    if args.against:
        reference = json.loads(Path(args.against).read_text())["rows"]
    print_report(rows, reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
