"""The EN 16931 business terms recouvre reads, with their XPath in each syntax.

Paths are relative to the document's root element (UBL ``Invoice`` or ``CreditNote``, CII
``CrossIndustryInvoice``); ``xpath`` gives the absolute form errors show.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Syntax(StrEnum):
    ubl_invoice = "ubl-invoice"
    ubl_credit_note = "ubl-credit-note"
    cii = "cii"


NAMESPACES = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
ROOTS = {
    Syntax.ubl_invoice: "/ubl:Invoice",
    Syntax.ubl_credit_note: "/cn:CreditNote",
    Syntax.cii: "/rsm:CrossIndustryInvoice",
}

_TX = "rsm:SupplyChainTradeTransaction"
_BUYER = f"{_TX}/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"
_SELLER = f"{_TX}/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
_SETTLEMENT = f"{_TX}/ram:ApplicableHeaderTradeSettlement"
_TOTALS = f"{_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_BUYER_ADDRESS = f"{_BUYER}/ram:PostalTradeAddress"
_CUSTOMER = "cac:AccountingCustomerParty/cac:Party"
_ADDRESS = f"{_CUSTOMER}/cac:PostalAddress"


@dataclass(frozen=True)
class Term:
    """One business term: its id, its EN 16931 name and where each syntax keeps it."""

    bt: str
    name: str
    ubl: str
    cii: str
    ubl_credit_note: str | None = None
    """Where a UBL CreditNote keeps it, when not where an Invoice does."""

    def path(self, syntax: Syntax) -> str:
        """The path relative to the root element, for evaluation."""
        if syntax is Syntax.cii:
            return self.cii
        if syntax is Syntax.ubl_credit_note and self.ubl_credit_note is not None:
            return self.ubl_credit_note
        return self.ubl

    def xpath(self, syntax: Syntax) -> str:
        """The absolute path, as errors name it."""
        return f"{ROOTS[syntax]}/{self.path(syntax)}"

    def where(self, syntax: Syntax) -> str:
        """``"BT-9 /rsm:CrossIndustryInvoice/..."``: the field an error names."""
        return f"{self.bt} {self.xpath(syntax)}"


def _terms(*terms: Term) -> dict[str, Term]:
    return {term.bt: term for term in terms}


TERMS = _terms(
    Term("BT-1", "Invoice number", "cbc:ID", "rsm:ExchangedDocument/ram:ID"),
    Term(
        "BT-2",
        "Invoice issue date",
        "cbc:IssueDate",
        "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
    ),
    Term(
        "BT-3",
        "Invoice type code",
        "cbc:InvoiceTypeCode",
        "rsm:ExchangedDocument/ram:TypeCode",
        ubl_credit_note="cbc:CreditNoteTypeCode",
    ),
    Term(
        "BT-5",
        "Invoice currency code",
        "cbc:DocumentCurrencyCode",
        f"{_SETTLEMENT}/ram:InvoiceCurrencyCode",
    ),
    Term(
        "BT-9",
        "Payment due date",
        "cbc:DueDate",
        f"{_SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
        ubl_credit_note="cac:PaymentMeans/cbc:PaymentDueDate",
    ),
    Term(
        "BT-24",
        "Specification identifier",
        "cbc:CustomizationID",
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
    ),
    Term(
        "BT-25",
        "Preceding Invoice reference",
        "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
        f"{_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID",
    ),
    Term(
        "BT-30",
        "Seller legal registration identifier",
        "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
        f"{_SELLER}/ram:SpecifiedLegalOrganization/ram:ID",
    ),
    Term(
        "BT-44",
        "Buyer name",
        f"{_CUSTOMER}/cac:PartyLegalEntity/cbc:RegistrationName",
        f"{_BUYER}/ram:Name",
    ),
    Term(
        "BT-46",
        "Buyer identifier",
        f"{_CUSTOMER}/cac:PartyIdentification/cbc:ID",
        f"{_BUYER}/ram:ID",
    ),
    Term(
        "BT-47",
        "Buyer legal registration identifier",
        f"{_CUSTOMER}/cac:PartyLegalEntity/cbc:CompanyID",
        f"{_BUYER}/ram:SpecifiedLegalOrganization/ram:ID",
    ),
    Term(
        "BT-48",
        "Buyer VAT identifier",
        f"{_CUSTOMER}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
        f"{_BUYER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",
    ),
    Term(
        "BT-49",
        "Buyer electronic address",
        f"{_CUSTOMER}/cbc:EndpointID",
        f"{_BUYER}/ram:URIUniversalCommunication/ram:URIID",
    ),
    Term(
        "BT-50",
        "Buyer address line 1",
        f"{_ADDRESS}/cbc:StreetName",
        f"{_BUYER_ADDRESS}/ram:LineOne",
    ),
    Term(
        "BT-51",
        "Buyer address line 2",
        f"{_ADDRESS}/cbc:AdditionalStreetName",
        f"{_BUYER_ADDRESS}/ram:LineTwo",
    ),
    Term("BT-52", "Buyer city", f"{_ADDRESS}/cbc:CityName", f"{_BUYER_ADDRESS}/ram:CityName"),
    Term(
        "BT-53",
        "Buyer post code",
        f"{_ADDRESS}/cbc:PostalZone",
        f"{_BUYER_ADDRESS}/ram:PostcodeCode",
    ),
    Term(
        "BT-55",
        "Buyer country code",
        f"{_ADDRESS}/cac:Country/cbc:IdentificationCode",
        f"{_BUYER_ADDRESS}/ram:CountryID",
    ),
    Term(
        "BT-57",
        "Buyer contact telephone number",
        f"{_CUSTOMER}/cac:Contact/cbc:Telephone",
        f"{_BUYER}/ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber",
    ),
    Term(
        "BT-58",
        "Buyer contact email address",
        f"{_CUSTOMER}/cac:Contact/cbc:ElectronicMail",
        f"{_BUYER}/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID",
    ),
    Term(
        "BT-112",
        "Invoice total amount with VAT",
        "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
        f"{_TOTALS}/ram:GrandTotalAmount",
    ),
    Term(
        "BT-113",
        "Paid amount",
        "cac:LegalMonetaryTotal/cbc:PrepaidAmount",
        f"{_TOTALS}/ram:TotalPrepaidAmount",
    ),
    Term(
        "BT-115",
        "Amount due for payment",
        "cac:LegalMonetaryTotal/cbc:PayableAmount",
        f"{_TOTALS}/ram:DuePayableAmount",
    ),
)
CREDIT_NOTE_TYPE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)
"""UNTDID 1001 codes EN 16931 lists as credit notes (BT-3); 381 is the usual one."""
