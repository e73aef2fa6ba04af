"""GET /v1/cases/{id} from the read model: readable at once, never waiting on a worker,
saying which journal position it reflects, reading its writes, and the same case the
workflow itself answers once it has published."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.case_view_store import load_case_view, save_case_view
from services.api.app import create_app
from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload
from tests.support.service import KEYS
from tests.support.serving import serve

SHOWN_BY_BOTH = ("read", "pending_actions", "claim_to_date")
"""What only the API adds: compared apart (the claim is computed on the view either way)."""


def _case_fields(case: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in case.items() if key not in SHOWN_BY_BOTH}


async def _until_published(
    operator: httpx.AsyncClient, case_id: str, ready: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The read model's case and the live one, once both agree and ``ready`` holds."""
    for _ in range(200):
        stored = (await operator.get(f"/v1/cases/{case_id}", params={"after_position": 0})).json()
        live = (await operator.get(f"/v1/cases/{case_id}", params={"consistency": "live"})).json()
        same_position = stored["read"]["position"] == live["read"]["position"]
        if ready(stored) and same_position and _case_fields(stored) == _case_fields(live):
            return stored, live
        await asyncio.sleep(0.1)
    raise AssertionError(f"the read model never matched the workflow: {stored} / {live}")


async def test_a_case_reads_at_once_then_shows_what_its_workflow_knows(service: Service) -> None:
    async with service.client("erp") as erp, service.client("operator") as operator:
        created = await erp.post("/v1/invoices", json=invoice_payload(amount_due="900.00"))
        assert created.status_code == 201, created.text
        case_id, registered_at = created.json()["case_id"], created.json()["position"]
        first = await operator.get(f"/v1/cases/{case_id}", params={"after_position": 0})
        assert first.status_code == 200, first.text
        assert first.json()["read"]["source"] == "read_model"
        assert first.json()["balance"] == "900.00"

        stored, live = await _until_published(
            operator, case_id, lambda case: case["read"]["position"] >= registered_at
        )
        assert [entry["type"] for entry in stored["journal"]][:1] == ["InvoiceRegistered"]
        assert stored["next_action"] is not None, "the plan is published with the facts"
        assert stored["read"]["revision"] >= 1 and stored["read"]["caught_up"]
        assert live["read"]["source"] == "live" and live["pending_actions"] is not None
        assert stored["claim_to_date"]["total"] == live["claim_to_date"]["total"]

        paid = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "300.00", "paid_on": "2026-11-02", "reference": "VIR-RM-1"},
        )
        assert paid.status_code == 200, paid.text
        wrote = paid.json()["position"]
        assert wrote > registered_at
        read = await operator.get(f"/v1/cases/{case_id}", params={"after_position": wrote})
        assert read.json()["read"]["caught_up"], read.json()["read"]
        assert read.json()["read"]["position"] >= wrote
        assert read.json()["balance"] == "600.00"

        closed = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "600.00", "paid_on": "2026-11-03", "reference": "VIR-RM-2"},
        )
        assert closed.status_code == 200, closed.text
        final, _ = await _until_published(operator, case_id, lambda case: case["stage"] == "closed")
        assert (final["outcome"], final["balance"]) == ("paid", "0.00")
        assert final["stream"]["complete"], final["stream"]


async def test_a_read_that_cannot_catch_up_answers_with_what_it_has(
    service: Service, engine: AsyncEngine
) -> None:
    """No worker runs this app's task queue: the case stays as registered. A read asking
    for a later position waits the configured time, then answers, marked behind."""
    settings = service.settings.model_copy(
        update={"task_queue": "read-model-no-worker", "read_your_writes_wait_s": 0.4}
    )
    async with (
        serve(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url, headers=_bearer("erp")) as erp,
        httpx.AsyncClient(base_url=base_url, headers=_bearer("operator")) as operator,
        httpx.AsyncClient(base_url=base_url, headers=_bearer("other_operator")) as other,
    ):
        created = await erp.post("/v1/invoices", json=invoice_payload())
        case_id = created.json()["case_id"]
        started = time.monotonic()
        behind = await operator.get(f"/v1/cases/{case_id}", params={"after_position": 1})
        waited = time.monotonic() - started
        foreign = await other.get(f"/v1/cases/{case_id}")
    await service.dev_env.client.get_workflow_handle(created.json()["workflow_id"]).terminate()
    assert behind.status_code == 200, behind.text
    assert behind.json()["read"] == {
        **behind.json()["read"],
        "source": "read_model",
        "position": 0,
        "after_position": 1,
        "caught_up": False,
    }
    assert 0.4 <= waited < 3.0, waited
    assert foreign.status_code == 404, "another tenant's case is not found in the read model"
    stored = await _stored(engine, case_id)
    assert stored.revision == 0 and stored.view.journal == []


async def test_an_older_publication_never_replaces_a_newer_one(
    service: Service, engine: AsyncEngine
) -> None:
    """A late retry of the record activity carries an older revision: the store keeps the
    newer view."""
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=invoice_payload())
    case_id = created.json()["case_id"]
    stored = await _stored(engine, case_id)
    newer = stored.view.model_copy(update={"view_revision": 1000, "balance": Decimal("1.00")})
    older = stored.view.model_copy(update={"view_revision": 999, "balance": Decimal("2.00")})
    async with engine.begin() as conn:
        assert await save_case_view(conn, newer)
        assert not await save_case_view(conn, older)
        assert not await save_case_view(conn, newer), "the same revision again is not rewritten"
    kept = await _stored(engine, case_id)
    assert (kept.revision, str(kept.view.balance)) == (1000, "1.00")


async def _stored(engine: AsyncEngine, case_id: str) -> Any:
    async with engine.connect() as conn:
        stored = await load_case_view(conn, "acme", case_id)
    assert stored is not None
    return stored


def _bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who]}"}
