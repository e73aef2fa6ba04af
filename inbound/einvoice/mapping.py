"""From the business terms of an e-invoice to recouvre's models: an ``InvoiceIn`` to register,
or a ``CreditNote`` to apply to the case of the invoice it references (BT-25).

Debtor rule: a buyer with a legal registration id (BT-47) or a VAT id (BT-48) is a
``business``; any other buyer is a ``consumer``. A French business's SIREN comes from BT-47
(scheme 0002 SIREN, 0009 SIRET, or no scheme and 9 digits), else from its French VAT id.
A foreign business gives ``vat_number`` (BT-48) or ``registration_id`` (BT-47).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from inbound.einvoice.document import EInvoice, Found
from inbound.einvoice.errors import EInvoiceRejected, Problem
from inbound.einvoice.terms import Syntax
from schemas.case_events import CreditNote
from schemas.invoice import InvoiceIn

QUERY_FALLBACKS = {
    "due_date": "BT-9",
    "debtor_email": "BT-58",
    "debtor_address_line1": "BT-50",
    "debtor_address_postal_code": "BT-53",
    "debtor_address_city": "BT-52",
}
"""Query parameters that stand in for a business term the document does not carry (a
MINIMUM profile has no due date, buyer email or street address). The document wins."""
SIREN_SCHEME, SIRET_SCHEME, EMAIL_SCHEME = "0002", "0009", "EM"
_FRENCH_VAT = re.compile(r"^FR[0-9A-Z]{2}([0-9]{9})$")
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class CreditNoteFor:
    """A credit note to apply to the case of invoice ``invoice_number`` (BT-25)."""

    invoice_number: str
    event: CreditNote


class _Terms:
    """The document's terms, then the query's fallbacks; remembers where each came from."""

    def __init__(self, document: EInvoice, query: Mapping[str, str]) -> None:
        self.document = document
        self.query = query
        self.problems: list[Problem] = []
        self.sources: dict[str, str] = {
            "debtor.siren": document.where("BT-47"),
            "debtor.vat_number": document.where("BT-48"),
        }
        """InvoiceIn field path -> what an error on it names (the debtor's identity rules
        name BT-47 and BT-48 even when neither is present)."""

    def where(self, bt: str) -> str:
        return self.document.where(bt)

    def get(self, bt: str, field: str | None = None) -> Found | None:
        found = self.document.get(bt)
        source = self.where(bt)
        if found is None:
            for parameter, stands_for in QUERY_FALLBACKS.items():
                value = self.query.get(parameter, "").strip()
                if stands_for == bt and value:
                    found, source = Found(value), f"query {parameter}"
        if found is not None and field is not None:
            self.sources[field] = source
        return found

    def require(self, bt: str, field: str | None = None, hint: str = "") -> Found | None:
        found = self.get(bt, field)
        if found is None:
            self.refuse(bt, f"missing{hint}")
        return found

    def refuse(self, bt: str, message: str) -> None:
        self.problems.append(Problem(self.where(bt), message))

    def text(self, bt: str, field: str, hint: str = "") -> str | None:
        found = self.require(bt, field, hint)
        return found.value if found is not None else None

    def date(self, bt: str, field: str, hint: str = "") -> str | None:
        found = self.require(bt, field, hint)
        if found is None:
            return None
        text = found.value
        from_document = self.sources[field] == self.where(bt)
        if from_document and self.document.syntax is Syntax.cii:  # format 102: YYYYMMDD
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}" if re.fullmatch(r"[0-9]{8}", text) else ""
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            cii = from_document and self.document.syntax is Syntax.cii
            expected = "YYYYMMDD (format 102)" if cii else "YYYY-MM-DD"
            self.problems.append(
                Problem(self.sources[field], f"{found.value!r} is not a date {expected}")
            )
            return None

    def amount(self, bt: str, field: str) -> str | None:
        found = self.require(bt, field)
        if found is None:
            return None
        try:
            value = Decimal(found.value)
        except InvalidOperation:
            self.refuse(bt, f"{found.value!r} is not an amount")
            return None
        if not value.is_finite() or value <= 0:
            self.refuse(bt, f"nothing is due ({found.value}): nothing to collect")
            return None
        # XML amounts may carry trailing zeros ("100.000"): the API takes 2 decimals.
        return str(value.quantize(_CENT) if value == value.quantize(_CENT) else value)

    def euro(self) -> str | None:
        found = self.require("BT-5", "currency")
        if found is not None and found.value != "EUR":
            self.refuse("BT-5", f"only EUR is supported for now (got {found.value})")
            return None
        return found.value if found is not None else None

    def rejected(self) -> EInvoiceRejected:
        return EInvoiceRejected(self.problems)


def _siren_of(terms: _Terms, country: str) -> str | None:
    legal = terms.get("BT-47")
    if legal is not None:
        compact = re.sub(r"[ .]", "", legal.value)
        if legal.scheme == SIREN_SCHEME or (
            legal.scheme is None and country == "FR" and re.fullmatch(r"[0-9]{9}", compact)
        ):
            terms.sources["debtor.siren"] = terms.where("BT-47")
            return compact
        if legal.scheme == SIRET_SCHEME and re.fullmatch(r"[0-9]{14}", compact):
            terms.sources["debtor.siren"] = terms.where("BT-47")
            return compact[:9]  # a SIRET is the SIREN and a 5-digit establishment number
    vat = terms.get("BT-48")
    match = _FRENCH_VAT.match(vat.value.replace(" ", "")) if vat is not None else None
    if match is not None and country == "FR":
        terms.sources["debtor.siren"] = terms.where("BT-48")
        return match.group(1)
    return None


def _email(terms: _Terms) -> str | None:
    contact = terms.document.get("BT-58")
    address = terms.document.get("BT-49")
    if contact is not None:
        terms.sources["debtor.email"] = terms.where("BT-58")
        return contact.value
    if address is not None and (address.scheme or "").upper() == EMAIL_SCHEME:
        terms.sources["debtor.email"] = terms.where("BT-49")
        return address.value
    fallback = terms.get("BT-58", "debtor.email")
    if fallback is None:
        terms.refuse(
            "BT-58",
            "missing: the debtor needs an email, from BT-58, BT-49 (scheme EM) or the "
            "debtor_email query parameter",
        )
    return fallback.value if fallback is not None else None


def _debtor(terms: _Terms) -> dict[str, Any]:
    country_term = terms.get("BT-55", "debtor.address.country")
    country = country_term.value if country_term is not None else "FR"
    legal = terms.get("BT-47")
    vat = terms.get("BT-48")
    siren = _siren_of(terms, country)
    debtor: dict[str, Any] = {
        "kind": "business" if legal is not None or vat is not None else "consumer",
        "address": {"country": country},
    }
    terms.sources["debtor.kind"] = terms.where("BT-47")
    if siren is not None:
        debtor["siren"] = siren
    elif legal is not None:
        debtor["registration_id"] = legal.value
        terms.sources["debtor.registration_id"] = terms.where("BT-47")
    if vat is not None and country != "FR":
        debtor["vat_number"] = vat.value.replace(" ", "")
        terms.sources["debtor.vat_number"] = terms.where("BT-48")
    simple = {
        "name": "BT-44",
        "customer_id": "BT-46",
        "phone": "BT-57",
    }
    for field, bt in simple.items():
        found = (
            terms.require(bt, f"debtor.{field}")
            if field == "name"
            else terms.get(bt, f"debtor.{field}")
        )
        if found is not None:
            debtor[field] = found.value
    email = _email(terms)
    if email is not None:
        debtor["email"] = email
    address = {"line1": "BT-50", "line2": "BT-51", "city": "BT-52", "postal_code": "BT-53"}
    for field, bt in address.items():
        path = f"debtor.address.{field}"
        found = terms.get(bt, path) if field == "line2" else terms.require(bt, path)
        if found is not None:
            debtor["address"][field] = found.value
    return debtor


def _field_path(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid"))
    match = _FIELD_PREFIX.match(message)
    if match:  # a model rule naming its field, e.g. "siren: required for ..."
        loc.append(match.group(1))
        message = match.group(2)
    return ".".join(loc), message.removeprefix("Value error, ")


def _validated(model: Any, data: dict[str, Any], terms: _Terms) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            path, message = _field_path(error)
            where = terms.sources.get(path)
            if where is None:  # a rule on a parent names the first term under it
                where = next((s for f, s in terms.sources.items() if f.startswith(path)), "body")
            terms.problems.append(Problem(where, message))
        raise terms.rejected() from None


def to_invoice(document: EInvoice, query: Mapping[str, str]) -> InvoiceIn:
    """The invoice to register; EInvoiceRejected names every term that is missing or invalid.

    ``query`` may give ``due_date`` and the other QUERY_FALLBACKS, and ``policy``."""
    terms = _Terms(document, query)
    no_due = f": this {document.profile} document has none; send ?due_date=YYYY-MM-DD"
    data: dict[str, Any] = {
        "invoice_number": terms.text("BT-1", "invoice_number"),
        "issue_date": terms.date("BT-2", "issue_date"),
        "due_date": terms.date("BT-9", "due_date", hint=no_due),
        "currency": terms.euro(),
        "amount_due": terms.amount("BT-115", "amount_due"),
        "debtor": _debtor(terms),
    }
    if query.get("policy"):
        data["policy"] = query["policy"]
        terms.sources["policy"] = "query policy"
    if terms.problems:
        raise terms.rejected()
    invoice: InvoiceIn = _validated(InvoiceIn, data, terms)
    return invoice


def to_credit_note(document: EInvoice) -> CreditNoteFor:
    """The credit (BT-115, the amount still to credit) and the invoice it applies to."""
    terms = _Terms(document, {})
    preceding = terms.require("BT-25", hint=": a credit note must reference the invoice it credits")
    data: dict[str, Any] = {
        "reference": terms.text("BT-1", "reference"),
        "issued_on": terms.date("BT-2", "issued_on"),
        "amount": terms.amount("BT-115", "amount"),
    }
    terms.euro()
    if terms.problems or preceding is None:
        raise terms.rejected()
    event: CreditNote = _validated(CreditNote, data, terms)
    return CreditNoteFor(preceding.value, event)
