"""Who may do what, and how bad input is answered: 401/403/404/422, never a 500."""

from __future__ import annotations

import json
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
        # Bounds (schemas/bounds.py): PostgreSQL's numeric(16, 2) and the date window.
        ("amount_due", "1000000000.00"),
        ("amount_due", "99999999999999999999.99"),
        ("amount_due", "1e30"),
        ("amount_due", "9" * 5000),
        ("issue_date", "1999-12-31"),
        ("due_date", "2101-01-01"),
        ("due_date", "9999-12-31"),
        ("invoice_number", "F" * 65),
        ("debtor.name", "N" * 201),
        ("debtor.name", "   "),
        ("debtor.email", "a" * 250 + "@b.fr"),
        ("debtor.siren", "7" * 40),
        ("debtor.address.line1", "L" * 201),
        ("debtor.address.city", ""),
        ("debtor.name", "Durand\u0000SARL"),  # PostgreSQL cannot store U+0000
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
    assert (moved.json()["policy_id"], moved.json()["policy_version"]) == ("demo", 3)


async def test_the_bounds_themselves_are_accepted(service: Service) -> None:
    body = invoice_payload(
        amount_due="999999999.99", issue_date="2000-01-01", due_date="2100-12-31"
    )
    body["debtor"]["name"] = "N" * 200
    async with service.client("erp") as erp:
        response = await erp.post("/v1/invoices", json=body)
        assert response.status_code == 201, response.text
        case_id = response.json()["case_id"]
        smallest = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "0.01", "paid_on": "2026-11-02", "reference": "R" * 100},
        )
    assert smallest.status_code == 200, smallest.text
    assert smallest.json()["balance"] == "999999999.98"


@pytest.mark.parametrize(
    ("path", "who", "body", "field"),
    [
        (
            "payments",
            "erp",
            {"amount": "1000000000.00", "paid_on": "2026-11-02", "reference": "X"},
            "amount",
        ),
        (
            "payments",
            "erp",
            {"amount": "1.00", "paid_on": "2026-11-02", "reference": "X" * 101},
            "reference",
        ),
        (
            "credit-notes",
            "erp",
            {"amount": "1" * 30, "reference": "AV-1", "issued_on": "2026-11-02"},
            "amount",
        ),
        (
            "credit-notes",
            "erp",
            {"amount": "1.00", "reference": "AV-1", "issued_on": "1999-12-31"},
            "issued_on",
        ),
        ("promises", "erp", {"promised_on": "9999-12-31"}, "promised_on"),
        ("promises", "erp", {"promised_on": "2026-12-01", "note": "n" * 501}, "note"),
        ("disputes", "erp", {"reason": ""}, "reason"),
        ("disputes", "erp", {"reason": "r" * 501}, "reason"),
        ("pause", "operator", {"reason": "  "}, "reason"),
        ("pause", "operator", {"reason": "on hold\u0000"}, "reason"),
        ("disputes", "erp", {"reason": "\ud800"}, "reason"),
        ("resume", "operator", {"reason": ""}, "reason"),
        ("resume", "operator", {"reason": "r" * 501}, "reason"),
        (
            "insolvency",
            "operator",
            {
                "published_on": "2026-11-02",
                "proceeding": "sauvegarde",
                "mandataire": "Me X",
                "court": "",
            },
            "court",
        ),
        (
            "insolvency",
            "operator",
            {"published_on": "2026-11-02", "proceeding": "sauvegarde", "mandataire": "M" * 201},
            "mandataire",
        ),
        ("close", "operator", {"outcome": "written_off", "reason": ""}, "reason"),
        (
            "partner-reports",
            "operator",
            {"status": "in_progress", "on": "2026-11-02", "report_id": "r" * 101},
            "report_id",
        ),
        (
            "einvoicing-status",
            "erp",
            {"code": 212, "reported_on": "2026-11-02", "amount": "1000000000"},
            "amount",
        ),
        (
            "einvoicing-status",
            "erp",
            {"code": 212, "reported_on": "2026-11-02", "status_id": ""},
            "status_id",
        ),
        ("phone-outcome", "operator", {"outcome": "dispute", "reason": " "}, "reason"),
        (
            "payment-plan",
            "operator",
            {
                "agreed_on": "2026-11-02",
                "instalments": [
                    {"due_on": f"2027-{m:02d}-01", "amount": "1.00"} for m in range(1, 13)
                ]
                * 6,
            },
            "instalments",
        ),
        (
            "payment-plan",
            "operator",
            {
                "agreed_on": "2026-11-02",
                "instalments": [{"due_on": "2027-01-01", "amount": "1000000000.00"}],
            },
            "instalments.0.amount",
        ),
    ],
)
async def test_out_of_range_event_fields_are_422_naming_them(
    service: Service, path: str, who: str, body: dict[str, Any], field: str
) -> None:
    case_id = await _case_id(service)
    async with service.client(who) as client:
        response = await client.post(  # ASCII JSON: a lone surrogate travels as its escape
            f"/v1/cases/{case_id}/{path}",
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422, response.text
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert field in fields, response.json()


@pytest.mark.parametrize(
    ("path", "who", "body"),
    [
        ("disputes", "erp", {"reason": "contested", "by": "someone-else"}),
        ("pause", "operator", {"reason": "hold", "by": None}),
        ("resume", "operator", {"by": "operator@acme"}),
    ],
)
async def test_a_body_naming_by_is_refused(
    service: Service, path: str, who: str, body: dict[str, Any]
) -> None:
    """Who acted comes from the API key, never from the body."""
    case_id = await _case_id(service)
    async with service.client(who) as client:
        response = await client.post(f"/v1/cases/{case_id}/{path}", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["by"]


def _request_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas a request body may contain (followed through $ref)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    walk(spec["components"]["schemas"][name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in spec["paths"].values():
        for operation in item.values():
            walk(operation.get("requestBody", {}))
    return found


async def test_the_openapi_schema_states_the_bounds(service: Service) -> None:
    async with service.client(None) as client:
        spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    invoice = schemas["InvoiceIn"]["properties"]
    assert invoice["amount_due"]["x-maximum"] == "999999999.99"
    assert "999999999.99" in invoice["amount_due"]["description"]
    assert invoice["amount_due"]["maxLength"] == 12
    assert invoice["issue_date"]["formatMinimum"] == "2000-01-01"
    assert invoice["due_date"]["formatMaximum"] == "2100-12-31"
    assert invoice["invoice_number"]["maxLength"] == 64
    resume = schemas["OperatorResume"]["properties"]["reason"]
    assert (resume["minLength"], resume["maxLength"]) == (1, 500)
    requests = _request_schemas(spec)
    events = [name for name in requests if "type" in schemas[name].get("properties", {})]
    assert len(events) >= 14
    for name in events:
        assert "by" not in schemas[name]["properties"], f"{name} exposes by"
    for name in requests:
        for prop, field in schemas[name].get("properties", {}).items():
            for variant in [field, *field.get("anyOf", [])]:
                if "amount" in prop and variant.get("type") == "string":
                    assert variant.get("x-maximum") == "999999999.99", f"{name}.{prop}: no maximum"
                if variant.get("type") == "string" and "enum" not in variant:
                    bounded = any(k in variant for k in ("maxLength", "const"))
                    assert bounded, f"{name}.{prop} is a string with no maximum length"
                if variant.get("type") == "array":
                    assert "maxItems" in variant, f"{name}.{prop} is an unbounded list"
    links = spec["paths"]["/v1/invoices"]["post"]["responses"]["201"]["links"]
    assert links["getCase"]["parameters"] == {"case_id": "$response.body#/case_id"}
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert {link["operationId"] for link in links.values()} <= operation_ids


@pytest.mark.parametrize(
    "query",
    [
        {"min_balance": "1e20"},
        {"max_balance": "99999999999999999999.99"},
        {"debtor": "Durand\x00"},
        {"after_position": str(2**70)},
    ],
)
async def test_values_the_database_cannot_hold_are_never_a_500(
    service: Service, query: dict[str, str]
) -> None:
    """The last line of defence: a value PostgreSQL refuses as data (numeric overflow, NUL,
    out of range) is the caller's 422, even where a router forgot to bound it."""
    async with service.client("operator") as operator:
        response = await operator.get("/v1/cases", params=query)
    assert response.status_code in (200, 422, 503), response.text
    assert response.status_code != 503 or response.headers.get("retry-after"), response.text
