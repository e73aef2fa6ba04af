"""The sandbox partner's API and schedule."""

from __future__ import annotations

from decimal import Decimal

import httpx

from services.sandbox.partner_reports import PartnerSchedule, callback_for
from services.sandbox.partner_server import SandboxPartner


def _statuses(plan: list[tuple[float, dict[str, object]]]) -> list[object]:
    return [fields.get("amount") or fields.get("result") or fields["status"] for _, fields in plan]


def test_each_partner_kind_walks_its_own_path() -> None:
    schedule = PartnerSchedule.every(1, collected_fraction=Decimal("0.5"))
    balance = Decimal("1000.01")

    agency = schedule.plan("agency", balance)
    enforcement = schedule.plan("commissaire_enforcement", balance)
    titled = schedule.model_copy(update={"small_claims_outcome": "title_obtained"})

    assert [delay for delay, _ in agency] == [1, 1, 1, 1]
    assert _statuses(agency) == ["accepted", "in_progress", "500.00", "uncollectable"]
    assert _statuses(enforcement) == [
        "accepted",
        "in_progress",
        "enforcement_measure",
        "500.00",
        "uncollectable",
    ]
    assert _statuses(titled.plan("commissaire_small_claims", balance)) == [
        "accepted",
        "in_progress",
        "title_obtained",
        "closed",
    ]
    assert _statuses(PartnerSchedule().plan("agency", Decimal("80.00"))) == [
        "accepted",
        "in_progress",
        "80.00",
        "closed",
    ]


def test_callback_urls() -> None:
    assert callback_for("http://h:8000/", "agency") == "http://h:8000/v1/partners/agency/reports"
    assert callback_for("http://h/in/{partner_kind}", "agency") == "http://h/in/agency"


async def test_the_api_wants_its_key_and_an_idempotency_key(
    quiet_partner: SandboxPartner,
) -> None:
    async with httpx.AsyncClient(base_url=quiet_partner.url, timeout=5) as http:
        no_key = await http.post("/v1/mandates", json={})
        auth = {"Authorization": f"Bearer {quiet_partner.api_key}"}
        no_idempotency = await http.post("/v1/mandates", json={}, headers=auth)
        invalid = await http.post(
            "/v1/mandates", json={"x": 1}, headers={**auth, "Idempotency-Key": "k"}
        )
        unknown = await http.get("/v1/mandates/SBX-AG-none", headers=auth)

    assert no_key.status_code == 401
    assert no_idempotency.status_code == 400
    assert invalid.status_code == 422
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
