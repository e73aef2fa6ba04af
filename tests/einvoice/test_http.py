"""E-invoices posted as they are to POST /v1/invoices on the real stack (API, worker on the
Temporal dev server, PostgreSQL): each opens a case with the right amount and due date, and
a credit note lowers the balance of the case of the invoice it references."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.einvoice.documents import Doc, cii, facturx_pdf, ubl
from tests.support.service import Service

pytestmark = pytest.mark.e2e

PDF = {"Content-Type": "application/pdf"}
XML = {"Content-Type": "application/xml"}


async def _post(
    service: Service, content: bytes, headers: dict[str, str], **query: str
) -> tuple[int, dict[str, Any]]:
    async with service.client("erp") as erp:
        response = await erp.post("/v1/invoices", content=content, headers=headers, params=query)
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def _case(service: Service, case_id: str) -> dict[str, Any]:
    async with service.client("operator") as operator:
        response = await operator.get(f"/v1/cases/{case_id}")
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


def _fields(body: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in body["error"]["details"]]


@pytest.mark.parametrize(
    ("syntax", "headers"),
    [
        ("facturx", PDF),
        ("ubl", XML),
        ("ubl", {"Content-Type": "application/vnd.oasis.ubl+xml"}),
        ("cii", {"Content-Type": "text/xml; charset=utf-8"}),
    ],
)
async def test_an_e_invoice_opens_a_case_and_its_credit_note_lowers_the_balance(
    service: Service, syntax: str, headers: dict[str, str]
) -> None:
    render = {"facturx": facturx_pdf, "ubl": ubl, "cii": cii}[syntax]
    invoice = Doc(prepaid=Decimal("200.00"), due="2026-11-30")  # 1200.00 - 200.00 prepaid
    status, created = await _post(service, render(invoice), headers)
    assert status == 201, created
    case = await _case(service, created["case_id"])
    assert (case["invoice_number"], case["amount_due"], case["balance"]) == (
        invoice.number,
        "1000.00",
        "1000.00",
    )
    assert case["due_date"] == "2026-11-30"

    status, again = await _post(service, render(invoice), headers)
    assert (status, again["case_id"]) == (200, created["case_id"]), "a retry is the same case"

    note = invoice.credit_note("250.00")  # 300.00 with VAT
    status, acked = await _post(service, render(note), headers)
    assert status == 200, acked
    assert (acked["case_id"], acked["balance"]) == (created["case_id"], "700.00")


async def test_a_minimum_factur_x_needs_its_due_date_in_the_query(service: Service) -> None:
    pdf = facturx_pdf(Doc(), "minimum")
    status, refused = await _post(service, pdf, PDF)
    assert status == 422
    bt9 = [field for field in _fields(refused) if field.startswith("BT-9 ")]
    assert bt9 == [
        "BT-9 /rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms/"
        "ram:DueDateDateTime/udt:DateTimeString"
    ]
    status, created = await _post(
        service,
        pdf,
        PDF,
        due_date="2026-12-15",
        debtor_email="compta@durand.example",
        debtor_address_line1="12 rue de la Paix",
        debtor_address_postal_code="75002",
        debtor_address_city="Paris",
    )
    assert status == 201, created
    case = await _case(service, created["case_id"])
    assert (case["amount_due"], case["due_date"]) == ("1200.00", "2026-12-15")


async def test_a_credit_note_for_an_unknown_invoice_names_bt25(service: Service) -> None:
    note = Doc().credit_note("10.00")  # its invoice was never registered
    status, refused = await _post(service, ubl(note), XML)
    assert status == 422
    assert _fields(refused) == [
        "BT-25 /cn:CreditNote/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
    ]
    assert "no case for invoice" in refused["error"]["message"]


async def test_a_credit_note_beyond_the_balance_names_bt115(service: Service) -> None:
    invoice = Doc()
    status, _ = await _post(service, cii(invoice), XML)
    assert status == 201
    status, refused = await _post(service, cii(invoice.credit_note("5000.00")), XML)
    assert status == 422, refused
    assert _fields(refused)[0].startswith("BT-115 /rsm:CrossIndustryInvoice/")


async def test_a_foreign_currency_is_refused_naming_bt5(service: Service) -> None:
    status, refused = await _post(service, ubl(Doc(currency="USD")), XML)
    assert status == 422
    assert _fields(refused) == ["BT-5 /ubl:Invoice/cbc:DocumentCurrencyCode"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"\x00\x01garbage", PDF),
        (b"%PDF-1.7\n%broken", PDF),
        (b"<Invoice/>", XML),
        (b"{}", XML),
    ],
)
async def test_an_unreadable_e_invoice_is_a_422_on_body(
    service: Service, content: bytes, headers: dict[str, str]
) -> None:
    status, refused = await _post(service, content, headers)
    assert (status, _fields(refused)) == (422, ["body"]), refused


async def test_an_e_invoice_needs_an_erp_key(service: Service) -> None:
    async with service.client("operator") as operator:
        response = await operator.post("/v1/invoices", content=ubl(Doc()), headers=XML)
    assert response.status_code == 403


async def test_other_media_types_still_take_the_json_path(service: Service) -> None:
    async with service.client("erp") as erp:
        plain = {"Content-Type": "text/plain"}
        response = await erp.post("/v1/invoices", content=b"<x/>", headers=plain)
    assert response.status_code == 422
    assert not response.json()["error"]["details"][0]["field"].startswith("BT-")


async def test_the_openapi_lists_the_e_invoice_media_types(service: Service) -> None:
    async with service.client(None) as client:
        spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/invoices"]["post"]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/InvoiceIn"}
    assert {"application/xml", "text/xml", "application/pdf"} <= set(content)
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert "registerEInvoice" not in operation_ids
