"""Running `gpux` commands in-process against a running API, for the CLI tests."""

from __future__ import annotations

import asyncio
import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest


def run_cli(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `gpux ARGV` with `stdin` as its input."""
    from gpux.entrypoints.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = int(exit_.code or 0)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


async def gpux(*argv: str) -> tuple[int, str, str]:
    """`run_cli` in a thread: the API under test runs on this event loop."""
    return await asyncio.to_thread(run_cli, list(argv))


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config directory of the test's own and no key or URL from the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("GPUX_API_KEY", raising=False)
    monkeypatch.delenv("GPUX_API_URL", raising=False)
