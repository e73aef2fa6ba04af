"""The sandbox partner's API and schedule."""

from __future__ import annotations

from decimal import Decimal

import httpx

from activities.partners.settings import HANDOFF_PARTNERS, PartnerSettings
from inbound.signatures import sign_partner_report, verify_partner_report
from sandboxes.partner_reports import PartnerSchedule, callback_for
from sandboxes.partner_server import SandboxPartner, start_embedded_partner


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


def test_make_run_gives_every_tenant_and_partner_its_own_webhook_secret() -> None:
    """``recouvre run``'s sandbox: a secret per (tenant of the API keys, partner kind), the
    configured ones kept, and the API's settings verify what the sandbox signs."""
    configured = PartnerSettings(webhook_secrets="demo:agency=given", sandbox_port=0)

    sandbox, settings = start_embedded_partner(configured, "http://127.0.0.1:9", ["demo", "acme"])
    try:
        assert set(sandbox.webhook_secrets) == {
            (tenant, kind) for tenant in ("demo", "acme") for kind in HANDOFF_PARTNERS
        }
        assert sandbox.webhook_secrets["demo", "agency"] == "given"
        generated = {sandbox.webhook_secrets[pair] for pair in sandbox.webhook_secrets}
        assert len(generated) == len(sandbox.webhook_secrets)  # no two pairs share one
        for (tenant, kind), secret in sandbox.webhook_secrets.items():
            assert settings.webhook_secrets_for(tenant, kind) == (secret,)
            body = b'{"event_id":"evt_1"}'
            header = sign_partner_report(secret, tenant, kind, body)
            verify_partner_report(
                settings.webhook_secrets_for(tenant, kind), tenant, kind, body, header
            )
        assert settings.agency_url == sandbox.url
    finally:
        sandbox.stop()
