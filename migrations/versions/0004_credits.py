"""reliability credits: pool outages and the service credits they owe

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_MONEY = sa.Numeric(precision=20, scale=6)
_KINDS = "'deposit', 'withdrawal', 'hold', 'release', 'payment', 'revenue', 'fee'"


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def _ledger_kinds(kinds: str) -> None:
    op.drop_constraint(op.f("ck_ledger_entries_kind"), "ledger_entries", type_="check")
    op.create_check_constraint(op.f("ck_ledger_entries_kind"), "ledger_entries",
                               f"kind IN ({kinds})")


def upgrade() -> None:
    _ledger_kinds(_KINDS + ", 'credit'")
    op.create_table(
        "outages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("pool_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("tx_id", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.CheckConstraint("kind IN ('outage', 'curtailment')", name=op.f("ck_outages_kind")),
        sa.CheckConstraint("gpus > 0", name=op.f("ck_outages_gpus_positive")),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_outages_window")),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"],
                                name=op.f("fk_outages_pool_id_pools")),
        sa.ForeignKeyConstraint(["reported_by"], ["accounts.id"],
                                name=op.f("fk_outages_reported_by_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outages")),
    )
    op.create_index("ix_outages_pool", "outages", ["pool_id", "starts_at"], unique=False)
    op.create_table(
        "contract_credits",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("outage_id", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("gpu_hours", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("owed", _MONEY, nullable=False),
        sa.Column("paid", _MONEY, nullable=False),
        _created_at(),
        sa.CheckConstraint("owed >= 0 AND paid >= 0 AND paid <= owed",
                           name=op.f("ck_contract_credits_amounts")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"],
                                name=op.f("fk_contract_credits_contract_id_contracts")),
        sa.ForeignKeyConstraint(["outage_id"], ["outages.id"],
                                name=op.f("fk_contract_credits_outage_id_outages")),
        sa.PrimaryKeyConstraint("contract_id", "outage_id", name=op.f("pk_contract_credits")),
    )
    op.create_index(op.f("ix_contract_credits_outage_id"), "contract_credits", ["outage_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_credits_outage_id"), table_name="contract_credits")
    op.drop_table("contract_credits")
    op.drop_index("ix_outages_pool", table_name="outages")
    op.drop_table("outages")
    # Refused by PostgreSQL while credit postings exist: the ledger is append-only.
    _ledger_kinds(_KINDS)
