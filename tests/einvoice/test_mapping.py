"""From e-invoice bytes to InvoiceIn / CreditNote: what each business term becomes, and how a
missing or invalid one is refused (naming the BT and its XPath). No server needed."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from inbound.einvoice.errors import EInvoiceRejected
from inbound.einvoice.mapping import to_credit_note, to_invoice
from inbound.einvoice.parse import einvoice_media_type, parse_einvoice
from inbound.einvoice.seller import check_seller_siren
from inbound.einvoice.terms import TERMS, Syntax
from schemas.invoice import DebtorKind, InvoiceIn
from tests.einvoice.documents import (
    CONSUMER,
    FOREIGN_BUYER,
    LEVEL_IDS,
    SELLER_SIREN,
    Buyer,
    Doc,
    cii,
    facturx_pdf,
    ubl,
)

XML = "application/xml"
CII_BT9 = (
    "BT-9 /rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
    "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms/"
    "ram:DueDateDateTime/udt:DateTimeString"
)


def _invoice(content: bytes, media_type: str = XML, **query: str) -> InvoiceIn:
    return to_invoice(parse_einvoice(content, media_type), query)


def _refused(content: bytes, media_type: str = XML, **query: str) -> dict[str, str]:
    """{field: message} of the 422 the document gets."""
    with pytest.raises(EInvoiceRejected) as refused:
        document = parse_einvoice(content, media_type)
        if document.is_credit_note:
            to_credit_note(document)
        else:
            to_invoice(document, query)
    return {p.where: p.message for p in refused.value.problems}


def _where(bt: str, syntax: Syntax = Syntax.cii) -> str:
    return TERMS[bt].where(syntax)


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
def test_every_business_term_lands_on_its_field(syntax: str) -> None:
    doc = Doc()
    invoice = _invoice(ubl(doc) if syntax == "ubl" else cii(doc))
    assert invoice.invoice_number == doc.number
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 10, 1), date(2026, 10, 31))
    assert (invoice.currency, invoice.amount_due) == ("EUR", Decimal("1200.00"))
    debtor = invoice.debtor
    assert (debtor.kind, debtor.name, debtor.siren) == (
        DebtorKind.business,
        "Durand SARL",
        "443061841",
    )
    assert (debtor.customer_id, debtor.email, debtor.phone) == (
        "CUST-0042",
        "compta@durand.example",
        "+33 1 23 45 67 89",
    )
    address = debtor.address
    assert (address.line1, address.line2, address.city, address.postal_code, address.country) == (
        "12 rue de la Paix",
        "Bâtiment B",
        "Paris",
        "75002",
        "FR",
    )
    assert debtor.vat_number is None and debtor.registration_id is None


@pytest.mark.parametrize("syntax", ["ubl", "cii", "facturx"])
def test_the_amount_due_is_bt115_so_prepaid_amounts_count(syntax: str) -> None:
    doc = Doc(prepaid=Decimal("200.00"))  # 1200.00 with VAT, 200.00 paid on order
    content = {"ubl": ubl, "cii": cii, "facturx": facturx_pdf}[syntax](doc)
    media_type = "application/pdf" if syntax == "facturx" else XML
    assert _invoice(content, media_type).amount_due == Decimal("1000.00")


@pytest.mark.parametrize("level", list(LEVEL_IDS))
def test_every_factur_x_level_is_read(level: str) -> None:
    query = {"due_date": "2026-11-15"} if level == "minimum" else {}
    if level == "minimum":  # no email, no street address in MINIMUM
        query |= {
            "debtor_email": "compta@durand.example",
            "debtor_address_line1": "12 rue de la Paix",
            "debtor_address_postal_code": "75002",
            "debtor_address_city": "Paris",
        }
    document = parse_einvoice(facturx_pdf(Doc(), level), "application/pdf")
    assert document.profile == level
    invoice = to_invoice(document, query)
    assert invoice.amount_due == Decimal("1200.00")
    assert invoice.debtor.siren == "443061841"
    expected = date(2026, 11, 15) if level == "minimum" else date(2026, 10, 31)
    assert invoice.due_date == expected


def test_minimum_without_due_date_names_bt9_and_the_query_parameter() -> None:
    problems = _refused(cii(Doc(), "minimum"))
    assert CII_BT9 in problems
    assert "due_date" in problems[CII_BT9]
    # MINIMUM carries no buyer email or street either: each is named.
    assert {_where(bt) for bt in ("BT-58", "BT-50", "BT-52", "BT-53")} <= set(problems)


def test_a_ubl_invoice_without_due_date_names_its_xpath() -> None:
    problems = _refused(ubl(Doc(due=None)))
    assert list(problems) == ["BT-9 /ubl:Invoice/cbc:DueDate"]


def test_a_bad_query_due_date_names_the_parameter() -> None:
    problems = _refused(ubl(Doc(due=None)), due_date="31/10/2026")
    assert list(problems) == ["query due_date"]


def test_a_foreign_business_gives_its_vat_number() -> None:
    invoice = _invoice(cii(Doc(buyer=FOREIGN_BUYER)))
    debtor = invoice.debtor
    assert (debtor.kind, debtor.siren, debtor.vat_number) == (
        DebtorKind.business,
        None,
        "DE123456789",
    )
    assert (debtor.address.country, debtor.address.postal_code) == ("DE", "10115")
    assert debtor.customer_id == "CUST-DE-7"


def test_a_foreign_business_with_a_registration_number_only() -> None:
    buyer = replace(FOREIGN_BUYER, vat=None, legal_id="HRB 12345", legal_scheme="0204")
    debtor = _invoice(ubl(Doc(buyer=buyer))).debtor
    assert (debtor.kind, debtor.registration_id, debtor.vat_number) == (
        DebtorKind.business,
        "HRB 12345",
        None,
    )


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
def test_a_buyer_without_ids_is_a_consumer_reached_at_its_electronic_address(
    syntax: str,
) -> None:
    content = ubl(Doc(buyer=CONSUMER)) if syntax == "ubl" else cii(Doc(buyer=CONSUMER), "basicwl")
    debtor = _invoice(content).debtor
    assert (debtor.kind, debtor.siren, debtor.email) == (
        DebtorKind.consumer,
        None,
        "jeanne@martin.example",
    )


def test_an_electronic_address_that_is_not_an_email_is_not_used_as_one() -> None:
    buyer = replace(CONSUMER, endpoint="443061841", endpoint_scheme="0225")
    problems = _refused(ubl(Doc(buyer=buyer)))
    assert list(problems) == [_where("BT-58", Syntax.ubl_invoice)]
    assert "BT-49 (scheme EM)" in problems[_where("BT-58", Syntax.ubl_invoice)]


def test_a_siret_gives_the_siren_and_a_french_vat_id_too() -> None:
    siret = replace(Buyer(), legal_id="44306184100047", legal_scheme="0009")
    assert _invoice(ubl(Doc(buyer=siret))).debtor.siren == "443061841"
    vat_only = replace(Buyer(), legal_id=None, legal_scheme=None, vat="FR83443061841")
    debtor = _invoice(cii(Doc(buyer=vat_only))).debtor
    assert (debtor.siren, debtor.vat_number) == ("443061841", None)


def test_an_invalid_siren_names_bt47() -> None:
    buyer = replace(Buyer(), legal_id="443061842")
    problems = _refused(cii(Doc(buyer=buyer)))
    assert list(problems) == [_where("BT-47")]
    assert "SIREN" in problems[_where("BT-47")]


def test_a_french_business_without_siren_names_bt47() -> None:
    buyer = replace(Buyer(), legal_id="3012345678901", legal_scheme="0088")  # a GLN
    problems = _refused(ubl(Doc(buyer=buyer)))
    assert list(problems) == [_where("BT-47", Syntax.ubl_invoice)]


def test_an_invalid_email_names_bt58() -> None:
    problems = _refused(cii(Doc(buyer=replace(Buyer(), email="not an email"))))
    assert list(problems) == [_where("BT-58")]


def test_a_bad_french_postal_code_names_bt53() -> None:
    problems = _refused(ubl(Doc(buyer=replace(Buyer(), postal_code="7500"))))
    assert list(problems) == [_where("BT-53", Syntax.ubl_invoice)]


def test_another_currency_is_refused_on_bt5() -> None:
    problems = _refused(cii(Doc(currency="USD")))
    assert problems == {_where("BT-5"): "only EUR is supported for now (got USD)"}


def test_a_fully_prepaid_invoice_has_nothing_to_collect() -> None:
    problems = _refused(ubl(Doc(prepaid=Decimal("1200.00"))))
    assert list(problems) == [_where("BT-115", Syntax.ubl_invoice)]


def test_a_due_date_before_the_issue_date_names_bt9() -> None:
    problems = _refused(cii(Doc(due="2026-09-01")))
    assert list(problems) == [CII_BT9]


@pytest.mark.parametrize("syntax", ["ubl", "cii", "facturx"])
def test_a_credit_note_names_the_invoice_it_credits(syntax: str) -> None:
    invoice = Doc()
    note = invoice.credit_note("100.00")
    content = {"ubl": ubl, "cii": cii, "facturx": facturx_pdf}[syntax](note)
    document = parse_einvoice(content, "application/pdf" if syntax == "facturx" else XML)
    assert document.is_credit_note
    credit = to_credit_note(document)
    assert credit.invoice_number == invoice.number
    assert (credit.event.amount, credit.event.reference, credit.event.issued_on) == (
        Decimal("120.00"),
        note.number,
        date(2026, 10, 1),
    )


def test_a_credit_note_without_preceding_invoice_names_bt25() -> None:
    note = replace(Doc().credit_note("100.00"), preceding=None)
    assert list(_refused(ubl(note))) == [
        "BT-25 /cn:CreditNote/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
    ]
    assert list(_refused(cii(note))) == [_where("BT-25")]


def test_the_original_file_is_kept_with_its_sha256() -> None:
    pdf = facturx_pdf(Doc())
    original = parse_einvoice(pdf, "application/pdf").original
    assert (original.content, original.media_type) == (pdf, "application/pdf")
    assert original.sha256 == hashlib.sha256(pdf).hexdigest()
    xml = ubl(Doc())
    assert parse_einvoice(xml, "text/xml").original.sha256 == hashlib.sha256(xml).hexdigest()


def test_the_seller_must_be_the_tenant_when_its_siren_is_known() -> None:
    document = parse_einvoice(cii(Doc()), XML)
    check_seller_siren(document, None)
    check_seller_siren(document, SELLER_SIREN)
    with pytest.raises(EInvoiceRejected) as refused:
        check_seller_siren(document, "443061841")
    assert refused.value.problems[0].where == _where("BT-30")


@pytest.mark.parametrize(
    ("content", "media_type", "says"),
    [
        (b"not xml", XML, "not well-formed XML"),
        (b"<html/>", XML, "neither a UBL 2.1"),
        (b"%PDF-1.4 garbage", "application/pdf", "readable PDF"),
        (b"\x00\xff" * 50, "application/pdf", "not a PDF"),
        (b"", XML, "not well-formed XML"),
    ],
)
def test_an_unreadable_body_is_refused_on_body(content: bytes, media_type: str, says: str) -> None:
    problems = _refused(content, media_type)
    assert list(problems) == ["body"] and says in problems["body"], problems


def test_a_pdf_without_factur_x_xml_is_refused() -> None:
    from tests.einvoice.documents import plain_pdf

    problems = _refused(plain_pdf("no XML here"), "application/pdf")
    assert "without a Factur-X" in problems["body"]


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
def test_a_document_that_fails_its_xsd_is_refused_with_the_reason(syntax: str) -> None:
    content = ubl(Doc()) if syntax == "ubl" else cii(Doc())
    # Currency before the number: out of the sequence both schemas require.
    if syntax == "ubl":
        broken = content.replace(
            b"<cbc:CustomizationID>", b"<cbc:Note>x</cbc:Note><cbc:CustomizationID>"
        )
    else:
        broken = content.replace(b"<ram:TypeCode>380", b"<ram:Name>x</ram:Name><ram:TypeCode>380")
    problems = _refused(broken)
    assert "(XSD)" in problems["body"], problems


def test_external_entities_are_never_read() -> None:
    content = (
        ubl(Doc())
        .replace(
            b"<Invoice ",
            b'<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]><Invoice ',
            1,
        )
        .replace(b"<cbc:ID>EI-", b"<cbc:ID>&x;EI-", 1)
    )
    with pytest.raises(EInvoiceRejected) as refused:
        to_invoice(parse_einvoice(content, XML), {})
    assert "root:" not in str(refused.value)


def test_media_types_choose_the_e_invoice_path() -> None:
    assert einvoice_media_type("application/xml; charset=utf-8") == "application/xml"
    assert einvoice_media_type("Text/XML") == "text/xml"
    assert einvoice_media_type("application/pdf") == "application/pdf"
    assert einvoice_media_type("application/json") is None
    assert einvoice_media_type(None) is None
