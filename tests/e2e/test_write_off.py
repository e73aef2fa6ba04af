"""Closing a case as irrecoverable records its evidence, and the write-off report gives the
accountant what the tax rules allow: with a liquidator's certificate the loss is deductible
and the VAT on the unpaid part is recoverable (CGI art. 272, BOI-TVA-DED-40-10-20), with a
mere unanswered reminder only a provision; entries balance (PCG 654, 44571, 411). Through
the API, on the real worker, Temporal dev server and PostgreSQL."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload


async def _closed_case(service: Service, evidence: list[dict[str, Any]]) -> tuple[str, str]:
    async with service.client("erp") as erp, service.client("operator") as operator:
        created = await erp.post("/v1/invoices", json=invoice_payload(amount_due="1200.00"))
        assert created.status_code == 201, created.text
        case_id = str(created.json()["case_id"])
        paid = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "500.00", "paid_on": "2026-11-05", "reference": "VIR-WO-1"},
        )
        assert paid.status_code == 200, paid.text
        closed = await operator.post(
            f"/v1/cases/{case_id}/close",
            json={"outcome": "written_off", "reason": "liquidation clôturée", "evidence": evidence},
        )
        assert closed.status_code == 200, closed.text
    return case_id, str(closed.json()["position"])


async def _report(service: Service, case_id: str, **params: str) -> Any:
    async with service.client("auditor") as auditor:
        return await auditor.get(f"/v1/cases/{case_id}/write-off", params=params)


async def test_a_certified_write_off_recovers_the_vat_on_the_unpaid_part_cgi_272(
    service: Service,
) -> None:
    case_id, position = await _closed_case(
        service,
        [
            {
                "kind": "liquidator_certificate",
                "on": "2026-11-20",
                "reference": "CERT-2026-114",
                "issuer": "Me Martin, liquidateur",
            }
        ],
    )
    response = await _report(
        service, case_id, vat_exigibility="debits", vat_rate="20", after_position=position
    )
    assert response.status_code == 200, response.text
    report = response.json()
    # 700.00 unpaid incl. VAT at 20 %: 583.33 excl. VAT and 116.67 of VAT recoverable.
    assert Decimal(report["vat"]["recoverable"]) == Decimal("116.67"), report
    assert report["unpaid"] == {"ttc": "700.00", "ht": "583.33", "vat": "116.67"}
    assert report["treatment"] == "loss" and report["totals"]["balanced"]
    async with service.client("operator") as operator:
        case = (await operator.get(f"/v1/cases/{case_id}")).json()
    assert [e["kind"] for e in case["write_off_evidence"]] == ["liquidator_certificate"]
    assert any(j["type"] == "WriteOffEvidence" for j in case["journal"])

    async with service.client("auditor") as auditor:
        reads = (await auditor.get("/v1/audit/reads", params={"case_id": case_id})).json()
    assert "write_off_report" in str(reads), "the auditor's read is recorded"
    as_csv = await _report(service, case_id, vat_exigibility="debits", vat_rate="20", format="csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text), delimiter=";"))
    accounts = {row[2] for row in rows[1:]}
    assert {"654", "44571", "411"} <= accounts, rows

    def cents(text: str) -> Decimal:
        return Decimal(text.replace(" ", "").replace(",", ".") or "0")

    assert sum(cents(r[4]) for r in rows[1:]) == sum(cents(r[5]) for r in rows[1:]), "balanced"


async def test_without_proof_of_irrecoverability_only_a_provision_and_no_vat(
    service: Service,
) -> None:
    evidence = [{"kind": "unanswered_reminder", "on": "2026-11-10"}]
    case_id, position = await _closed_case(service, evidence)
    params = {"vat_exigibility": "debits", "vat_rate": "20", "after_position": position}
    response = await _report(service, case_id, **params)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["treatment"] == "provision", report
    assert Decimal(report["vat"]["recoverable"]) == 0


async def test_the_report_needs_a_written_off_case_and_the_vat_basis(service: Service) -> None:
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=invoice_payload())
    case_id = created.json()["case_id"]
    open_case = await _report(service, case_id, vat_exigibility="debits", vat_rate="20")
    assert open_case.status_code == 409, open_case.text
    no_vat = await _report(service, case_id, vat_exigibility="debits")
    assert no_vat.status_code == 422 and "vat_rate" in no_vat.text
    async with service.client("operator") as operator:
        wrong = await operator.post(
            f"/v1/cases/{case_id}/close",
            json={
                "outcome": "cancelled",
                "reason": "annulée",
                "evidence": [{"kind": "dispute", "on": "2026-11-10"}],
            },
        )
    assert wrong.status_code == 422 and "evidence" in wrong.text
