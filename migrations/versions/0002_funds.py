"""funds: ledger entries, balances, the market kill switch

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MONEY = sa.Numeric(precision=20, scale=6)


def _created_at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("ledger_tx_id_seq")))
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tx_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=9), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("auction_id", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.CheckConstraint("bucket IN ('available', 'held')",
                           name=op.f("ck_ledger_entries_bucket")),
        sa.CheckConstraint("kind IN ('deposit', 'withdrawal', 'hold', 'release', 'payment', "
                           "'revenue', 'fee')", name=op.f("ck_ledger_entries_kind")),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_nonzero")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(op.f("ix_ledger_entries_tx_id"), "ledger_entries", ["tx_id"], unique=False)
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account_id", "id"],
                    unique=False)
    op.create_index("ix_ledger_entries_order", "ledger_entries", ["order_id"], unique=False,
                    postgresql_where=sa.text("order_id IS NOT NULL"))
    op.create_table(
        "balances",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("available", _MONEY, server_default=sa.text("0"), nullable=False),
        sa.Column("held", _MONEY, server_default=sa.text("0"), nullable=False),
        sa.Column("halted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _created_at("updated_at"),
        sa.CheckConstraint("account_id = 'external:bank' OR (available >= 0 AND held >= 0)",
                           name=op.f("ck_balances_non_negative")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_balances")),
    )
    op.create_table(
        "market_state",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("halted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        _created_at("changed_at"),
        sa.CheckConstraint("id", name=op.f("ck_market_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_state")),
    )


def downgrade() -> None:
    op.drop_table("market_state")
    op.drop_table("balances")
    op.drop_index("ix_ledger_entries_order", table_name="ledger_entries",
                  postgresql_where=sa.text("order_id IS NOT NULL"))
    op.drop_index("ix_ledger_entries_account", table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_tx_id"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.execute(sa.schema.DropSequence(sa.Sequence("ledger_tx_id_seq")))
