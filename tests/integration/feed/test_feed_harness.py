"""The feed tests' exchange harness: clearing runs until every seeded bid has left the book.

A cutoff falling between two bids of `seed_book` (rounds cut off every second) used to stop the
worker after the first round with bids, leaving the other bid open, and the tests waiting on
the feed for its fill hung. Placing the second bid after a round has cleared the first makes
that split certain instead of occasional.
"""

from __future__ import annotations

from feedkit import HOUR, Exchange, iso, start_hour


async def test_clearing_goes_on_until_a_bid_placed_after_an_earlier_traded_round_is_filled(
        exchange: Exchange) -> None:
    await exchange.seed_book()
    first = await exchange.clear_until_traded()
    h0 = start_hour()
    async with exchange.http("uni") as uni:
        r = await uni.post("/bids", json={
            "client_order_id": "late-bid", "alternatives": [{
                "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
                "legs": [{"gpus": 2, "duration_hours": 10, "gpu": ["H100"],
                          "regions": ["us-east"]}]}]})
        assert r.status_code == 201, r.text
        exchange.seeded.append(("uni", int(r.json()["id"])))
    second = await exchange.clear_until_traded()
    assert second > first
    async with exchange.http("uni") as uni:
        assert (await uni.get(f"/orders/{r.json()['id']}")).json()["status"] == "filled"
