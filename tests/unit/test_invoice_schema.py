"""What an ERP may send: every violation is refused with the field it concerns."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.bounds import DATE_PATTERN, MAX_AMOUNT, MAX_DATE, MIN_DATE
from schemas.case_events import (
    CaseEventEnvelope,
    EInvoicingStatus,
    InsolvencyPublished,
    MigratePolicy,
    OperatorPause,
    OperatorResume,
    PartnerReport,
    PromiseToPay,
    RetryStep,
)
from schemas.invoice import InvoiceIn
from schemas.money import AMOUNT_PATTERN
from tests.support.invoices import invoice_payload


def _errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        InvoiceIn.model_validate(body)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def test_the_issue_example_is_accepted_with_exact_amount() -> None:
    example = InvoiceIn.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    invoice = InvoiceIn.model_validate(example)
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


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("1000000000.00", "at most 999999999.99"),
        ("999999999.991", "at most"),
        ("1e12", "at most 999999999.99"),
        ("9" * 100, "at most 999999999.99"),
        ("Infinity", "finite"),
    ],
)
def test_amounts_above_the_maximum_are_refused(amount: str, reason: str) -> None:
    field, message = _errors(invoice_payload(amount_due=amount))[0]
    assert field == "amount_due"
    assert reason in message


@pytest.mark.parametrize("amount", ["0.01", "999999999.99", "1e3", " 12.5 "])
def test_amounts_within_the_bounds_are_accepted(amount: str) -> None:
    parsed = InvoiceIn.model_validate(invoice_payload(amount_due=amount)).amount_due
    assert Decimal("0.01") <= parsed <= MAX_AMOUNT


def test_the_amount_pattern_and_the_parser_agree_on_the_bounds() -> None:
    for text in ("0.01", "0.1", "1", "10.5", "999999999.99"):
        assert re.fullmatch(AMOUNT_PATTERN, text), text
    for text in ("0", "0.00", "1000000000", "1.234", "-1", "01"):
        assert not re.fullmatch(AMOUNT_PATTERN, text), text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issue_date", "1999-12-31"),
        ("due_date", "2101-01-01"),
        ("due_date", "9999-12-31"),
    ],
)
def test_dates_outside_the_window_are_refused(field: str, value: str) -> None:
    errors = _errors(invoice_payload(**{field: value}))
    assert errors[0][0] == field
    assert "between 2000-01-01 and 2100-12-31" in errors[0][1]


def test_the_date_window_itself_is_accepted() -> None:
    invoice = InvoiceIn.model_validate(
        invoice_payload(issue_date=MIN_DATE.isoformat(), due_date=MAX_DATE.isoformat())
    )
    assert (invoice.issue_date, invoice.due_date) == (MIN_DATE, MAX_DATE)
    for day in (MIN_DATE, MAX_DATE):
        assert re.fullmatch(DATE_PATTERN, day.isoformat())
    assert not re.fullmatch(DATE_PATTERN, "2101-01-01")
    assert not re.fullmatch(DATE_PATTERN, "1999-12-31")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("debtor.name", "Durand\x00SARL"),
        ("debtor.address.city", "Pa\x00ris"),
        ("invoice_number", "F\x00"),
    ],
)
def test_nul_characters_are_refused_where_they_are(path: str, value: str) -> None:
    body = invoice_payload()
    target = body
    *parents, leaf = path.split(".")
    for part in parents:
        target = target[part]
    target[leaf] = value
    assert _errors(body)[0][0] == path


def test_events_refuse_what_their_domain_event_would_refuse() -> None:
    """Each API event is at least as strict as the domain event it becomes."""
    with pytest.raises(ValidationError):
        OperatorResume(reason="")
    with pytest.raises(ValidationError):
        OperatorResume(reason="  ")
    assert OperatorResume().reason == "resumed"
    with pytest.raises(ValidationError):
        InsolvencyPublished(
            published_on=date(2026, 1, 5), proceeding="sauvegarde", mandataire="Me X", court=""
        )
    with pytest.raises(ValidationError):
        OperatorPause(reason="on hold\x00")
    with pytest.raises(ValidationError):
        PromiseToPay(promised_on=date(9999, 12, 31))
    with pytest.raises(ValidationError):
        PartnerReport(status="in_progress", on=date(2026, 1, 5), report_id="x" * 101)


def test_events_keep_what_old_histories_hold() -> None:
    """The new fields are optional, so updates already in workflow histories still load."""
    old = {"type": "partner_report", "status": "in_progress", "on": "2026-01-05", "by": "p"}
    assert CaseEventEnvelope.model_validate({"event": old}).event.by == "p"
    status = {"type": "einvoicing_status", "code": 212, "reported_on": "2026-01-05"}
    event = CaseEventEnvelope.model_validate({"event": status}).event
    assert isinstance(event, EInvoicingStatus) and event.status_id is None
    retry = CaseEventEnvelope.model_validate({"event": {"type": "retry_step", "step": "lrar_1"}})
    assert isinstance(retry.event, RetryStep)
    with pytest.raises(ValidationError):
        RetryStep(step="Not A Key!")


def test_by_is_an_attribute_but_not_part_of_the_schema() -> None:
    for model in (OperatorPause, PromiseToPay, PartnerReport, RetryStep, MigratePolicy):
        assert "by" in model.model_fields
        assert "by" not in model.model_json_schema()["properties"]
    assert "policy" not in MigratePolicy.model_json_schema()["properties"]
