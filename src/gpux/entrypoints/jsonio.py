"""Exact JSON for the command line: the domain's codec, under the name the CLI has always used."""

from gpux.domain.jsonio import dumps, loads

__all__ = ["dumps", "loads"]
