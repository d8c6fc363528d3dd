"""The SDK's typed answers carry exactly the fields of the API's answers (OpenAPI), so the
two cannot drift apart: the SDK may not import the server, so nothing else ties them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gpux.client import funds, models, outages
from gpux.config import Settings
from gpux.entrypoints.api.app import create_app

# SDK type -> the OpenAPI schema it reads.
PAIRS = {
    models.Account: "AccountOut", models.ApiKey: "KeyOut", models.Pool: "PoolOut",
    models.Leg: "LegOut", models.Alternative: "AlternativeOut", models.Order: "OrderOut",
    models.Fill: "FillOut", models.Contract: "ContractOut",
    models.ClearingPrice: "ClearingPriceOut", models.Auction: "AuctionDetailOut",
    models.PriceIndex: "PriceIndexOut", outages.Outage: "OutageOut",
    outages.Credit: "CreditOut", funds.Balance: "BalanceOut", funds.LedgerEntry: "EntryOut",
    funds.Statement: "StatementOut", funds.Halt: "HaltOut",
}
# Fields an SDK type has beyond the body: where each comes from instead.
NOT_IN_BODY: dict[type, set[str]] = {models.Order: {"replayed"}}  # Idempotent-Replayed header


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    app = create_app(Settings(database_url="postgresql://gpux@localhost/gpux",
                              redis_url="redis://localhost:6379/0"))
    found: dict[str, Any] = app.openapi()["components"]["schemas"]
    return found


def _sdk_fields(kind: type) -> set[str]:
    names = {f.name for f in dataclasses.fields(kind)}
    names |= {n for n, v in vars(kind).items() if isinstance(v, property)}
    return names - NOT_IN_BODY.get(kind, set())


@pytest.mark.parametrize("kind", list(PAIRS), ids=lambda k: k.__name__)
def test_each_sdk_answer_type_has_the_fields_of_its_api_schema(
        kind: type, schemas: dict[str, Any]) -> None:
    api = set(schemas[PAIRS[kind]]["properties"])
    assert _sdk_fields(kind) == api


def test_every_answer_schema_of_the_api_has_an_sdk_type(schemas: dict[str, Any]) -> None:
    answers = {name for name in schemas if name.endswith("Out")}
    # Pages are read as Page[T]; problems become exceptions (gpux.client.errors); the auction
    # list reads AuctionOut, the detail's fields without `prices`; MarketOut's one field is
    # what `market_halted()` returns.
    covered = set(PAIRS.values()) | {"AuctionOut", "ProblemOut", "MarketOut"}
    assert answers - covered == set()
