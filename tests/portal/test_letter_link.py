"""The portal link on paper: a formal notice or a last reminder to a debtor known by id
carries its personal link and a QR code, read back from the printed PDF; letters to
others (a partner, the court, the mandataire) carry none."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities
from activities.channel_requests import Recipient
from activities.letter_layout import build_letter_document, render_letter_html
from activities.letter_layout.document import document_from_json, document_to_json
from activities.letter_layout.portal_block import PORTAL_KINDS, with_portal
from activities.letter_layout.samples import TEMPLATES, sample_context, sample_recipient
from activities.letter_layout.stored import printed_pdf
from activities.portal_link import PortalLinks, read_portal_token
from schemas.invoice import InvoiceIn
from storage.debtor_vault import SEALED_PREFIX, DebtorVault
from storage.key_ring import KeyRing
from storage.tables import channel_outbox
from tests.letter_layout.conftest import LETTERHEAD, flat, pdftotext
from tests.registered_mail.conftest import formal_notice
from tests.support.invoices import invoice_payload

SECRET = b"letters-portal-secret-0123456789abcdef"
TENANT = "letters-portal"
PORTAL = PortalLinks(base_url="https://paiement.creancier.example", secret=SECRET, link_days=90)


async def test_a_formal_notice_prints_the_debtors_own_link(engine: AsyncEngine) -> None:
    vault = DebtorVault(KeyRing.parse(KeyRing.new_entry("t1"), setting="T"), os.urandom(32))
    async with engine.begin() as conn:
        # A tenant of its own: this vault's master key is not the session service's.
        debtor = InvoiceIn.model_validate(invoice_payload()).debtor
        ref = await vault.register(conn, TENANT, debtor)
    by_id = Recipient(name=f"debtor:{ref.debtor_id}", debtor_id=ref.debtor_id)
    request = formal_notice(f"case-{uuid.uuid4().hex[:12]}", by_id).model_copy(
        update={"debtor_id": ref.debtor_id, "tenant": TENANT}
    )
    activities = ChannelActivities(engine, vault=vault, portal=PORTAL)
    await ActivityEnvironment().run(activities.send_registered_letter, request)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(channel_outbox).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
        assert row.layout.startswith(SEALED_PREFIX), "kept sealed, as the letter's text"
        layout = await vault.open_text(conn, TENANT, ref.debtor_id, "outbox", row.layout)
        body = await vault.open_text(conn, TENANT, ref.debtor_id, "outbox", row.body)
    url = document_from_json(layout).portal_url
    assert url.startswith("https://paiement.creancier.example/portail/"), url
    scope = read_portal_token(SECRET, url.rsplit("/", 1)[1], date.today())
    assert scope is not None and (scope.tenant, scope.debtor_id) == (TENANT, ref.debtor_id)
    assert scope.expires == date.today() + timedelta(days=90)

    pdf = printed_pdf(body, layout, title="t", reference=row.reference, created_at=row.created_at)
    text = flat(pdftotext(pdf))
    assert "Votre dossier en ligne" in text
    assert url in text.replace(" ", ""), "the link is printed whole (wrapped, not cut)"


async def test_a_letter_to_a_debtor_known_only_by_its_address_has_no_link(
    engine: AsyncEngine,
) -> None:
    request = formal_notice(f"case-{uuid.uuid4().hex[:12]}")  # no debtor_id: no vault entry
    await ActivityEnvironment().run(
        ChannelActivities(engine, portal=PORTAL).send_registered_letter, request
    )
    async with engine.connect() as conn:
        layout = (
            await conn.execute(
                select(channel_outbox.c.layout).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).scalar_one()
    assert layout is not None and document_from_json(layout).portal_url == ""


def test_only_the_letters_a_debtor_acts_on_carry_the_link() -> None:
    url = "https://paiement.creancier.example/portail/abc.def"
    carried = set()
    for kind, template in TEMPLATES.items():
        doc = build_letter_document(
            template,
            sample_context(kind, "business"),
            sample_recipient(kind, "business"),
            reference="OUT-1",
            letterhead=LETTERHEAD,
        )
        linked = with_portal(doc, url)
        html = render_letter_html(linked)
        if linked.portal_url:
            carried.add(kind)
            assert url in html and 'class="portal-qr" src="data:image/svg+xml' in html
        else:
            assert url not in html and "data:image/svg+xml" not in html
    assert carried == {"reminder_3", "formal_notice"} == set(PORTAL_KINDS)


def test_a_letter_kept_before_the_portal_still_reads() -> None:
    doc = build_letter_document(
        TEMPLATES["formal_notice"],
        sample_context("formal_notice", "business"),
        sample_recipient("formal_notice", "business"),
        letterhead=LETTERHEAD,
    )
    stored = document_to_json(doc).replace(', "portal_url": ""', "")
    assert "portal_url" not in stored
    assert document_from_json(stored) == doc
