"""Read models fed by the event store: the case list, a dated balance ledger, checkpoints.

Every table here is derived: `projections.projector.rebuild` empties them and replays the
event log, so they may be truncated at any time (never the events themselves).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(16, 2)


def upgrade() -> None:
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.CheckConstraint("position >= 0", name="ck_projection_checkpoints_position"),
    )
    op.create_table(
        "case_list",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("invoice_number", sa.String(64), nullable=False),
        # Copied from `cases` (never from events); erasing a debtor means rebuilding.
        sa.Column("debtor_name", sa.String(200)),
        sa.Column("debtor_siren", sa.String(9)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("amount_due", MONEY, nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("open_balance", MONEY, nullable=False),
        sa.Column("paid", MONEY, nullable=False),
        sa.Column("credited", MONEY, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("closed_on", sa.Date),
        sa.Column("last_action", sa.String(100)),
        sa.Column("last_action_on", sa.Date),
        sa.Column("next_action_on", sa.Date),
        sa.Column("registered_position", sa.BigInteger, nullable=False),
        sa.Column("updated_position", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_case_list_tenant_due_date", "case_list", ["tenant", "due_date"])
    op.create_index("ix_case_list_tenant_stage", "case_list", ["tenant", "stage"])
    op.create_index("ix_case_list_tenant_balance", "case_list", ["tenant", "balance"])
    op.create_index("ix_case_list_tenant_next_action", "case_list", ["tenant", "next_action_on"])
    # The projector fills names that were not in `cases` yet when the invoice was projected.
    op.create_index(
        "ix_case_list_debtor_missing",
        "case_list",
        ["case_id"],
        postgresql_where=sa.text("debtor_name IS NULL"),
    )
    op.create_table(
        "balance_movements",
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_balance_movements_amount"),
    )
    op.create_index(
        "ix_balance_movements_tenant_on_date", "balance_movements", ["tenant", "on_date"]
    )
    op.create_index("ix_balance_movements_case_id", "balance_movements", ["case_id"])


def downgrade() -> None:
    op.drop_table("balance_movements")
    op.drop_table("case_list")
    op.drop_table("projection_checkpoints")
