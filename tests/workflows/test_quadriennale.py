"""A claim on a public debtor prescribes by the quadriennale (loi 68-1250 art. 1: four years
from 1 January of the year after the rights arose) when that is the earlier last day, and
the registered formal notice restarts it from the next 1 January (art. 2); as the debtor
may be a public company (5 years, C. com. L110-4), the case keeps the earlier of the two
(french-collection-law.md: never rely on an extension that might not apply). A business
case keeps its five years. Time skipping, real activities, real PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from schemas.policy import Channel, Policy, PolicyStep, StepKind
from tests.conftest import Smtp
from tests.support.cases import case_worker, smtp_settings
from tests.support.histories import record_history
from tests.support.invoices import invoice_payload
from tests.workflows.timeline_support import sleep_until, state

NOTICE_ONLY = Policy(
    id="notice-only",
    version=1,
    title="A formal notice one minute after the start",
    debtor_kinds=[],
    min_gap=timedelta(seconds=1),
    steps=[
        PolicyStep(
            key="formal_notice",
            label="Mise en demeure (LRAR)",
            kind=StepKind.formal_notice,
            channel=Channel.registered_letter,
            template="formal_notice@1",
            anchor="case_start",
            offset=timedelta(minutes=1),
        )
    ],
)
DUE = date(2023, 3, 3)


def _public_debtor() -> dict[str, object]:
    debtor = invoice_payload()["debtor"]
    return {**debtor, "kind": "public", "name": "Commune de Test"}


async def test_a_public_claim_runs_the_quadriennale_and_the_formal_notice_restarts_it(
    ts_env: WorkflowEnvironment, engine: AsyncEngine, smtp: Smtp
) -> None:
    async with case_worker(ts_env.client, engine, smtp_settings(smtp.host, smtp.port)) as rig:
        start = await ts_env.get_current_time()
        public = await rig.start(
            start,
            policy=NOTICE_ONLY,
            debtor=_public_debtor(),
            issue_date=str(DUE - timedelta(days=30)),
            due_date=str(DUE),
        )
        business = await rig.start(
            start, policy=NOTICE_ONLY, issue_date=str(DUE - timedelta(days=30)), due_date=str(DUE)
        )
        before = await state(public)
        await sleep_until(ts_env, start + timedelta(hours=1))
        after = await state(public)
        business_after = await state(business)
        await record_history(public, "collection_case_v8_public_quadriennale")
    # Due 3 Mar 2023: 4 years from 1 Jan 2024, last day 31 Dec 2027 (loi 68-1250 art. 1).
    assert before.prescription_rule == "quadriennale"
    assert before.prescription_last_day == date(2027, 12, 31)
    assert after.formal_notice is not None, "the notice went out"
    sent_on = after.formal_notice.sent_on
    assert after.written_requests == [sent_on]
    # The notice restarts the quadriennale from the next 1 January (art. 2), but whether
    # the debtor is a public-law person is not known: the earlier of that and a public
    # company's 5 years (C. com. L110-4, not restarted by a demand) is kept (reference s.7).
    assert after.prescription_last_day == date(2028, 3, 3)
    assert after.prescription_interruptions == []
    # The business claim: 5 years from the due date, not restarted by a demand.
    assert business_after.prescription_rule is None
    assert business_after.prescription_last_day == date(2028, 3, 3)
    assert business_after.prescription_interruptions == []
