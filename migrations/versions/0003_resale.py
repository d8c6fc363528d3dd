"""resale: contracts offered back into the auction as asks, contract splits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A contract split by a resale keeps no fill of its own for the pieces the reseller keeps,
    # and one bid fill may buy several pieces: fill_id becomes nullable and not unique.
    op.drop_constraint(op.f("uq_contracts_fill_id"), "contracts", type_="unique")
    op.alter_column("contracts", "fill_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_index(op.f("ix_contracts_fill_id"), "contracts", ["fill_id"], unique=False)
    op.add_column("contracts", sa.Column("parent_id", sa.BigInteger(), nullable=True))
    op.add_column("contracts", sa.Column("superseded_at", sa.DateTime(timezone=True),
                                         nullable=True))
    op.add_column("contracts", sa.Column("offer_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_contracts_parent_id_contracts"), "contracts", "contracts",
                          ["parent_id"], ["id"])
    op.create_index(op.f("ix_contracts_parent_id"), "contracts", ["parent_id"], unique=False)
    op.create_index("ix_contracts_offer", "contracts", ["offer_id"], unique=False,
                    postgresql_where=sa.text("offer_id IS NOT NULL"))
    op.add_column("orders", sa.Column("contract_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(op.f("fk_orders_contract_id_contracts"), "orders", "contracts",
                          ["contract_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint(op.f("fk_orders_contract_id_contracts"), "orders", type_="foreignkey")
    op.drop_column("orders", "contract_id")
    op.drop_index("ix_contracts_offer", table_name="contracts")
    op.drop_index(op.f("ix_contracts_parent_id"), table_name="contracts")
    op.drop_constraint(op.f("fk_contracts_parent_id_contracts"), "contracts",
                       type_="foreignkey")
    op.drop_column("contracts", "offer_id")
    op.drop_column("contracts", "superseded_at")
    op.drop_column("contracts", "parent_id")
    # Pieces of split contracts cannot go back to one contract per fill: remove them.
    op.execute("DELETE FROM contracts WHERE fill_id IS NULL")
    op.drop_index(op.f("ix_contracts_fill_id"), table_name="contracts")
    op.alter_column("contracts", "fill_id", existing_type=sa.BigInteger(), nullable=False)
    op.create_unique_constraint(op.f("uq_contracts_fill_id"), "contracts", ["fill_id"])
