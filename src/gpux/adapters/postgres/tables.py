"""The order book's tables (SQLAlchemy Core). Alembic's migrations must build exactly these;
`tests/integration/test_migrations.py` compares the two.

Money is NUMERIC(20, 6) (USD to the micro-dollar, as in the clearing engine); every timestamp is
`timestamptz` in UTC. Wall-clock hours are the slots of the auctions.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

MONEY = Numeric(20, 6)
UPTIME = Numeric(6, 3)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def _now() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False,
                  server_default=text("now()"))


accounts = Table(
    "accounts", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("halted", Boolean, nullable=False, server_default=text("false")),
    _now(),
    CheckConstraint("role IN ('buyer', 'provider', 'admin')", name="role"),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.id"), nullable=False, index=True),
    # sha256 of the key; the key itself is shown once, when issued, and never stored.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    _now(),
)

pools = Table(
    "pools", metadata,
    Column("id", String(64), primary_key=True),
    Column("provider_id", String(64), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("gpu", String(32), nullable=False),
    Column("region", String(32), nullable=False),
    Column("uptime", UPTIME, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("partition", String(64), nullable=False, server_default=text("'main'")),
    _now(),
    CheckConstraint("gpus > 0", name="gpus_positive"),
)

orders = Table(
    "orders", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.id"), nullable=False),
    Column("side", String(4), nullable=False),
    Column("client_order_id", String(64), nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'open'")),
    Column("partition", String(64), nullable=False, server_default=text("'main'")),
    # The window the order covers: for a bid the union of its alternatives' windows.
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    # Asks only: the pool, GPUs offered in each hour of [starts_at, ends_at), reserve per GPU-hour.
    Column("pool_id", String(64), ForeignKey("pools.id")),
    Column("gpus", Integer),
    Column("price", MONEY),
    # Bids only: the largest alternative value (what a fill can cost at most).
    Column("max_value", MONEY),
    # Set while a round that froze this order is being solved; cancels then wait for it.
    Column("frozen_auction_id", BigInteger),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("request", JSONB, nullable=False),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # Resale asks only (migration 0003): the contract piece offered back into the auction.
    Column("contract_id", BigInteger, ForeignKey("contracts.id", use_alter=True)),
    UniqueConstraint("account_id", "client_order_id", name="uq_orders_account_client_order"),
    CheckConstraint("side IN ('bid', 'ask')", name="side"),
    CheckConstraint("status IN ('open', 'filled', 'cancelled', 'expired')", name="status"),
    CheckConstraint("starts_at < ends_at", name="window"),
    CheckConstraint("side = 'bid' OR (pool_id IS NOT NULL AND gpus > 0 AND price >= 0)",
                    name="ask_fields"),
    CheckConstraint("side = 'ask' OR max_value > 0", name="bid_fields"),
)
Index("ix_orders_open", orders.c.partition, orders.c.id, postgresql_where=text("status = 'open'"))
Index("ix_orders_account", orders.c.account_id, orders.c.id)
Index("ix_orders_pool_open", orders.c.pool_id, postgresql_where=text("status = 'open'"))
# Order entry counts an account's open orders (the per-account cap) with every bid.
Index("ix_orders_account_open", orders.c.account_id, postgresql_where=text("status = 'open'"))

alternatives = Table(
    "bid_alternatives", metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"),
           primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("value", MONEY, nullable=False),
    Column("earliest_start", DateTime(timezone=True), nullable=False),
    Column("latest_end", DateTime(timezone=True), nullable=False),
    CheckConstraint("value > 0", name="value_positive"),
    CheckConstraint("earliest_start < latest_end", name="window"),
)

legs = Table(
    "bid_legs", metadata,
    Column("order_id", BigInteger, ForeignKey("orders.id", ondelete="CASCADE"),
           primary_key=True),
    Column("alt_idx", Integer, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("gpus", Integer, nullable=False),
    Column("duration_hours", Integer, nullable=False),
    Column("offset_hours", Integer, nullable=False),
    Column("gpu", ARRAY(String(32))),
    Column("regions", ARRAY(String(32))),
    Column("min_uptime", UPTIME),
    Column("pools", ARRAY(String(64))),
    CheckConstraint("gpus > 0 AND duration_hours > 0 AND offset_hours >= 0", name="sizes"),
)

auctions = Table(
    "auctions", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("partition", String(64), nullable=False),
    Column("cutoff", DateTime(timezone=True), nullable=False),
    Column("horizon_start", DateTime(timezone=True), nullable=False),
    Column("slots", Integer, nullable=False),
    # frozen: book stored, being solved; cleared: result committed.
    Column("status", String(16), nullable=False),
    Column("book", JSONB, nullable=False),
    Column("result", JSONB),
    Column("solve_status", String(16)),
    Column("surplus", MONEY),
    Column("bound", MONEY),
    Column("volume_gpu_hours", BigInteger),
    Column("solve_seconds", Numeric(12, 3)),
    Column("bids", Integer, nullable=False),
    Column("asks", Integer, nullable=False),
    _now(),
    Column("cleared_at", DateTime(timezone=True)),
    UniqueConstraint("partition", "cutoff", name="uq_auctions_partition_cutoff"),
    CheckConstraint("status IN ('frozen', 'cleared')", name="status"),
)

prices = Table(
    "auction_prices", metadata,
    Column("auction_id", BigInteger, ForeignKey("auctions.id"), primary_key=True),
    Column("pool_id", String(64), primary_key=True),
    Column("starts_at", DateTime(timezone=True), primary_key=True),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("price", MONEY, nullable=False),
)

price_index = Table(
    "price_index", metadata,
    Column("auction_id", BigInteger, ForeignKey("auctions.id"), primary_key=True),
    Column("gpu", String(32), primary_key=True),
    # GPU-hour weighted mean clearing price of what traded, and how much traded.
    Column("price", MONEY, nullable=False),
    Column("gpu_hours", BigInteger, nullable=False),
)

fills = Table(
    "fills", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("auction_id", BigInteger, ForeignKey("auctions.id"), nullable=False, index=True),
    Column("order_id", BigInteger, ForeignKey("orders.id"), nullable=False, index=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("side", String(4), nullable=False),
    # Bids: which alternative and leg; asks: NULL.
    Column("alternative", Integer),
    Column("leg", Integer),
    Column("pool_id", String(64), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("gpus", Integer, nullable=False),
    # What the bid's leg pays, or what the ask's delivery earns, at the clearing prices.
    Column("amount", MONEY, nullable=False),
    _now(),
)

contracts = Table(
    "contracts", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # The bid fill that bought it; NULL for the pieces a reseller keeps when it splits.
    Column("fill_id", BigInteger, ForeignKey("fills.id"), index=True),
    Column("holder_id", String(64), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("provider_id", String(64), ForeignKey("accounts.id"), nullable=False),
    Column("pool_id", String(64), ForeignKey("pools.id"), nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("price", MONEY, nullable=False),
    _now(),
    # Resale (migration 0003): a piece split off `parent_id`; a split contract is superseded
    # (live = superseded_at IS NULL); `offer_id` is the resale ask offering this whole piece
    # (it is on offer while that order is open). No foreign key: orders.contract_id points here.
    Column("parent_id", BigInteger, ForeignKey("contracts.id"), index=True),
    Column("superseded_at", DateTime(timezone=True)),
    Column("offer_id", BigInteger),
)
Index("ix_contracts_offer", contracts.c.offer_id, postgresql_where=text("offer_id IS NOT NULL"))

outbox = Table(
    "outbox", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("stream", String(64), nullable=False),
    # Stable across re-deliveries, so a consumer can drop duplicates.
    Column("event_id", String(128), nullable=False, unique=True),
    Column("payload", JSONB, nullable=False),
    _now(),
    Column("published_at", DateTime(timezone=True)),
)
Index("ix_outbox_pending", outbox.c.id, postgresql_where=text("published_at IS NULL"))


# -- funds (migration 0002): the double-entry ledger, balances, the market's kill switch -----

# One ledger transaction's postings share a tx_id drawn from this sequence.
ledger_tx_seq = Sequence("ledger_tx_id_seq", metadata=metadata)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tx_id", BigInteger, nullable=False, index=True),
    # An account id, or a system account ('exchange:fees', 'external:bank'): no foreign key.
    Column("account_id", String(64), nullable=False),
    Column("bucket", String(9), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("order_id", BigInteger),
    Column("auction_id", BigInteger),
    _now(),
    CheckConstraint("bucket IN ('available', 'held')", name="bucket"),
    CheckConstraint("kind IN ('deposit', 'withdrawal', 'hold', 'release', 'payment', "
                    "'revenue', 'fee', 'credit')", name="kind"),
    CheckConstraint("amount <> 0", name="amount_nonzero"),
)
Index("ix_ledger_entries_account", ledger_entries.c.account_id, ledger_entries.c.id)
# What is held for a bid is the sum of its `held` postings.
Index("ix_ledger_entries_order", ledger_entries.c.order_id,
      postgresql_where=text("order_id IS NOT NULL"))

balances = Table(
    "balances", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("available", MONEY, nullable=False, server_default=text("0")),
    Column("held", MONEY, nullable=False, server_default=text("0")),
    # The order-entry fence: true while the account or the market is halted. A bid re-checks
    # it under the row lock it takes to hold funds, so a halt cannot race a bid in.
    Column("halted", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # The account's orders in status 'open', kept by triggers on `orders` (migration 0005):
    # a bid checks the open-order cap on this row under the lock it takes to hold funds.
    Column("open_orders", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("account_id = 'external:bank' OR (available >= 0 AND held >= 0)",
                    name="non_negative"),
    CheckConstraint("open_orders >= 0", name="open_orders_non_negative"),
)

# Deposits and withdrawals under the caller's reference (a bank transfer id): a retry with the
# same reference finds its row and moves nothing again (migration 0006).
transfers = Table(
    "transfers", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("amount", MONEY, nullable=False),
    # Set in the same transaction once the ledger transaction is posted.
    Column("tx_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("kind IN ('deposit', 'withdrawal')", name="kind"),
    CheckConstraint("amount > 0", name="amount_positive"),
    UniqueConstraint("account_id", "kind", "reference",
                     name="uq_transfers_account_kind_reference"),
)

market_state = Table(
    "market_state", metadata,
    # One row (absent = never halted).
    Column("id", Boolean, primary_key=True, server_default=text("true")),
    Column("halted", Boolean, nullable=False, server_default=text("false")),
    Column("changed_by", String(64)),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("id", name="one_row"),
)


# -- reliability credits (migration 0004): outages and curtailments, and the credits they owe

outages = Table(
    "outages", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("pool_id", String(64), ForeignKey("pools.id"), nullable=False),
    # outage: the whole pool down; curtailment: `gpus` of it. Hours are [starts_at, ends_at).
    Column("kind", String(16), nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("reported_by", String(64), ForeignKey("accounts.id"), nullable=False),
    Column("reason", Text, nullable=False, server_default=text("''")),
    # The ledger transaction that paid its credits (none if nothing was paid).
    Column("tx_id", BigInteger),
    _now(),
    CheckConstraint("kind IN ('outage', 'curtailment')", name="kind"),
    CheckConstraint("gpus > 0", name="gpus_positive"),
    CheckConstraint("starts_at < ends_at", name="window"),
)
Index("ix_outages_pool", outages.c.pool_id, outages.c.starts_at)

contract_credits = Table(
    "contract_credits", metadata,
    # One credit per contract per outage, however often or concurrently it is reported.
    Column("contract_id", BigInteger, ForeignKey("contracts.id"), primary_key=True),
    Column("outage_id", BigInteger, ForeignKey("outages.id"), primary_key=True, index=True),
    Column("holder_id", String(64), nullable=False),
    # The GPU-hours it lost (rounded down to 6 places; the credit is computed exactly).
    Column("gpu_hours", Numeric(20, 6), nullable=False),
    Column("owed", MONEY, nullable=False),
    Column("paid", MONEY, nullable=False),
    _now(),
    CheckConstraint("owed >= 0 AND paid >= 0 AND paid <= owed", name="amounts"),
)
