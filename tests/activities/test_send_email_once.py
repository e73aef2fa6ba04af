"""send_email: a retry after a crash, or a racing duplicate attempt, sends nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email_activities import EmailActivities
from activities.email_request import EmailRequest
from storage.tables import deliveries
from tests.conftest import Smtp
from tests.support.cases import smtp_settings
from tests.support.mailbox import messages_for_case


def _request(case_id: str, to: str = "compta@durand.example") -> EmailRequest:
    return EmailRequest(
        idempotency_key=f"{case_id}/reminder_1",
        case_id=case_id,
        tenant="acme",
        step="reminder_1",
        template="reminder_1@1",
        to=to,
        debtor_name="Durand SARL",
        debtor_kind="business",
        invoice_number="F-1",
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
        amount_due=Decimal("1200.00"),
        balance=Decimal("1200.00"),
        currency="EUR",
    )


async def test_a_retry_of_a_sent_step_sends_nothing(engine: AsyncEngine, smtp: Smtp) -> None:
    activities = EmailActivities(smtp_settings(smtp.host, smtp.port), engine)
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    first = await ActivityEnvironment().run(activities.send_email, _request(case_id))
    retry = await ActivityEnvironment().run(activities.send_email, _request(case_id))

    assert (first.duplicate, retry.duplicate) == (False, True)
    assert retry.message_id == first.message_id
    mails = messages_for_case(smtp.maildir, case_id)
    assert len(mails) == 1
    assert mails[0]["Message-ID"] == first.message_id
    async with engine.connect() as conn:
        row = (await conn.execute(select(deliveries).where(deliveries.c.case_id == case_id))).one()
    assert row.status == "sent" and row.message_id == first.message_id


async def test_two_racing_attempts_send_one_message(engine: AsyncEngine, smtp: Smtp) -> None:
    activities = EmailActivities(smtp_settings(smtp.host, smtp.port), engine)
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    receipts = await asyncio.gather(
        *(ActivityEnvironment().run(activities.send_email, _request(case_id)) for _ in range(5))
    )
    assert sorted(r.duplicate for r in receipts) == [False] + [True] * 4
    assert len(messages_for_case(smtp.maildir, case_id)) == 1


async def test_an_unreachable_relay_fails_the_attempt_and_a_later_retry_sends(
    engine: AsyncEngine, smtp: Smtp
) -> None:
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    down = EmailActivities(smtp_settings("127.0.0.1", 1), engine)  # nothing listens on port 1
    with pytest.raises(OSError):
        await ActivityEnvironment().run(down.send_email, _request(case_id))
    up = EmailActivities(smtp_settings(smtp.host, smtp.port), engine)
    receipt = await ActivityEnvironment().run(up.send_email, _request(case_id))
    assert receipt.duplicate is False
    assert len(messages_for_case(smtp.maildir, case_id)) == 1


async def test_a_missing_template_is_a_clear_error_not_retried(
    engine: AsyncEngine, smtp: Smtp
) -> None:
    activities = EmailActivities(smtp_settings(smtp.host, smtp.port), engine)
    request = _request(f"case-{uuid.uuid4().hex[:8]}").model_copy(update={"template": "nope@9"})
    with pytest.raises(ApplicationError, match="nope@9") as caught:
        await ActivityEnvironment().run(activities.send_email, request)
    assert caught.value.non_retryable
    assert caught.value.type == "TemplateNotFound"


async def test_the_email_has_text_and_html_parts_with_the_payment_link(
    engine: AsyncEngine, smtp: Smtp
) -> None:
    activities = EmailActivities(smtp_settings(smtp.host, smtp.port), engine)
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    await ActivityEnvironment().run(activities.send_email, _request(case_id))
    [message] = messages_for_case(smtp.maildir, case_id)
    text = message.get_body(preferencelist=("plain",))
    page = message.get_body(preferencelist=("html",))
    assert text is not None and page is not None
    link = "https://paiement.creancier.example/F-1?montant=1200.00"
    assert f"Payer en ligne : {link}" in text.get_content()
    html_text = page.get_content()
    assert f'href="{link}"' in html_text
    assert "F-1" in html_text and "<p>" in html_text
