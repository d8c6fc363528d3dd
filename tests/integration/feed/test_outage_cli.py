"""`gpux outage` and the SDK's outage methods against a running API, after a real round."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from clikit import gpux
from feedkit import HOUR, Exchange, iso, start_hour

pytestmark = pytest.mark.usefixtures("cli_home")





async def test_gpux_outage_credits_holders_once_and_the_sdk_reads_the_credits(
        exchange: Exchange) -> None:
    from gpux.client import AsyncClient
    from gpux.entrypoints.worker import rounds_of

    await exchange.seed_book()
    await rounds_of(exchange.res).clear_round(datetime.now(UTC))
    h0 = start_hour()
    async with AsyncClient(exchange.url, exchange.keys["lab"]) as lab:
        held = (await lab.contracts()).items
    assert held, "the round filled nothing"
    argv = ["outage", "acme-h100", "--from", iso(h0), "--to", iso(h0 + 48 * HOUR),
            "--reason", "fire drill", "--url", exchange.url, "--key", exchange.keys["acme"]]
    code, out, err = await gpux(*argv, "--json")
    assert code == 0, err
    doc = json.loads(out)
    # Every GPU-hour of every contract is lost; the 99.99 tier credits 50 % of its price.
    lab_credits = [c for c in doc["credits"] if c["holder_id"] == "lab"]
    assert sum(Decimal(str(c["paid"])) for c in lab_credits) == sum(
        c.price for c in held) / 2
    code, again, _ = await gpux(*argv, "--json")
    assert (code, json.loads(again)["id"]) == (0, doc["id"])
    code, text, _ = await gpux(*argv)
    assert code == 0 and f"#{doc['id']}" in text and "credited" in text

    code, _, err = await gpux("outage", "acme-h100", "--from", iso(h0 + 60 * HOUR), "--to",
                              iso(h0 + 61 * HOUR), "--gpus", "17", "--url", exchange.url,
                              "--key", exchange.keys["acme"])
    assert code == 2 and "gpus" in err
    code, _, err = await gpux("outage", "acme-h100", "--from", iso(h0 + 60 * HOUR), "--to",
                              iso(h0 + 61 * HOUR), "--url", exchange.url,
                              "--key", exchange.keys["lab"])
    assert code == 1 and "forbidden" in err
    code, _, err = await gpux("outage", "acme-h100", "--from", iso(h0), "--to", iso(h0),
                              "--key", "k")
    assert code == 2 and "--to" in err

    async with AsyncClient(exchange.url, exchange.keys["lab"]) as lab:
        listed = (await lab.outages("acme-h100")).items
        credits = await asyncio.gather(*(lab.contract_credits(c.id) for c in held))
    assert [(o.id, o.kind, o.reason) for o in listed] == [(doc["id"], "outage", "fire drill")]
    assert [[c.outage_id for c in cs] for cs in credits] == [[doc["id"]] for _ in held]
