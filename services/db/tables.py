"""PostgreSQL tables (SQLAlchemy Core). Alembic migrations in services/db/migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("invoice_number", String(64), nullable=False),
    Column("workflow_id", String(200), nullable=False, unique=True),
    Column("content_hash", String(64), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("invoice", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("tenant", "invoice_number", name="uq_cases_tenant_invoice"),
)
"""One row per registered invoice: the durable record behind every 201 of POST /v1/invoices."""

deliveries = Table(
    "deliveries",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("body", Text),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
)
"""The outgoing-message ledger: a key marked sent is never sent again."""
