"""Benchmarks: gpux's clearing against naive CP-SAT, HiGHS and greedy baselines.

`python -m bench.run --help` runs the matrix; `docs/benchmarks.md` records a run.
"""
