#!/usr/bin/env python3
"""Set up and run gpux from a fresh clone with nothing but Python 3.11+.

    python3 dev.py demo   # make a virtualenv, install, run the exchange's demo (gpux demo)
    python3 dev.py test   # the whole test suite: ruff, mypy, import contracts, pytest
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".gpux-installed"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if code:
        sys.exit(code)


def ensure_installed() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"gpux needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want:
        return
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(want)


def demo() -> None:
    run(BIN / "gpux", "demo", *sys.argv[2:])


def test() -> None:
    dirs = ("src", "tests", "bench", "migrations")
    run(BIN / "ruff", "check", *(d for d in dirs if (ROOT / d).is_dir()))
    run(BIN / "mypy")
    run(BIN / "lint-imports")
    run(BIN / "pytest", "-q", *sys.argv[2:])


def main() -> None:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(commands)}}}")
    ensure_installed()
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
