"""order book, auctions, fills, contracts, outbox

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 05:12:25.391633
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("halted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("role IN ('buyer', 'provider', 'admin')", name=op.f("ck_accounts_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "auctions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("horizon_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("book", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("solve_status", sa.String(length=16), nullable=True),
        sa.Column("surplus", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("bound", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("volume_gpu_hours", sa.BigInteger(), nullable=True),
        sa.Column("solve_seconds", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("bids", sa.Integer(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('frozen', 'cleared')", name=op.f("ck_auctions_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auctions")),
        sa.UniqueConstraint("partition", "cutoff", name="uq_auctions_partition_cutoff"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_account_id"), "api_keys", ["account_id"], unique=False)
    op.create_table(
        "auction_prices",
        sa.Column("auction_id", sa.BigInteger(), nullable=False),
        sa.Column("pool_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_auction_prices_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint(
            "auction_id", "pool_id", "starts_at", name=op.f("pk_auction_prices")
        ),
    )
    op.create_table(
        "pools",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("gpu", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("uptime", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column(
            "partition", sa.String(length=64), server_default=sa.text("'main'"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("gpus > 0", name=op.f("ck_pools_gpus_positive")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["accounts.id"], name=op.f("fk_pools_provider_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
    )
    op.create_index(op.f("ix_pools_provider_id"), "pools", ["provider_id"], unique=False)
    op.create_table(
        "price_index",
        sa.Column("auction_id", sa.BigInteger(), nullable=False),
        sa.Column("gpu", sa.String(length=32), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("gpu_hours", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_price_index_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("auction_id", "gpu", name=op.f("pk_price_index")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'open'"), nullable=False),
        sa.Column(
            "partition", sa.String(length=64), server_default=sa.text("'main'"), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pool_id", sa.String(length=64), nullable=True),
        sa.Column("gpus", sa.Integer(), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("max_value", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("frozen_auction_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "cancel_requested", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("side = 'ask' OR max_value > 0", name=op.f("ck_orders_bid_fields")),
        sa.CheckConstraint(
            "side = 'bid' OR (pool_id IS NOT NULL AND gpus > 0 AND price >= 0)",
            name=op.f("ck_orders_ask_fields"),
        ),
        sa.CheckConstraint("side IN ('bid', 'ask')", name=op.f("ck_orders_side")),
        sa.CheckConstraint(
            "status IN ('open', 'filled', 'cancelled', 'expired')", name=op.f("ck_orders_status")
        ),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_orders_window")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_orders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_orders_pool_id_pools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("account_id", "client_order_id", name="uq_orders_account_client_order"),
    )
    op.create_index("ix_orders_account", "orders", ["account_id", "id"], unique=False)
    op.create_index(
        "ix_orders_open",
        "orders",
        ["partition", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_orders_pool_open",
        "orders",
        ["pool_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_orders_account_open",
        "orders",
        ["account_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "bid_alternatives",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("earliest_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_end", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("earliest_start < latest_end", name=op.f("ck_bid_alternatives_window")),
        sa.CheckConstraint("value > 0", name=op.f("ck_bid_alternatives_value_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_bid_alternatives_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "idx", name=op.f("pk_bid_alternatives")),
    )
    op.create_table(
        "bid_legs",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("alt_idx", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("duration_hours", sa.Integer(), nullable=False),
        sa.Column("offset_hours", sa.Integer(), nullable=False),
        sa.Column("gpu", postgresql.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column("regions", postgresql.ARRAY(sa.String(length=32)), nullable=True),
        sa.Column("min_uptime", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("pools", postgresql.ARRAY(sa.String(length=64)), nullable=True),
        sa.CheckConstraint(
            "gpus > 0 AND duration_hours > 0 AND offset_hours >= 0", name=op.f("ck_bid_legs_sizes")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_bid_legs_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "alt_idx", "idx", name=op.f("pk_bid_legs")),
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("auction_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("alternative", sa.Integer(), nullable=True),
        sa.Column("leg", sa.Integer(), nullable=True),
        sa.Column("pool_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_fills_auction_id_auctions")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
    )
    op.create_index(op.f("ix_fills_account_id"), "fills", ["account_id"], unique=False)
    op.create_index(op.f("ix_fills_auction_id"), "fills", ["auction_id"], unique=False)
    op.create_index(op.f("ix_fills_order_id"), "fills", ["order_id"], unique=False)
    op.create_table(
        "contracts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("fill_id", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("pool_id", sa.String(length=64), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["fill_id"], ["fills.id"], name=op.f("fk_contracts_fill_id_fills")),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["accounts.id"], name=op.f("fk_contracts_holder_id_accounts")
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_contracts_pool_id_pools")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["accounts.id"], name=op.f("fk_contracts_provider_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("fill_id", name=op.f("uq_contracts_fill_id")),
    )
    op.create_index(op.f("ix_contracts_holder_id"), "contracts", ["holder_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contracts_holder_id"), table_name="contracts")
    op.drop_table("contracts")
    op.drop_index(op.f("ix_fills_order_id"), table_name="fills")
    op.drop_index(op.f("ix_fills_auction_id"), table_name="fills")
    op.drop_index(op.f("ix_fills_account_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_table("bid_legs")
    op.drop_table("bid_alternatives")
    op.drop_index(
        "ix_orders_account_open", table_name="orders", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(
        "ix_orders_pool_open", table_name="orders", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(
        "ix_orders_open", table_name="orders", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index("ix_orders_account", table_name="orders")
    op.drop_table("orders")
    op.drop_table("price_index")
    op.drop_index(op.f("ix_pools_provider_id"), table_name="pools")
    op.drop_table("pools")
    op.drop_table("auction_prices")
    op.drop_index(op.f("ix_api_keys_account_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_table("outbox")
    op.drop_table("auctions")
    op.drop_table("accounts")
