"""open orders counted per account on its balances row, kept by triggers

The open-order cap is checked on the row a bid locks to hold its funds, so concurrent bids of
one account cannot pass the cap together, and the check costs the same with 10 or 10,000
open orders. Statement-level triggers keep the count for every path that inserts orders or
changes their status (entry, asks, rounds, cancels, halts, resale), so none can forget it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION gpux_count_open_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO balances AS b (account_id, open_orders)
    SELECT account_id, count(*) FROM new_rows WHERE status = 'open' GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET open_orders = b.open_orders + excluded.open_orders;
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE balances b SET open_orders = b.open_orders + d.delta
    FROM (SELECT account_id, sum(delta) AS delta FROM (
            SELECT account_id, -1 AS delta FROM old_rows WHERE status = 'open'
            UNION ALL
            SELECT account_id, 1 FROM new_rows WHERE status = 'open') x
          GROUP BY account_id HAVING sum(delta) <> 0) d
    WHERE b.account_id = d.account_id;
  ELSE
    UPDATE balances b SET open_orders = b.open_orders - d.n
    FROM (SELECT account_id, count(*) AS n FROM old_rows WHERE status = 'open'
          GROUP BY account_id) d
    WHERE b.account_id = d.account_id;
  END IF;
  RETURN NULL;
END $$
"""

_TRIGGERS = {
    "orders_open_count_insert": "AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows",
    "orders_open_count_update": ("AFTER UPDATE ON orders "
                                 "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "orders_open_count_delete": "AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.add_column("balances", sa.Column("open_orders", sa.Integer(), nullable=False,
                                        server_default=sa.text("0")))
    op.create_check_constraint(op.f("ck_balances_open_orders_non_negative"), "balances",
                                "open_orders >= 0")
    op.execute("""
        INSERT INTO balances AS b (account_id, open_orders)
        SELECT account_id, count(*) FROM orders WHERE status = 'open' GROUP BY account_id
        ON CONFLICT (account_id) DO UPDATE SET open_orders = excluded.open_orders
    """)
    op.execute(_FUNCTION)
    for name, when in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION gpux_count_open_orders()")


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON orders")
    op.execute("DROP FUNCTION gpux_count_open_orders()")
    op.drop_constraint(op.f("ck_balances_open_orders_non_negative"), "balances",
                       type_="check")
    op.drop_column("balances", "open_orders")
