"""Who may do what, and how bad input is answered: 401/403/404/422, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload

PAYMENT = {"amount": "1.00", "paid_on": "2026-11-02", "reference": "VIR-AUTH"}


async def _case_id(service: Service) -> str:
    async with service.client("erp") as erp:
        response = await erp.post("/v1/invoices", json=invoice_payload())
    assert response.status_code == 201
    case_id: str = response.json()["case_id"]
    return case_id


@pytest.mark.parametrize(
    ("who", "expected"),
    [(None, 401), ("operator", 403), ("auditor", 403), ("erp", 201)],
)
async def test_only_erp_keys_register_invoices(
    service: Service, who: str | None, expected: int
) -> None:
    async with service.client(who) as client:
        response = await client.post("/v1/invoices", json=invoice_payload())
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["error"]["code"] in {"unauthorized", "forbidden"}


async def test_unknown_key_is_401_with_a_bearer_challenge(service: Service) -> None:
    async with service.client(None) as client:
        response = await client.get(
            "/v1/cases/x", headers={"Authorization": "Bearer not-a-real-key-000000"}
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_reading_and_paying_follow_the_role_matrix(service: Service) -> None:
    case_id = await _case_id(service)
    expectations: list[tuple[str, str, str, dict[str, Any] | None, int]] = [
        ("erp", "GET", f"/v1/cases/{case_id}", None, 403),
        ("operator", "GET", f"/v1/cases/{case_id}", None, 200),
        ("auditor", "GET", f"/v1/cases/{case_id}", None, 200),
        ("auditor", "POST", f"/v1/cases/{case_id}/payments", PAYMENT, 403),
        ("erp", "POST", f"/v1/cases/{case_id}/payments", PAYMENT, 200),
        ("operator", "POST", f"/v1/cases/{case_id}/payments", {**PAYMENT, "reference": "V2"}, 200),
    ]
    for who, method, path, body, expected in expectations:
        async with service.client(who) as client:
            response = await client.request(method, path, json=body)
        assert response.status_code == expected, (who, method, path, response.text)


async def test_another_tenants_case_does_not_exist_for_you(service: Service) -> None:
    case_id = await _case_id(service)
    async with service.client("other_operator") as other:
        read = await other.get(f"/v1/cases/{case_id}")
    async with service.client("other_erp") as other:
        paid = await other.post(f"/v1/cases/{case_id}/payments", json=PAYMENT)
    assert read.status_code == 404
    assert paid.status_code == 404
    assert read.json()["error"]["code"] == "not_found"


def _invalid(field_path: str, value: object) -> dict[str, Any]:
    body = invoice_payload()
    target = body
    *parents, leaf = field_path.split(".")
    for part in parents:
        target = target[part]
    target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_due", "0.00"),
        ("amount_due", "10.001"),
        ("amount_due", 10),
        ("currency", "USD"),
        ("due_date", "2026-02-30"),
        ("issue_date", "yesterday"),
        ("debtor.kind", "alien"),
        ("debtor.siren", "123456789"),
        ("debtor.email", "not-an-email"),
        ("debtor.address.postal_code", "7500"),
        ("policy", "no-such-policy"),
        ("invoice_number", ""),
    ],
)
async def test_each_invalid_field_is_a_422_naming_it(
    service: Service, field: str, value: object
) -> None:
    async with service.client("erp") as erp:
        response = await erp.post("/v1/invoices", json=_invalid(field, value))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]], error
    assert field in error["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b"null", b'"text"', b'{"invoice_number": 12}', "é".encode("latin-1")],
)
async def test_malformed_bodies_are_422_not_500(service: Service, raw: bytes) -> None:
    async with service.client("erp") as erp:
        response = await erp.post(
            "/v1/invoices", content=raw, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert "error" in response.json()


async def test_payment_input_errors_name_their_field(service: Service) -> None:
    case_id = await _case_id(service)
    async with service.client("erp") as erp:
        future = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "1.00", "paid_on": "2999-01-01", "reference": "VIR-F"},
        )
        negative = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "-1.00", "paid_on": "2026-11-01", "reference": "VIR-N"},
        )
        missing = await erp.post(f"/v1/cases/{case_id}/payments", json={"amount": "1.00"})
    assert future.status_code == 422 and future.json()["error"]["details"][0]["field"] == "paid_on"
    assert negative.status_code == 422
    assert negative.json()["error"]["details"][0]["field"] == "amount"
    assert missing.status_code == 422
    assert {d["field"] for d in missing.json()["error"]["details"]} == {"paid_on", "reference"}


async def test_policy_migration_refuses_unknown_and_same_versions(service: Service) -> None:
    case_id = await _case_id(service)
    async with service.client("operator") as operator:
        unknown = await operator.post(
            f"/v1/cases/{case_id}/policy", json={"policy_id": "nope", "reason": "test"}
        )
        same = await operator.post(
            f"/v1/cases/{case_id}/policy",
            json={"policy_id": "fr-b2b-standard", "reason": "already on it"},
        )
        moved = await operator.post(
            f"/v1/cases/{case_id}/policy", json={"policy_id": "demo", "reason": "démo"}
        )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "policy_id"
    assert same.status_code == 409, same.text
    assert moved.status_code == 200, moved.text
    assert (moved.json()["policy_id"], moved.json()["policy_version"]) == ("demo", 2)
