"""The default path: with no DATABASE_URL / REDIS_URL, `gpux demo` runs the whole exchange on
the embedded PostgreSQL and Redis servers and reports what cleared."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.embedded
def test_demo_clears_auctions_on_the_embedded_servers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("GPUX_")}
    env["GPUX_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run(
        [sys.executable, "-m", "gpux.entrypoints.cli", "demo", "--bids", "80", "--rounds", "2",
         "--interval", "3"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    cleared = re.search(r"(\d+) auctions cleared: (\d+) GPU-hours traded", out)
    assert cleared, out
    assert int(cleared.group(1)) >= 2 and int(cleared.group(2)) > 0, out
    assert re.search(r"^  \S+ +\$ *\d+(\.\d+)? per GPU-hour", out, re.M), out
    assert "pays $" in out, out
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
