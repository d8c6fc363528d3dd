"""Resale from the terminal and the SDK against a running API: `gpux contracts`, `gpux resell`
and `Client.resell`."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from clikit import gpux, run_cli
from feedkit import HOUR, Exchange, iso

pytestmark = pytest.mark.usefixtures("cli_home")





async def test_a_holder_resells_part_of_a_contract_with_the_cli_and_the_sdk(
        exchange: Exchange) -> None:
    from gpux.client import AsyncClient

    await exchange.seed_book()
    await exchange.clear_until_traded()
    flags = ["--url", exchange.url, "--key", exchange.keys["lab"]]
    code, out, err = await gpux("contracts", "--json", *flags)
    assert code == 0, err
    (held,) = json.loads(out)["items"]
    start = held["starts_at"].replace("+00:00", "Z")
    end = iso(_at(held["starts_at"]) + 2 * HOUR)

    code, out, err = await gpux("resell", str(held["id"]), "--gpus", "4", "--from", start,
                                "--to", end, "--reserve", "2.10", "--client-order-id", "r-1",
                                "--json", *flags)
    assert code == 0, err
    offer = json.loads(out, parse_float=Decimal)
    assert (offer["side"], offer["gpus"], offer["price"], offer["contract_id"]) == (
        "ask", 4, Decimal("2.10"), held["id"])
    code, out, _ = await gpux("resell", str(held["id"]), "--gpus", "4", "--from", start,
                              "--to", end, "--reserve", "2.10", "--client-order-id", "r-1",
                              *flags)
    assert code == 0 and "already placed" in out
    code, out, _ = await gpux("contracts", *flags)
    assert code == 0 and f"offered (order {offer['id']})" in out

    # The superseded contract cannot be offered again; the SDK says why.
    async with AsyncClient(exchange.url, exchange.keys["lab"]) as gx:
        pieces = (await gx.contracts()).items
        assert {p.parent_id for p in pieces} == {held["id"]}
        spare = next(p for p in pieces if not p.offered)
        again = await gx.resell(spare.id, 1, spare.starts_at, spare.ends_at, "3")
        assert again.contract_id == spare.id and again.status == "open"
    code, _, err = await gpux("resell", str(held["id"]), "--gpus", "1", "--from", start,
                              "--to", end, "--reserve", "2", *flags)
    assert code == 1 and "contract_superseded" in err
    code, _, err = await gpux("resell", str(held["id"]), "--gpus", "1", "--from", start,
                              "--to", end, "--reserve", "2", "--url", exchange.url, "--key",
                              exchange.keys["uni"])
    assert code == 1 and "contract_not_held" in err


async def test_bad_resell_input_exits_2_naming_the_flag(exchange: Exchange) -> None:
    flags = ["--url", exchange.url, "--key", exchange.keys["lab"]]
    code, _, err = await gpux("resell", "1", "--gpus", "0", "--from", "2026-12-01T00:00Z",
                              "--to", "2026-12-01T02:00Z", "--reserve", "2", *flags)
    assert code == 2 and "--gpus" in err
    code, _, err = await gpux("resell", "1", "--gpus", "1", "--from", "soon",
                              "--to", "2026-12-01T02:00Z", "--reserve", "2", *flags)
    assert code == 2 and "--from" in err and "soon" in err
    code, _, err = await gpux("resell", "1", "--gpus", "1", "--from", "2026-12-01T00:00Z",
                              "--to", "2026-12-01T02:00Z", "--reserve", "-1", *flags)
    assert code == 2 and "--reserve" in err


def test_resell_and_contracts_have_help() -> None:
    for command in ("resell", "contracts"):
        code, out, _ = run_cli([command, "--help"])
        assert code == 0 and "usage: gpux " + command in out and "--json" in out


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
