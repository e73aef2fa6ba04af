"""The ERP's own invoice file sent with a JSON intake is kept as a document of the case
(sealed with the debtor's key) and attached to the emails the policy marks: here the
courtesy notice before the due date (default-policies.md: "invoice attached"). Through the
API, on the real worker, Temporal dev server, PostgreSQL and SMTP server."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import case_files
from tests.conftest import Smtp
from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload
from tests.support.mailbox import wait_for_messages

PDF = b"%PDF-1.4\n% facture de test\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


async def test_the_invoice_pdf_sent_with_the_intake_goes_with_the_courtesy_notice(
    service: Service, smtp: Smtp, engine: AsyncEngine
) -> None:
    today = datetime.now(UTC).date()
    body = invoice_payload(
        policy="fr-b2b-courtesy",
        issue_date=str(today - timedelta(days=27)),
        due_date=str(today + timedelta(days=3)),
        document={"content_base64": base64.b64encode(PDF).decode()},
    )
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=body)
        not_a_pdf = await erp.post(
            "/v1/invoices",
            json={**invoice_payload(), "document": {"content_base64": "aGVsbG8gd29ybGQ="}},
        )
    assert created.status_code == 201, created.text
    assert not_a_pdf.status_code == 422 and "document" in not_a_pdf.text, not_a_pdf.text
    case_id = created.json()["case_id"]
    [mail] = await wait_for_messages(smtp.maildir, case_id, 1)
    assert mail["X-Recouvre-Step"] == "courtesy_notice"
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == f"facture-{body['invoice_number']}.pdf"
    assert attached.get_payload(decode=True) == PDF, "the ERP's own file, as sent"
    async with engine.connect() as conn:
        kept = (await conn.execute(select(case_files).where(case_files.c.case_id == case_id))).one()
    assert kept.kind == "invoice" and kept.sha256 == hashlib.sha256(PDF).hexdigest()
    assert bytes(kept.content) != PDF, "sealed with the debtor's data key"
