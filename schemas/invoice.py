"""The invoice an ERP posts: the only way a case starts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, EmailStr, Field, field_validator, model_validator
from stdnum.fr import siren as siren_check

from schemas.bounds import MAX_NAME, ApiModel, BoundedDate
from schemas.money import BoundedAmount


class DebtorKind(StrEnum):
    business = "business"
    consumer = "consumer"
    public = "public"


class Address(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        # The French rule below, stated for clients: in France (the default), 5 digits.
        json_schema_extra={
            "if": {"properties": {"country": {"const": "FR"}}},
            "then": {"properties": {"postal_code": {"pattern": r"^[0-9]{5}$"}}},
        },
    )

    line1: str = Field(min_length=1, max_length=MAX_NAME)
    line2: str | None = Field(default=None, max_length=MAX_NAME)
    postal_code: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(
        default="FR",
        min_length=2,
        max_length=2,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2",
    )

    @model_validator(mode="after")
    def _french_postal_code(self) -> Address:
        if self.country == "FR" and not (len(self.postal_code) == 5 and self.postal_code.isdigit()):
            raise ValueError("postal_code: a French postal code has 5 digits")
        return self


class Debtor(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        # The rule below, stated for clients: a business in France gives its SIREN, a
        # business abroad its VAT or registration number.
        json_schema_extra={
            "if": {
                "properties": {
                    "kind": {"const": "business"},
                    "address": {"properties": {"country": {"const": "FR"}}},
                }
            },
            "then": {"required": ["siren"]},
        },
    )

    kind: DebtorKind
    name: str = Field(min_length=1, max_length=MAX_NAME)
    siren: str | None = Field(
        default=None,
        min_length=9,
        max_length=11,
        pattern=r"^[0-9]{3}[ .]?[0-9]{3}[ .]?[0-9]{3}$",
        description="Required for business debtors: 9 digits with a valid Luhn checksum "
        "(spaces or dots between groups allowed, e.g. 732 829 320)",
    )
    vat_number: str | None = Field(
        default=None,
        min_length=4,
        max_length=20,
        pattern=r"^[A-Z]{2}[0-9A-Za-z+*.]{2,18}$",
        description="Intra-community VAT number (country prefix first): identifies a "
        "business debtor outside France",
    )
    registration_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=r"^[0-9A-Za-z][0-9A-Za-z ./-]*$",
        description="A foreign business's registration number, when it has no VAT number",
    )
    customer_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][\w./:-]*$",
        description="The ERP's own customer id: identifies the debtor when it has no SIREN",
    )
    email: Annotated[EmailStr, Field(max_length=254)]
    phone: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9 .()-]{6,20}$",
        max_length=21,
        description="Number an operator calls for the phone step",
    )
    address: Address

    @field_validator("siren")
    @classmethod
    def _siren_checksum(cls, value: str | None) -> str | None:
        if value is None:
            return None
        compact = siren_check.compact(value)
        if not siren_check.is_valid(compact):
            raise ValueError("not a valid SIREN (9 digits with a valid Luhn checksum)")
        return str(compact)

    @model_validator(mode="after")
    def _siren_for_business(self) -> Debtor:
        if self.kind is not DebtorKind.business or self.siren is not None:
            return self
        if self.address.country == "FR":
            raise ValueError("siren: required for a business debtor in France")
        if self.vat_number is None and self.registration_id is None:
            raise ValueError(
                "vat_number: a business debtor outside France gives its VAT number "
                "or its registration_id"
            )
        return self


MAX_INVOICE_FILE = 10 * 1024 * 1024
"""The largest invoice file the JSON intake takes (10 MiB)."""


class InvoiceFile(ApiModel):
    """The invoice as the ERP issued it (its PDF): kept as a document of the case, sealed
    with the debtor's key, and attached to the emails the policy marks (``attach_invoice``)."""

    media_type: Literal["application/pdf"] = "application/pdf"
    content_base64: str = Field(
        min_length=8,
        max_length=(MAX_INVOICE_FILE * 4) // 3 + 4,
        description="The PDF, base64-encoded (at most 10 MiB)",
    )

    @field_validator("content_base64")
    @classmethod
    def _a_pdf(cls, value: str) -> str:
        try:
            content = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        if not content.startswith(b"%PDF-"):
            raise ValueError("not a PDF (it must start with %PDF-)")
        return value

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class InvoiceIn(ApiModel):
    """Body of POST /v1/invoices."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "invoice_number": "F-2026-0001",
                    "issue_date": "2026-10-01",
                    "due_date": "2026-10-31",
                    "currency": "EUR",
                    "amount_due": "1200.00",
                    "debtor": {
                        "kind": "business",
                        "name": "Durand SARL",
                        "siren": "732829320",
                        "email": "compta@durand.example",
                        "address": {
                            "line1": "12 rue de la Paix",
                            "postal_code": "75002",
                            "city": "Paris",
                            "country": "FR",
                        },
                    },
                }
            ]
        },
    )

    invoice_number: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w./-]*$")
    issue_date: BoundedDate
    due_date: BoundedDate
    currency: Literal["EUR"] = Field(description="Only EUR for now")
    amount_due: BoundedAmount
    debtor: Debtor
    policy: str | None = Field(
        default=None,
        description="Collection policy id; by default the one for the debtor's kind",
        pattern=r"^[a-z0-9-]{1,64}$",
        max_length=64,
    )
    document: InvoiceFile | None = Field(
        default=None,
        description="The invoice's own file (PDF), attached to the reminders the policy marks",
    )

    @model_validator(mode="after")
    def _due_after_issue(self) -> InvoiceIn:
        if self.due_date < self.issue_date:
            raise ValueError("due_date: must not be before issue_date")
        return self

    def content_hash(self) -> str:
        """Stable hash of what the ERP sent, to tell a retry from a conflicting resend."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
