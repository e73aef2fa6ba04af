"""The event store: an append-only, hash-chained log of domain events, one stream per case.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_HEX64 = "'^[0-9a-f]{64}$'"

_REFUSE_CHANGE = """
CREATE FUNCTION event_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: the event log is append-only', TG_OP, TG_TABLE_NAME
        USING HINT = 'Record a correction as a new event.';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", "version", name="pk_events"),
        sa.UniqueConstraint("position", name="uq_events_position"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.CheckConstraint("position >= 1", name="ck_events_position"),
        sa.CheckConstraint("stream_id <> ''", name="ck_events_stream_id"),
        sa.CheckConstraint("version >= 1", name="ck_events_version"),
        sa.CheckConstraint("schema_version >= 1", name="ck_events_schema_version"),
        # A stable name, never a Python import path such as "eventstore.events.X".
        sa.CheckConstraint("event_type ~ '^[A-Z][A-Za-z0-9]*$'", name="ck_events_event_type"),
        sa.CheckConstraint("jsonb_typeof(data) = 'object'", name="ck_events_data"),
        sa.CheckConstraint("jsonb_typeof(metadata) = 'object'", name="ck_events_metadata"),
        sa.CheckConstraint(f"content_hash ~ {_HEX64}", name="ck_events_content_hash"),
        sa.CheckConstraint(f"prev_hash ~ {_HEX64}", name="ck_events_prev_hash"),
        sa.CheckConstraint(
            "(version = 1) = (prev_hash = repeat('0', 64))", name="ck_events_genesis"
        ),
    )
    op.create_table(
        "event_positions",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_event_positions_single_row"),
        sa.CheckConstraint("last_position >= 0", name="ck_event_positions_last_position"),
    )
    op.execute("INSERT INTO event_positions (id, last_position) VALUES (1, 0)")
    op.execute(_REFUSE_CHANGE)
    # Statement-level, so even an UPDATE or DELETE matching no row is refused; ALWAYS, so
    # session_replication_role = replica does not switch it off.
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change()"
    )
    op.execute("ALTER TABLE events ENABLE ALWAYS TRIGGER events_append_only")
    # The counter moves on every append; losing its row would stop appends or reuse positions.
    op.execute(
        "CREATE TRIGGER event_positions_kept BEFORE DELETE OR TRUNCATE ON event_positions "
        "FOR EACH STATEMENT EXECUTE FUNCTION event_log_refuse_change()"
    )
    op.execute("ALTER TABLE event_positions ENABLE ALWAYS TRIGGER event_positions_kept")


def downgrade() -> None:
    # Dropping a non-empty audit log is not a schema change: do it by hand if it must be done.
    if op.get_bind().execute(sa.text("SELECT EXISTS (SELECT 1 FROM events)")).scalar():
        raise RuntimeError("events is not empty: refusing to drop the event log")
    op.drop_table("event_positions")
    op.drop_table("events")
    op.execute("DROP FUNCTION event_log_refuse_change()")
