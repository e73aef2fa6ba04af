"""An invoice's life through the API: registered, reminded by real email, paid."""

from __future__ import annotations

import asyncio
import io

from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import cases, deliveries
from tests.conftest import Smtp
from tests.e2e.conftest import Service
from tests.support.histories import record_history
from tests.support.invoices import invoice_payload
from tests.support.mailbox import messages_for_case, text_of, wait_for_messages


async def test_demo_invoice_is_reminded_by_email_then_closed_by_payment(
    service: Service, smtp: Smtp, engine: AsyncEngine
) -> None:
    body = invoice_payload(policy="demo", amount_due="1200.00")
    async with service.client("erp") as erp, service.client("operator") as operator:
        created = await erp.post("/v1/invoices", json=body)
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        assert created.json()["policy_id"] == "demo"

        opened = (await operator.get(f"/v1/cases/{case_id}")).json()
        assert opened["stage"] == "amicable"
        assert opened["balance"] == "1200.00"
        assert opened["due_date"] == body["due_date"]
        assert opened["next_action"]["step"] == "reminder_1"
        assert opened["next_action"]["channel"] == "email"
        assert opened["prescription_last_day"] == "2031-10-31", "5 years from the due date"
        claim = opened["claim_to_date"]
        assert claim["indemnity"] == "40.00", "a late business debtor owes 40 EUR (D441-5)"
        assert claim["penalties"] is not None and claim["rate_table_version"]

        mails = await wait_for_messages(smtp.maildir, case_id, 1)
        assert len(mails) == 1, "reminder 1 should reach the SMTP server within seconds"
        reminder = mails[0]
        assert reminder["To"] == "compta@durand.example"
        assert body["invoice_number"] in reminder["Subject"]
        text = text_of(reminder)
        assert "1\u202f200,00\u00a0€" in text and "31/10/2026" in text and "IBAN" in text

        partial = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "200.00", "paid_on": "2026-11-02", "reference": "VIR-123"},
        )
        assert partial.status_code == 200, partial.text
        assert partial.json()["balance"] == "1000.00"
        assert partial.json()["stage"] != "closed"

        too_much = await operator.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "1000.01", "paid_on": "2026-11-03", "reference": "VIR-124"},
        )
        assert too_much.status_code == 422
        assert too_much.json()["error"]["details"][0]["field"] == "amount"

        full = await operator.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "1000.00", "paid_on": "2026-11-03", "reference": "VIR-125"},
        )
        assert full.status_code == 200, full.text
        closed = (await operator.get(f"/v1/cases/{case_id}")).json()
        assert (closed["stage"], closed["outcome"], closed["balance"]) == (
            "closed",
            "paid",
            "0.00",
        )
        assert closed["actions"][0]["step"] == "reminder_1"
        assert closed["actions"][0]["channel"] == "email"

        retry = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "1000.00", "paid_on": "2026-11-03", "reference": "VIR-125"},
        )
        assert retry.status_code == 200, "a retried payment on a closed case is harmless"

    await asyncio.sleep(11)  # past reminder 2's planned time (+10 s): no reminder follows
    mails = messages_for_case(smtp.maildir, case_id)
    received = [m["X-Recouvre-Step"] for m in mails]
    assert sorted(received) == ["receipt", "reminder_1"], "the payment is thanked, once"
    [thanks] = [m for m in mails if m["X-Recouvre-Step"] == "receipt"]
    [receipt] = [part for part in thanks.iter_attachments()]
    assert receipt.get_content_type() == "application/pdf"
    pdf = receipt.get_payload(decode=True)
    assert isinstance(pdf, bytes)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Reçu de paiement" in text and "1 000,00" in text, "the laid-out receipt"
    assert "soldée" in text
    async with engine.connect() as conn:
        sent = await conn.scalar(
            select(func.count()).select_from(deliveries).where(deliveries.c.case_id == case_id)
        )
    assert sent == 2

    handle = service.dev_env.client.get_workflow_handle(closed_workflow_id(body))
    await record_history(handle, "collection_case_demo_paid")


def closed_workflow_id(body: dict[str, object]) -> str:
    return f"invoice:acme:{body['invoice_number']}"


async def test_twenty_concurrent_identical_posts_make_one_case_and_one_workflow(
    service: Service, engine: AsyncEngine
) -> None:
    body = invoice_payload()
    async with service.client("erp") as erp:
        answers = await asyncio.gather(*(erp.post("/v1/invoices", json=body) for _ in range(20)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 19 + [201], [a.text for a in answers if a.status_code >= 300]
    assert len({a.json()["case_id"] for a in answers}) == 1
    async with engine.connect() as conn:
        rows = await conn.scalar(
            select(func.count())
            .select_from(cases)
            .where(cases.c.tenant == "acme", cases.c.invoice_number == body["invoice_number"])
        )
    assert rows == 1
    workflow_id = closed_workflow_id(body)
    runs = [w async for w in service.dev_env.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1


async def test_same_number_with_other_content_is_a_conflict(service: Service) -> None:
    body = invoice_payload()
    async with service.client("erp") as erp:
        assert (await erp.post("/v1/invoices", json=body)).status_code == 201
        conflict = await erp.post("/v1/invoices", json={**body, "amount_due": "1300.00"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "invoice_conflict"
    assert "invoice_number" in conflict.json()["error"]["message"]
