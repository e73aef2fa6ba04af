"""The read tables (SQLAlchemy Core), as migration 0004 creates them.

Kept in their own MetaData: they are derived data, emptied and refilled by a rebuild.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, MetaData, Numeric, String, Table, text

metadata = MetaData()
MONEY = Numeric(16, 2)

checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
"""The last event position each projection applied, written with its rows."""

case_list = Table(
    "case_list",
    metadata,
    Column("case_id", String(200), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("invoice_number", String(64), nullable=False),
    Column("debtor_name", String(200)),
    Column("debtor_siren", String(9)),
    Column("currency", String(3), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount_due", MONEY, nullable=False),
    Column("balance", MONEY, nullable=False),
    Column("open_balance", MONEY, nullable=False),
    Column("paid", MONEY, nullable=False),
    Column("credited", MONEY, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("outcome", String(32)),
    Column("closed_on", Date),
    Column("last_action", String(100)),
    Column("last_action_on", Date),
    Column("next_action_on", Date),
    Column("registered_position", BigInteger, nullable=False),
    Column("updated_position", BigInteger, nullable=False),
    Index("ix_case_list_tenant_due_date", "tenant", "due_date"),
    Index("ix_case_list_tenant_stage", "tenant", "stage"),
    Index("ix_case_list_tenant_balance", "tenant", "balance"),
    Index("ix_case_list_tenant_next_action", "tenant", "next_action_on"),
    Index("ix_case_list_debtor_missing", "case_id", postgresql_where=text("debtor_name IS NULL")),
)
"""One row per case: what the operators' list shows and filters on."""

balance_movements = Table(
    "balance_movements",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("amount", MONEY, nullable=False),
    Index("ix_balance_movements_tenant_on_date", "tenant", "on_date"),
    Index("ix_balance_movements_case_id", "case_id"),
)
"""The receivables ledger: + invoice, - payment, credit or derecognition, by value date.

Keyed by the event's position: applying an event twice fails instead of counting twice.
"""
