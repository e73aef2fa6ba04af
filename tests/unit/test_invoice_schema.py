"""What an ERP may send: every violation is refused with the field it concerns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.invoice import InvoiceIn
from tests.support.invoices import invoice_payload


def _errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        InvoiceIn.model_validate(body)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def test_the_issue_example_is_accepted_with_exact_amount() -> None:
    invoice = InvoiceIn.model_validate(invoice_payload(invoice_number="F-2026-0001"))
    assert invoice.amount_due == Decimal("1200.00")
    assert invoice.debtor.siren == "732829320"


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", "greater than 0"),
        ("-5.00", "greater than 0"),
        ("12.345", "at most 2 decimals"),
        ("douze", "decimal string"),
        (12.5, "not a number"),
        ("NaN", "finite"),
    ],
)
def test_bad_amounts_are_refused_naming_amount_due(amount: object, reason: str) -> None:
    errors = _errors(invoice_payload(amount_due=amount))
    assert len(errors) == 1
    field, message = errors[0]
    assert field == "amount_due"
    assert reason in message


def test_only_euros_are_accepted() -> None:
    assert _errors(invoice_payload(currency="USD"))[0][0] == "currency"


def test_business_debtor_needs_a_valid_siren() -> None:
    body = invoice_payload()
    body["debtor"]["siren"] = "732829321"  # checksum off by one
    field, message = _errors(body)[0]
    assert field == "debtor.siren"
    assert "SIREN" in message
    del body["debtor"]["siren"]
    assert "siren: required" in _errors(body)[0][1]


def test_consumer_debtor_needs_no_siren() -> None:
    body = invoice_payload()
    body["debtor"].update(kind="consumer", name="Jeanne Martin")
    del body["debtor"]["siren"]
    assert InvoiceIn.model_validate(body).debtor.siren is None


def test_debtor_kind_is_one_of_three() -> None:
    body = invoice_payload()
    body["debtor"]["kind"] = "government"
    assert _errors(body)[0][0] == "debtor.kind"


def test_due_date_before_issue_date_is_refused() -> None:
    errors = _errors(invoice_payload(issue_date="2026-10-01", due_date="2026-09-30"))
    assert "due_date: must not be before issue_date" in errors[0][1]


def test_unknown_fields_are_refused_rather_than_ignored() -> None:
    assert _errors(invoice_payload(amount="1.00"))[0][0] == "amount"


def test_content_hash_tells_a_retry_from_a_change() -> None:
    body = invoice_payload()
    same = InvoiceIn.model_validate(body).content_hash()
    assert InvoiceIn.model_validate(dict(body)).content_hash() == same
    assert InvoiceIn.model_validate({**body, "amount_due": "1200.01"}).content_hash() != same
