"""The model backend: proposals read through the grammar's checks, asked only when it fails."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from gpux.domain.book import Pool
from gpux.domain.errors import ExchangeError
from gpux.domain.jsonio import dumps, loads
from gpux.nlorders.backend import MODEL_WARNING, from_doc, parse_with_fallback
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.order import BuyOrder, SellOrder, to_doc
from gpux.nlorders.parser import parse

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
BUY_TEXT = ("need 64 H100s for three days straight sometime next week in us-east, five nines, "
            "up to $2.40 an hour each; A100s would do at $1.50")
SELL_TEXT = "selling 16 GPUs from pool acme-h100-use at least $1.85 per GPU-hour"
UNREADABLE = "8 V100 for 2 days at $1/gpu/hr"
PROPOSAL: dict[str, Any] = {
    "side": "buy",
    "alternatives": [{"value": "48", "earliest_start": "2026-12-01T10:00:00Z",
                      "latest_end": "2026-12-08T10:00:00Z",
                      "legs": [{"gpus": 8, "duration_hours": 48, "offset_hours": 0,
                                "gpu": ["L4"], "regions": ["us-west", "us-east"]}]}],
    "explanation": [{"field": "gpu", "value": "L4", "words": "V100"}],
    "warnings": ["gpu: V100 read as L4"],
}


class FakeProposer:
    """Answers every text with one document, or raises one error; records what it was asked."""

    def __init__(self, doc: object = None, error: Exception | None = None) -> None:
        self.doc = doc
        self.error = error
        self.asked: list[tuple[str, datetime]] = []

    def propose(self, text: str, now: datetime) -> dict[str, object]:
        self.asked.append((text, now))
        if self.error is not None:
            raise self.error
        return copy.deepcopy(self.doc)  # type: ignore[arg-type]


def _wire(order: BuyOrder | SellOrder) -> Any:
    """The order as a proposer would send it: JSON text read back with Decimal numbers."""
    return loads(dumps(to_doc(order)))


def test_a_grammar_buy_order_round_trips_through_from_doc() -> None:
    order = parse(BUY_TEXT, NOW)
    assert from_doc(_wire(order), NOW) == order


def test_a_grammar_sell_order_round_trips_through_from_doc() -> None:
    pools = [Pool("acme-h100-use", "acme", "H100", "us-east", Decimal("99.9"))]
    order = parse(SELL_TEXT, NOW, pools=pools)
    assert isinstance(order, SellOrder)
    assert from_doc(_wire(order), NOW, pools=pools) == order


def test_money_is_read_exactly_from_strings_and_numbers() -> None:
    for value in ("11059.20", Decimal("11059.20"), "11059.2"):
        doc = copy.deepcopy(PROPOSAL)
        doc["alternatives"][0]["value"] = value
        order = from_doc(doc, NOW)
        assert isinstance(order, BuyOrder)
        assert order.alternatives[0].value == Decimal("11059.2")
    doc = copy.deepcopy(PROPOSAL)
    doc["alternatives"][0]["value"] = 48
    order = from_doc(doc, NOW)
    assert isinstance(order, BuyOrder)
    assert order.alternatives[0].value == Decimal(48)


def test_filters_come_back_in_catalog_order_and_absent_filters_stay_absent() -> None:
    order = from_doc(PROPOSAL, NOW)
    assert isinstance(order, BuyOrder)
    leg = order.alternatives[0].legs[0]
    assert leg.regions == ("us-east", "us-west")
    assert leg.min_uptime is None


def _set(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    doc = copy.deepcopy(PROPOSAL)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


LEG = ("alternatives", 0, "legs", 0)
ALT = ("alternatives", 0)


@pytest.mark.parametrize(("path", "value", "field", "says"), [
    (("colour",), "red", "colour", "not a field"),
    ((*LEG, "gpu_model"), "H100", "alternatives[0].legs[0].gpu_model", "not a field"),
    ((*LEG, "gpu"), ["h100"], "alternatives[0].legs[0].gpu", "'h100'"),
    ((*LEG, "gpu"), "H100", "alternatives[0].legs[0].gpu", "must be a list"),
    ((*LEG, "regions"), ["US East"], "alternatives[0].legs[0].regions", "'US East'"),
    ((*LEG, "gpus"), 0, "alternatives[0].legs[0].gpus", "was 0"),
    ((*LEG, "gpus"), "8", "alternatives[0].legs[0].gpus", "must be an integer"),
    ((*LEG, "gpus"), True, "alternatives[0].legs[0].gpus", "must be an integer"),
    ((*LEG, "duration_hours"), KeyError, "alternatives[0].legs[0].duration_hours", "missing"),
    ((*LEG, "min_uptime"), "150", "alternatives[0].legs[0].min_uptime", "percentage"),
    ((*ALT, "value"), KeyError, "alternatives[0].value", "never assumed"),
    ((*ALT, "value"), 2.4, "alternatives[0].value", "not a float"),
    ((*ALT, "value"), "two dollars", "alternatives[0].value", "'two dollars'"),
    ((*ALT, "value"), "NaN", "alternatives[0].value", "finite"),
    ((*ALT, "value"), "0.0000001", "alternatives[0].value", "6 decimal places"),
    ((*ALT, "value"), "-5", "alternatives[0].value", "positive"),
    ((*ALT, "earliest_start"), "2026-12-01T09:00:00Z", "alternatives[0].earliest_start",
     "next whole hour"),
    ((*ALT, "earliest_start"), "2026-12-02T10:30:00Z", "alternatives[0].earliest_start",
     "whole hour"),
    ((*ALT, "earliest_start"), "2026-12-02T10:00:00", "alternatives[0].earliest_start",
     "time zone"),
    ((*ALT, "earliest_start"), "next tuesday", "alternatives[0].earliest_start", "ISO 8601"),
    ((*ALT, "latest_end"), "2026-12-02T10:00:00Z", "alternatives[0].latest_end", "no room"),
    ((*ALT, "legs"), [], "alternatives[0].legs", "1 to"),
    (("alternatives",), [], "alternatives", "1 to"),
    (("side",), "hold", "side", "'hold'"),
    (("warnings",), "none", "warnings", "list of strings"),
    (("explanation",), [{"field": "gpu"}], "explanation[0].words", "missing"),
])
def test_a_bad_field_is_refused_by_name(path: tuple[Any, ...], value: object, field: str,
                                        says: str) -> None:
    with pytest.raises(UnreadableOrder) as err:
        from_doc(_set(path, value), NOW)
    assert err.value.field == field
    assert says in str(err.value)
    assert isinstance(err.value, ExchangeError)


def test_a_sell_proposal_is_refused_without_price_or_with_an_unregistered_pool() -> None:
    sell = {"side": "sell", "pool": "acme-h100-use", "gpus": 16, "start": "2026-12-01T10:00:00Z",
            "end": "2026-12-08T10:00:00Z"}
    with pytest.raises(UnreadableOrder) as err:
        from_doc(sell, NOW)
    assert err.value.field == "price"
    with pytest.raises(UnreadableOrder) as err:
        from_doc({**sell, "price": "1.85"}, NOW, pools=[])
    assert err.value.field == "pool"
    assert "acme-h100-use" in str(err.value)
    with pytest.raises(UnreadableOrder) as err:
        from_doc({**sell, "price": "1.85", "end": "2026-12-01T10:00:00Z"}, NOW)
    assert err.value.field == "end"


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(UnreadableOrder) as err:
        from_doc(["buy"], NOW)
    assert err.value.field == "side"


def test_the_model_is_not_asked_when_the_grammar_reads_the_text() -> None:
    proposer = FakeProposer(PROPOSAL)
    assert parse_with_fallback(BUY_TEXT, NOW, proposer) == parse(BUY_TEXT, NOW)
    assert proposer.asked == []


def test_without_a_proposer_the_grammar_error_stands() -> None:
    with pytest.raises(UnreadableOrder) as err:
        parse_with_fallback(UNREADABLE, NOW, None)
    assert (err.value.field, err.value.words) == ("gpu", "8 V100")


def test_the_model_is_asked_when_the_grammar_fails_and_its_order_is_marked() -> None:
    proposer = FakeProposer(PROPOSAL)
    order = parse_with_fallback(UNREADABLE, NOW, proposer)
    assert proposer.asked == [(UNREADABLE, NOW)]
    assert isinstance(order, BuyOrder)
    assert order.alternatives[0].legs[0].gpu == ("L4",)
    warnings = to_doc(order)["warnings"]
    assert isinstance(warnings, list)
    assert warnings[0] == MODEL_WARNING == "model: parsed by the model backend; check every field"
    assert "V100" in warnings[1]
    assert warnings[2] == "gpu: V100 read as L4"


def test_a_naive_reference_time_reaches_the_model_as_utc() -> None:
    proposer = FakeProposer(PROPOSAL)
    parse_with_fallback(UNREADABLE, NOW.replace(tzinfo=None), proposer)
    assert proposer.asked[0][1] == NOW


def test_empty_text_is_never_sent_to_the_model() -> None:
    proposer = FakeProposer(PROPOSAL)
    with pytest.raises(UnreadableOrder) as err:
        parse_with_fallback("   ", NOW, proposer)
    assert err.value.field == "order"
    assert proposer.asked == []


def test_a_failing_model_keeps_the_grammar_error_and_says_why() -> None:
    proposer = FakeProposer(error=ConnectionError("endpoint down"))
    with pytest.raises(UnreadableOrder) as err:
        parse_with_fallback(UNREADABLE, NOW, proposer)
    assert (err.value.field, err.value.words) == ("gpu", "8 V100")
    assert "is not a GPU model the market lists" in str(err.value)
    assert "endpoint down" in str(err.value)


def test_a_model_proposal_that_fails_the_checks_keeps_the_grammar_error() -> None:
    proposer = FakeProposer(_set((*LEG, "gpu"), ["V100"]))
    with pytest.raises(UnreadableOrder) as err:
        parse_with_fallback(UNREADABLE, NOW, proposer)
    assert (err.value.field, err.value.words) == ("gpu", "8 V100")
    assert "alternatives[0].legs[0].gpu" in str(err.value)


def test_a_model_price_for_text_without_one_is_refused_unless_quoted_from_it() -> None:
    text = "8 H100 for 10 hours tomorrow in us-east"
    proposer = FakeProposer(PROPOSAL)
    with pytest.raises(UnreadableOrder) as err:
        parse_with_fallback(text, NOW, proposer)
    assert err.value.field == "price" and "not quoted from the text" in str(err.value)
    # Citing words that are not in the text, or that hold no number, is no better.
    for words in ("at $2.40 an hour", "tomorrow in us-east"):
        cited = {**PROPOSAL, "explanation": [
            {"field": "alternatives[0].value", "value": "2.4", "words": words}]}
        with pytest.raises(UnreadableOrder):
            parse_with_fallback(text, NOW, FakeProposer(cited))


def test_a_model_price_quoted_from_words_the_grammar_missed_is_accepted() -> None:
    text = "8 H100 for 10 hours tomorrow in us-east, two forty a gpu hour"
    cited = {**PROPOSAL, "explanation": [
        {"field": "alternatives[0].value", "value": "2.4", "words": "two forty a gpu hour"}]}
    order = parse_with_fallback(text, NOW, FakeProposer(cited))
    assert order.warnings[0] == MODEL_WARNING
