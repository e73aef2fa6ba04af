"""Every PostgreSQL table (SQLAlchemy Core), in one MetaData.

The Alembic migrations in storage/migrations create them; tests compare these objects with the
migrated database. Grouped by owner: the service's cases and email ledger (0001, 0007), the
event store (0002), the channel outbox (0003), the read tables (0004, derived data, emptied and
refilled by a rebuild), registered mail (0005), partner hand-offs (0006), the case views
(0009, the read model the case workflows publish), the debtors with their data keys (0010,
the only place a debtor's identity is kept), the files a case was opened or changed with (0011)
the simple letters posted through a provider (0012), and the other sides of the
conversation (0015): the ERP's webhook subscriptions and their deliveries, the debtor
portal's requests and online payments, and the insolvency watch's publications.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.types import UserDefinedType

metadata = MetaData()
MONEY = Numeric(16, 2)

# --- cases and the email ledger (migrations 0001, 0007) ---

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

# --- the event store (migrations 0002, 0008); append-only ---


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (``xid8``); asyncpg reads and writes it as int."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "XID8"


postgresql_base.ischema_names.setdefault("xid8", XID8)  # so reflection knows it too


events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(always=False), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("tx_id", XID8(), nullable=False, server_default=text("pg_current_xact_id()")),
    PrimaryKeyConstraint("stream_id", "version", name="pk_events"),
    UniqueConstraint("position", name="uq_events_position"),
    UniqueConstraint("event_id", name="uq_events_event_id"),
    Index("uq_events_tx_id_position", "tx_id", "position", unique=True),
)
"""Append-only: the database refuses UPDATE, DELETE and TRUNCATE (trigger events_append_only).

``position`` comes from a sequence: unique, rising, with gaps (a rolled-back append keeps
its numbers). ``tx_id`` is the writing transaction's id; the global order readers follow is
``(tx_id, position)``, read only below the oldest transaction still running (see
``eventstore.rows.rows_after``). Rows older than migration 0008 have tx_id 0.
"""

# --- the non-email channels' ledger (migration 0003) ---

channel_outbox = Table(
    "channel_outbox",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("template", String(100), nullable=False),
    Column("partner", String(32)),
    Column("recipient", JSONB, nullable=False),
    Column("body", Text, nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("reference", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The letter laid out (activities/letter_layout, JSON; sealed like ``body`` for a debtor
    # account), what is printed; null for tasks and rows recorded before it (migration 0013).
    Column("layout", Text),
    # The key of the debtor's grouped letter this invoice's letter went out in (migration
    # 0014): the provider posts that one, and its statuses reach every invoice's case.
    Column("grouped_in", String(200), index=True),
)
"""What the non-email channels sent (or would send): one row per idempotency key."""

# --- the read tables (migration 0004) ---

checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("tx_id", XID8(), nullable=False, server_default=text("'0'::xid8")),
)
"""The last event each projection applied, as its place (tx_id, position) in the global
order, written with its rows; (0, 0) before the first."""

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
    Column("debtor_id", String(40)),
    Index("ix_case_list_tenant_due_date", "tenant", "due_date"),
    Index("ix_case_list_tenant_stage", "tenant", "stage"),
    Index("ix_case_list_tenant_balance", "tenant", "balance"),
    Index("ix_case_list_tenant_next_action", "tenant", "next_action_on"),
    Index("ix_case_list_tenant_debtor", "tenant", "debtor_id"),
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

# --- registered mail (migration 0005) ---

registered_letters = Table(
    "registered_letters",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("workflow_id", String(200)),
    Column("provider", String(32), nullable=False),
    Column("provider_id", String(100), unique=True),
    Column("provider_recipient_id", String(100)),
    Column("provider_status", String(32)),
    Column("status", String(32), nullable=False),
    Column("status_history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("first_presented_on", Date),
    Column("registered_number", String(64)),
    Column("document_sha256", String(64), nullable=False),
    Column("proofs", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("submitted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""One row per formal notice posted through a provider, keyed like channel_outbox.

``status``: ``pending`` (recorded, not yet confirmed by the provider), ``submitted``, then the
latest delivery status (``presented``, ``delivered``, ``not_collected``, ``refused``,
``wrong_address``) or ``rejected``. ``status_history``: every status with its day, source and
whether the case's workflow was told. ``proofs``: metadata (kind, sha256, size, media type) of
the documents in ``registered_letter_proofs``.
"""

registered_letter_proofs = Table(
    "registered_letter_proofs",
    metadata,
    Column(
        "idempotency_key",
        String(200),
        ForeignKey("registered_letters.idempotency_key", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("source", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("idempotency_key", "kind", name="pk_registered_letter_proofs"),
)
"""The proof documents themselves (deposit proof, acknowledgement of receipt), as served."""

registered_mail_events = Table(
    "registered_mail_events",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("idempotency_key", String(200), index=True),
    Column("event_type", String(64), nullable=False),
    Column("resource_id", String(100), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Every provider notification processed, by its event id: a replay changes nothing."""

# --- partner hand-offs (migration 0006) ---

partner_handoffs = Table(
    "partner_handoffs",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("tenant", String(64), nullable=False),
    Column("step", String(64), nullable=False),
    Column("workflow_id", String(200)),
    Column("partner_kind", String(32), nullable=False),
    Column("partner_reference", String(64)),
    Column("status", String(32), nullable=False),
    Column("status_history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("package", JSONB, nullable=False),
    Column("package_sha256", String(64), nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("submitted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("partner_kind", "partner_reference", name="uq_partner_handoffs_reference"),
)
"""One row per case handed to a partner, keyed like ``channel_outbox`` (the hand-off's key).

``status``: ``pending`` (recorded, the partner has not confirmed), ``submitted`` (the partner
returned its reference), then the partner's latest reported status (``accepted``,
``in_progress``, ``amount_collected``, ``title_obtained``, ``enforcement_measure``,
``closed``). ``status_history``: every status with when, where from and the partner's event id.
``package``: the exact JSON sent (re-sent unchanged on a retry); ``package_sha256`` its digest.
"""

partner_events = Table(
    "partner_events",
    metadata,
    Column("partner_kind", String(32), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("partner_reference", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("handled_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("partner_kind", "event_id", name="pk_partner_events"),
)
"""Every partner report received, by the partner's event id: a replay changes nothing.

``outcome``: ``pending`` (recorded, the case's workflow not yet told), ``signalled``, or
``case_not_running`` (the workflow had already finished, e.g. the case was paid).
"""

# --- the case views (migration 0009) ---

case_views = Table(
    "case_views",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("view", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""The latest view of each case as its workflow published it: what GET /v1/cases/{id}
serves without asking the workflow. ``revision`` orders the publications (a late retry
never overwrites a newer one); ``position`` is the journal position the view reflects
(read-your-writes); ``stream_version`` the facts of it already in the event store.
Written by intake (the opened case, revision 0) and by the ``record_case`` activity; not
derived from the events, so a projection rebuild leaves it alone.
"""


# --- the debtors and their data keys (migration 0010) ---

debtors = Table(
    "debtors",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("debtor_id", String(40), nullable=False),
    Column("lookup", String(64)),
    Column("identified_by", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("identity", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("erased_at", DateTime(timezone=True)),
    Column("erasure_reason", Text),
    PrimaryKeyConstraint("tenant", "debtor_id"),
    Index(
        "debtors_lookup",
        "tenant",
        "lookup",
        unique=True,
        postgresql_where=text("lookup IS NOT NULL"),
    ),
)
"""One row per debtor of a tenant. ``identity`` (name, identifiers, email, phone, address)
is AES-256-GCM ciphertext under the debtor's own data key (``debtor_keys``); ``lookup``
is a keyed hash (HMAC-SHA256) of the identifier that names the debtor (``identified_by``:
SIREN, VAT or registration number, the ERP's customer id, else the email), so intake
finds the debtor without decrypting anyone. Erasure empties ``identity`` and ``lookup``
and destroys the key; the row stays as a tombstone the cases still point to."""

debtor_keys = Table(
    "debtor_keys",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("debtor_id", String(40), nullable=False),
    Column("wrapped_key", LargeBinary),
    Column("master_key_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("rewrapped_at", DateTime(timezone=True)),
    Column("destroyed_at", DateTime(timezone=True)),
    Column("destroyed_reason", Text),
    PrimaryKeyConstraint("tenant", "debtor_id"),
)
"""Each debtor's data key, wrapped (AES-256-GCM) by a master key from RECOUVRE_DATA_KEYS
(``master_key_id`` says which; rotation rewraps). Everything personal recouvre stores about
the debtor outside this table is sealed with that key; destroying it (``wrapped_key``
NULL) makes all of it unreadable at once, append-only event store included."""

debtor_payments = Table(
    "debtor_payments",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("debtor_id", String(40), nullable=False),
    Column("reference", String(100), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("allocation", JSONB, nullable=False),
    Column("by", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant", "debtor_id", "reference"),
)
"""A payment the ERP reported for a debtor without saying which invoices it pays, and how
it was allocated (C. civ. 1342-10; legal/allocation.py): written before any share is
applied, so a retry applies the same shares instead of allocating again."""


# --- the files a case was opened or changed with (migration 0011) ---

case_files = Table(
    "case_files",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("debtor_id", String(40)),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("case_id", "sha256", name="pk_case_files"),
)
"""Each e-invoice (``kind`` einvoice), e-credit note (credit_note) or invoice PDF sent with
a JSON intake (invoice) as received, a document of the case; ``sha256`` and ``size`` are the
received bytes', so the same file posted again is stored once. The file names the buyer:
when ``debtor_id`` is set, ``content`` is sealed (AES-256-GCM, purpose "file") with that
debtor's data key and becomes unreadable once the debtor is erased, its hash still proving
what was received."""


# --- simple letters posted through a provider (migration 0012) ---

postal_letters = Table(
    "postal_letters",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("tenant", String(64), nullable=False),
    Column("step", String(64), nullable=False),
    Column("workflow_id", String(200)),
    Column("provider", String(32), nullable=False),
    Column("provider_id", String(100)),
    Column("provider_status", String(32)),
    Column("status", String(32), nullable=False),
    Column("status_history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("document_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("submitted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("provider", "provider_id", name="uq_postal_letters_provider_id"),
)
"""One row per letter by simple post handed to a provider, keyed like channel_outbox.

``status``: ``pending`` (recorded), ``creating`` (a sending is being asked for), ``created``
(the provider's id is in ``provider_id``, before anything else is done with it),
``submitted``, or ``refused`` (the provider will not take the address or the document: not
submitted, retried once the data is fixed); after submission, what the provider reports
(``accepted``, ``processed``, ``rejected``, ``undelivered``), ``provider_status`` its own
word. ``status_history``: every step with when and where from (refusals with their reason).
``document_sha256``: the PDF handed over. Holds no name or address: those stay in the
outbox row (sealed for vault debtors) and at the provider.
"""


# --- the other sides of the conversation (migration 0015) ---

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("subscription_id", String(40), primary_key=True),
    Column("tenant", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("event_types", JSONB, nullable=False),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("disabled_at", DateTime(timezone=True)),
)
"""An ERP's (or the creditor's) endpoint: where a tenant's case events are POSTed, signed
with ``secret`` (HMAC-SHA256), for the ``event_types`` listed (``payment.recorded`` ...).
A disabled subscription gets no new deliveries; what it already had stays in the log."""

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("source_event_id", Uuid, nullable=False),
    Column("source_position", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_webhook_events_case", "case_id", "source_position"),
)
"""Each webhook event, derived once from the event store (``source_event_id``) in its
global order: the body every subscription receives, with the same ``event_id`` on every
attempt so a receiver can drop a repeat. Holds ids and amounts, no personal data."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", BigInteger, Identity(always=False), primary_key=True),
    Column("subscription_id", String(40), nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_queue", "subscription_id", "case_id", "delivery_id"),
)
"""One event to one subscription. ``status``: ``pending`` (to send, at ``next_attempt_at``),
``delivered`` (a 2xx came back) or ``abandoned`` (no 2xx for the retry period; a manual
replay makes it pending again). ``delivery_id`` orders a case's deliveries: one is sent
only once every earlier one of the same subscription and case is no longer pending."""

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("manual", String(100)),
    PrimaryKeyConstraint("delivery_id", "attempt", name="pk_webhook_attempts"),
)
"""The delivery log: every POST made, its answer (or the error) and how long it took;
``manual`` names who asked for a replay."""

portal_requests = Table(
    "portal_requests",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("debtor_id", String(40), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(100)),
    Column("decision_note", Text),
    Index("ix_portal_requests_open", "tenant", "status", "created_at"),
)
"""What a debtor asked through the portal that an operator decides: a payment plan
(``kind`` payment_plan) or corrected contact details (contact_details). ``payload`` is JSON
sealed with the debtor's data key (it may carry an address). ``status``: pending,
accepted, refused."""

online_payments = Table(
    "online_payments",
    metadata,
    Column("payment_id", String(40), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("debtor_id", String(40), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("session_id", String(255)),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("allocation", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("paid_at", DateTime(timezone=True)),
    Column("provider_event_id", String(255)),
)
"""A payment the debtor started on the portal: the provider's session, the balance it was
for and how it was to be shared between the invoices (``allocation``, case id to amount).
``status``: created, paid, failed."""

provider_events = Table(
    "provider_events",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("provider", "event_id", name="pk_provider_events"),
)
"""Each signed event a payment provider sent (Stripe's ``evt_...``), kept so a redelivery
is answered without applying it twice."""

insolvency_publications = Table(
    "insolvency_publications",
    metadata,
    Column("tenant", String(64), nullable=False),
    Column("debtor_id", String(40), nullable=False),
    Column("publication_id", String(100), nullable=False),
    Column("published_on", Date, nullable=False),
    Column("proceeding", String(32), nullable=False),
    Column("court", Text, nullable=False),
    Column("mandataire", Text, nullable=False),
    Column("cases", JSONB, nullable=False),
    Column("found_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant", "debtor_id", "publication_id", name="pk_insolvency_pubs"),
)
"""A BODACC collective-proceedings notice the insolvency watch found for a debtor, and the
cases it was applied to: found once, applied once."""
