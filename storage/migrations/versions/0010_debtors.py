"""The debtors (identity encrypted under a per-debtor data key), their data keys, and the
allocations of their unallocated payments.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _now() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "debtors",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("debtor_id", sa.String(40), nullable=False),
        sa.Column("lookup", sa.String(64)),
        sa.Column("identified_by", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("identity", sa.LargeBinary()),
        _now(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.Column("erasure_reason", sa.Text()),
        sa.PrimaryKeyConstraint("tenant", "debtor_id"),
    )
    op.create_index(
        "debtors_lookup",
        "debtors",
        ["tenant", "lookup"],
        unique=True,
        postgresql_where=sa.text("lookup IS NOT NULL"),
    )
    op.create_table(
        "debtor_keys",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("debtor_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary()),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        _now(),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True)),
        sa.Column("destroyed_at", sa.DateTime(timezone=True)),
        sa.Column("destroyed_reason", sa.Text()),
        sa.PrimaryKeyConstraint("tenant", "debtor_id"),
    )
    op.create_table(
        "debtor_payments",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("debtor_id", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("allocation", JSONB(), nullable=False),
        sa.Column("by", sa.String(100)),
        _now(),
        sa.PrimaryKeyConstraint("tenant", "debtor_id", "reference"),
    )
    op.add_column("case_list", sa.Column("debtor_id", sa.String(40)))
    op.create_index("ix_case_list_tenant_debtor", "case_list", ["tenant", "debtor_id"])


def downgrade() -> None:
    op.drop_index("ix_case_list_tenant_debtor", table_name="case_list")
    op.drop_column("case_list", "debtor_id")
    op.drop_table("debtor_payments")
    op.drop_table("debtor_keys")
    op.drop_index("debtors_lookup", table_name="debtors")
    op.drop_table("debtors")
