"""The trading commands through `gpux.entrypoints.cli.main` against a running API."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from clikit import gpux, run_cli
from feedkit import HOUR, Exchange, iso, start_hour

pytestmark = pytest.mark.usefixtures("cli_home")





async def test_login_stores_the_key_owner_only_and_later_commands_use_it(
        exchange: Exchange, tmp_path: Path) -> None:
    code, out, _ = await gpux("login", "--url", exchange.url, "--key", exchange.keys["lab"])
    assert code == 0 and "as lab (buyer)" in out
    path = tmp_path / "config" / "gpux" / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())["key"] == exchange.keys["lab"]
    code, out, _ = await gpux("orders", "--json")
    assert code == 0 and json.loads(out)["items"] == []
    code, _, err = await gpux("login", "--url", exchange.url, "--key", "wrong")
    assert code == 1 and "unauthenticated" in err


async def test_structured_bid_and_ask_are_placed_listed_and_cancelled(
        exchange: Exchange) -> None:
    h0 = start_hour()
    between = [iso(h0), iso(h0 + 48 * HOUR)]
    flags = ["--url", exchange.url, "--key", exchange.keys["lab"]]
    code, out, err = await gpux("bid", "--gpus", "16", "--gpu", "H100", "--hours", "10",
                                "--between", *between, "--limit-per-gpu-hour", "2.40",
                                "--region", "us-east", "--client-order-id", "cli-1",
                                "--json", *flags)
    assert code == 0, err
    bid = json.loads(out)
    assert bid["client_order_id"] == "cli-1" and bid["alternatives"][0]["legs"][0]["gpus"] == 16
    code, out, _ = await gpux("bid", "--gpus", "16", "--gpu", "H100", "--hours", "10",
                              "--between", *between, "--limit-per-gpu-hour", "2.40",
                              "--region", "us-east", "--client-order-id", "cli-1", *flags)
    assert code == 0 and "already placed" in out
    code, out, _ = await gpux("orders", *flags)
    assert code == 0 and "cli-1" in out and "16 x H100 for 10 h" in out
    code, out, _ = await gpux("cancel", str(bid["id"]), *flags)
    assert code == 0 and f"order {bid['id']}: cancelled" in out
    code, _, err = await gpux("cancel", str(bid["id"]), *flags)
    assert code == 1 and "409" in err

    code, out, err = await gpux("ask", "--pool", "acme-h100", "--gpus", "8", "--between",
                                *between, "--price", "1.50", "--url", exchange.url,
                                "--key", exchange.keys["acme"])
    assert code == 0 and "placed: order" in out, err


async def test_bad_input_exits_2_naming_the_field(exchange: Exchange) -> None:
    flags = ["--url", exchange.url, "--key", exchange.keys["lab"]]
    h0 = start_hour()
    code, _, err = await gpux("bid", "--gpus", "16", "--hours", "10", *flags)
    assert code == 2 and "--between" in err
    code, _, err = await gpux("bid", "--gpus", "16", "--hours", "10", "--between", "soon",
                              iso(h0), "--limit-per-gpu-hour", "2", *flags)
    assert code == 2 and "--between" in err and "soon" in err
    code, _, err = await gpux("bid", "--gpus", "16", "--hours", "10", "--between", iso(h0),
                              iso(h0 + HOUR * 48), "--limit-per-gpu-hour", "-1", *flags)
    assert code == 2 and "--limit-per-gpu-hour" in err
    code, _, err = await gpux("bid", "--gpus", "0", "--hours", "10", "--between", iso(h0),
                              iso(h0 + HOUR * 48), "--limit-per-gpu-hour", "2", *flags)
    assert code == 2 and "alternatives[0].legs[0].gpus" in err
    code, _, err = await gpux("bid", "--gpus", "4", "--url", exchange.url)
    assert code == 2 and "key" in err
    code, _, err = await gpux("orders", "--url", "http://127.0.0.1:9", "--key", "k")
    assert code == 1 and "cannot reach" in err


async def test_auctions_prices_and_watch_show_the_public_market(exchange: Exchange) -> None:
    await exchange.seed_book()
    auction_id = await exchange.clear_until_traded()
    code, out, _ = await gpux("auctions", "--url", exchange.url)
    assert code == 0 and "cleared" in out
    code, out, _ = await gpux("auctions", str(auction_id), "--json", "--url", exchange.url)
    assert code == 0 and json.loads(out)["prices"]
    code, out, _ = await gpux("prices", "--url", exchange.url)
    assert code == 0 and "H100" in out
    code, out, _ = await gpux("prices", "--json", "--url", exchange.url)
    assert json.loads(out)[0]["gpu"] == "H100"
    code, out, _ = await gpux("watch", "--once", "--json", "--url", exchange.url)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and {m["channel"] for m in lines} == {"auctions", "supply"}
    rounds = next(m for m in lines if m["channel"] == "auctions")["data"]["rounds"]
    assert any(r["auction_id"] == auction_id for r in rounds)
    code, out, _ = await gpux("watch", "--once", "--url", exchange.url)
    assert code == 0 and "price index" in out and "H100" in out


def test_every_trading_command_has_help() -> None:
    for command in ("login", "bid", "ask", "orders", "cancel", "auctions", "prices", "watch"):
        code, out, _ = run_cli([command, "--help"])
        assert code == 0 and "usage: gpux " + command in out and "--url" in out
