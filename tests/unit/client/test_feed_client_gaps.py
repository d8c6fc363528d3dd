"""The SDK feed client's bookkeeping: repeats dropped, gaps seen (a private channel's numbers
go 1, 2, 3, ...), and a channel's updates ignored between a resubscription and its ack."""

from __future__ import annotations

from gpux.client.feed import FeedClient


def _client(**since: str) -> FeedClient:
    return FeedClient("http://127.0.0.1:9", "k", ["fills", "auctions"], since=since)


def _update(channel: str, seq: str, prev: str | None = None) -> dict[str, object]:
    msg: dict[str, object] = {"channel": channel, "type": "update", "seq": seq, "data": {}}
    if prev is not None:
        msg["prev"] = prev
    return msg


def test_a_private_update_whose_prev_is_not_the_last_seq_is_a_gap() -> None:
    feed = _client(fills="0-3")
    assert feed._accept(_update("fills", "0-5", "0-4")) == "gap"
    assert feed.last["fills"] == "0-3"


def test_a_private_update_without_prev_that_skips_a_number_is_a_gap() -> None:
    feed = _client(fills="0-3")
    assert feed._accept(_update("fills", "0-5")) == "gap"
    assert feed._accept(_update("fills", "0-4")) == "yield"
    assert feed.last["fills"] == "0-4"


def test_a_repeated_update_is_skipped() -> None:
    feed = _client(fills="0-3")
    assert feed._accept(_update("fills", "0-3", "0-2")) == "skip"
    assert feed._accept(_update("fills", "0-2", "0-1")) == "skip"


def test_updates_sent_before_the_resubscription_took_effect_are_skipped() -> None:
    feed = _client(fills="0-3")
    feed._resyncing.add("fills")
    assert feed._accept(_update("fills", "0-6", "0-5")) == "skip"
    assert feed._accept({"type": "subscribed", "channel": "fills"}) == "yield"
    assert feed._accept(_update("fills", "0-4", "0-3")) == "yield"
    assert feed.last["fills"] == "0-4"


def test_a_public_update_whose_prev_is_not_the_last_seq_is_a_gap() -> None:
    feed = _client(auctions="1700000000000-0")
    assert feed._accept(_update("auctions", "1700000060000-0", "1700000030000-0")) == "gap"
    assert feed._accept(_update("auctions", "1700000030000-0", "1700000000000-0")) == "yield"


def test_a_heartbeat_naming_a_newer_private_message_is_a_gap_on_that_channel() -> None:
    feed = _client(fills="0-3")
    beat = {"type": "heartbeat", "time": "2026-12-01T00:00:00Z",
            "seqs": {"auctions": "1700000000000-0", "fills": "0-4"}}
    assert feed._accept(beat) == "gap:fills"
    assert feed._accept({**beat, "seqs": {"fills": "0-3"}}) == "yield"
    feed._resyncing.add("fills")
    assert feed._accept(beat) == "yield"
