"""What the trading commands share: where the API and key come from, the SDK client, exit
statuses, and JSON or table output.

Address and key, first found wins: `--url` / `--key`, then `GPUX_API_URL` / `GPUX_API_KEY`,
then the file `gpux login` wrote (`$XDG_CONFIG_HOME/gpux/credentials.json`, by default
`~/.config/gpux/credentials.json`, mode 0600), then http://127.0.0.1:8000 (address only).

Exit status: 0 done; 1 the exchange refused (401, 403, 404, 409), could not be reached, or
the user did not confirm; 2 bad input, with the field named (a bad flag, or a 422 from the
exchange).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_REFUSED = 1
EXIT_INPUT = 2


class InputError(Exception):
    """Bad input on the command line: exit status 2. `field` names the flag or value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_time(flag: str, text: str, *, whole_hour: bool = False) -> datetime:
    """A time given on the command line (ISO 8601; no zone means UTC), in UTC; with
    `whole_hour`, refused unless it is one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(flag, f"must be a time like 2026-12-01T10:00Z, was {text!r}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if whole_hour and (moment.minute or moment.second or moment.microsecond):
        raise InputError(flag, f"must be a whole hour (UTC), was {text!r}")
    return moment


def credentials_path() -> Path:
    """Where `gpux login` keeps the address and key."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gpux" / "credentials.json"


def save_credentials(url: str, key: str, account_id: str) -> Path:
    """Write the credentials file, readable by its owner alone."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": url, "key": key, "account_id": account_id}, f, indent=2)
    os.chmod(path, 0o600)
    return path


def _stored() -> dict[str, str]:
    try:
        found = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def resolve(args: argparse.Namespace, *, need_key: bool = True) -> tuple[str, str | None]:
    """The API address and key (see the module docstring for the order)."""
    stored = _stored()
    url = (getattr(args, "url", None) or os.environ.get("GPUX_API_URL") or stored.get("url")
           or DEFAULT_URL)
    key = getattr(args, "key", None) or os.environ.get("GPUX_API_KEY") or stored.get("key")
    if need_key and not key:
        raise InputError("key", "no API key: pass --key, set GPUX_API_KEY or run `gpux login`")
    return url, key


def client_of(args: argparse.Namespace, *, need_key: bool = True) -> Any:
    from gpux.client import Client

    url, key = resolve(args, need_key=need_key)
    return Client(url, key)


def add_api_flags(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    p.add_argument("--url", help=f"API address (default $GPUX_API_URL, then `gpux login`'s, "
                   f"then {DEFAULT_URL})")
    p.add_argument("--key", help="API key (default $GPUX_API_KEY, then `gpux login`'s)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON (for scripts)")


def api_command(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command, turning input errors and the exchange's refusals into exit statuses."""
    from gpux.client import GpuxError, InvalidRequest

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except InputError as err:
            print(f"gpux {args.command}: {err}", file=sys.stderr)
            return EXIT_INPUT
        except InvalidRequest as err:
            print(f"gpux {args.command}: {err}", file=sys.stderr)
            return EXIT_INPUT
        except GpuxError as err:
            print(f"gpux {args.command}: {err}", file=sys.stderr)
            return EXIT_REFUSED

    wrapped.__doc__ = run.__doc__
    return wrapped


def plain(value: Any) -> Any:
    """A model (dataclass) as JSON-ready values: Decimal stays exact, times in ISO 8601."""
    import dataclasses
    from datetime import datetime

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def print_json(value: Any) -> None:
    from gpux.domain.jsonio import dumps

    print(dumps(plain(value)))


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    Console(file=sys.stdout, width=160).print(table)


def short(moment: Any) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%MZ")
