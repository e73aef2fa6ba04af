"""The whole hand-off on real components: the workflow escalates a case, the hand-off goes
to the sandbox partner, whose signed reports come back through the inbound endpoint and close
the case as paid."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.partners import (
    HandoffPackage,
    HttpPartnerClient,
    deliver_handoff,
)
from sandboxes.partner_server import (
    PartnerSchedule,
    SandboxPartner,
    start_sandbox_partner,
)
from schemas.case import CaseView, Outcome
from storage.tables import partner_events, partner_handoffs
from tests.partners.conftest import partner_settings
from tests.partners.support import SECRETS, escalated_case, eventually
from tests.support.cases import CaseRig

KIND = "commissaire_small_claims"


@pytest.fixture
def live_partner(webhook_url: str) -> Iterator[SandboxPartner]:
    schedule = PartnerSchedule.every(0.3, callback_backoff_s=0.2, callback_attempts=20)
    sandbox = start_sandbox_partner(
        callback_url=webhook_url, webhook_secrets=SECRETS, schedule=schedule, api_key="live-key"
    )
    yield sandbox
    sandbox.stop()


async def test_a_handed_off_case_closes_paid_on_the_partners_report(
    rig: CaseRig, engine: AsyncEngine, live_partner: SandboxPartner
) -> None:
    case = await escalated_case(rig, engine)
    assert case.request.partner == KIND
    client = HttpPartnerClient.from_settings(partner_settings(live_partner))

    reference = await deliver_handoff(
        engine, client, case.request, case.body, workflow_id=case.handle.id
    )
    closed: CaseView = await asyncio.wait_for(case.handle.result(), timeout=30)

    assert closed.outcome is Outcome.paid
    assert closed.balance == Decimal("0.00")
    by = f"partner:{KIND}:{reference}"
    reports = [(e.type, e.detail.split()[0]) for e in closed.journal if e.by == by]
    assert reports == [
        ("PartnerReport", "accepted"),
        ("PartnerReport", "in_progress"),
        ("PartnerReport", "amount_collected"),
    ]
    assert [p.amount for p in closed.payments] == [Decimal("1200.00")]
    # A signal arriving once the case is closed (the partner's last status report can
    # follow its collection report) is journaled as EventIgnored, "the case is closed";
    # the case's own last steps are these.
    steps = [j for j in closed.journal if j.type != "EventIgnored"]
    assert [j.type for j in steps][-2:] == ["CaseClosed", "ReceiptSent"]
    assert steps[-2].detail.startswith("paid")
    late = [j.detail for j in closed.journal if j.type == "EventIgnored"]
    assert all("the case is closed" in why for why in late), late

    async def all_sent() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=live_partner.url, timeout=5) as http:
            mandate: dict[str, Any] = (
                await http.get(
                    f"/v1/mandates/{reference}",
                    headers={"Authorization": f"Bearer {live_partner.api_key}"},
                )
            ).json()
        reports = mandate["reports"]
        done = len(reports) == 4 and all(r.get("delivered") is not None for r in reports)
        return mandate if done else None

    mandate = await eventually(all_sent, "the sandbox's four reports")
    assert [r["status"] for r in mandate["reports"]] == [
        "accepted",
        "in_progress",
        "amount_collected",
        "closed",
    ]
    assert all(r["delivered"] for r in mandate["reports"])
    async with engine.connect() as conn:
        handoff = (
            await conn.execute(
                select(partner_handoffs).where(partner_handoffs.c.partner_reference == reference)
            )
        ).one()
        outcomes = (
            await conn.execute(
                select(partner_events.c.status, partner_events.c.outcome)
                .where(partner_events.c.partner_reference == reference)
                .order_by(partner_events.c.received_at)
            )
        ).all()
    assert handoff.status == "closed"
    assert [h["status"] for h in handoff.status_history] == [
        "pending",
        "submitted",
        "accepted",
        "in_progress",
        "amount_collected",
        "closed",
    ]
    assert [tuple(o) for o in outcomes[:3]] == [
        ("accepted", "signalled"),
        ("in_progress", "signalled"),
        ("amount_collected", "signalled"),
    ]
    # The partner's "closed" follows its collection report: it finds the workflow ended,
    # or still sending the receipt (then the case journals it as ignored, see above).
    assert len(outcomes) == 4 and outcomes[3].status == "closed"
    assert outcomes[3].outcome in ("case_not_running", "signalled")
    package = HandoffPackage.model_validate(handoff.package)
    assert package.decompte.balance_value == Decimal("1200.00")
    assert package.debtor.name == "Durand SARL"
    assert [d.step for d in package.documents] == ["escalation", "formal_notice"]
