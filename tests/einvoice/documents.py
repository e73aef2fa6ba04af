"""E-invoices written for these tests (not the official examples): UBL 2.1, CII at every
Factur-X level, and Factur-X PDFs made with fpdf2 + the factur-x package."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from xml.sax.saxutils import escape

import facturx  # type: ignore[import-untyped]
from fpdf import FPDF

SELLER_SIREN = "732829320"
LEVEL_IDS = {
    "minimum": "urn:factur-x.eu:1p0:minimum",
    "basicwl": "urn:factur-x.eu:1p0:basicwl",
    "basic": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    "en16931": "urn:cen.eu:en16931:2017",
    "extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
}
UBL_NS = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)
CII_NS = (
    'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
    'xmlns:ram="urn:un:unece:uncefact:data:standard:'
    'ReusableAggregateBusinessInformationEntity:100" '
    'xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" '
    'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"'
)


@dataclass(frozen=True)
class Buyer:
    name: str = "Durand SARL"
    legal_id: str | None = "443061841"
    legal_scheme: str | None = "0002"
    vat: str | None = None
    buyer_id: str | None = "CUST-0042"
    endpoint: str | None = None
    endpoint_scheme: str | None = None
    email: str | None = "compta@durand.example"
    phone: str | None = "+33 1 23 45 67 89"
    line1: str | None = "12 rue de la Paix"
    line2: str | None = "Bâtiment B"
    city: str | None = "Paris"
    postal_code: str | None = "75002"
    country: str = "FR"


FOREIGN_BUYER = Buyer(
    name="Müller GmbH",
    legal_id=None,
    legal_scheme=None,
    vat="DE123456789",
    buyer_id="CUST-DE-7",
    email="buchhaltung@mueller.example",
    phone=None,
    line1="Hauptstraße 5",
    line2=None,
    city="Berlin",
    postal_code="10115",
    country="DE",
)
CONSUMER = Buyer(
    name="Jeanne Martin",
    legal_id=None,
    legal_scheme=None,
    buyer_id=None,
    email=None,
    endpoint="jeanne@martin.example",
    endpoint_scheme="EM",
    phone=None,
    line1="3 rue Neuve",
    line2=None,
    city="Lyon",
    postal_code="69001",
)


@dataclass(frozen=True)
class Doc:
    number: str = field(default_factory=lambda: f"EI-{uuid.uuid4().hex[:10]}")
    issue: str = "2026-10-01"
    due: str | None = "2026-10-31"
    currency: str = "EUR"
    net: Decimal = Decimal("1000.00")
    vat_rate: Decimal = Decimal("20")
    prepaid: Decimal = Decimal("0.00")
    buyer: Buyer = field(default_factory=Buyer)
    seller_siren: str = SELLER_SIREN
    type_code: str = "380"
    preceding: str | None = None
    """BT-25: the invoice a credit note credits."""

    @property
    def tax(self) -> Decimal:
        return (self.net * self.vat_rate / 100).quantize(Decimal("0.01"))

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    @property
    def payable(self) -> Decimal:
        return self.gross - self.prepaid

    def credit_note(self, net: str) -> Doc:
        """A credit note of ``net`` (before VAT) on this invoice."""
        number = f"AV-{uuid.uuid4().hex[:10]}"
        return replace(
            self,
            number=number,
            net=Decimal(net),
            type_code="381",
            preceding=self.number,
            prepaid=Decimal("0.00"),
        )


def _e(text: object) -> str:
    return escape(str(text))


def _opt(template: str, value: object) -> str:
    return template.format(_e(value)) if value is not None else ""


def _ymd(iso: str) -> str:
    return iso.replace("-", "")


# UBL 2.1 ---------------------------------------------------------------------------------


def _ubl_customer(buyer: Buyer) -> str:
    endpoint = (
        f'<cbc:EndpointID schemeID="{_e(buyer.endpoint_scheme)}">'
        f"{_e(buyer.endpoint)}</cbc:EndpointID>"
        if buyer.endpoint
        else ""
    )
    party_id = _opt(
        "<cac:PartyIdentification><cbc:ID>{}</cbc:ID></cac:PartyIdentification>", buyer.buyer_id
    )
    address = (
        "<cac:PostalAddress>"
        + _opt("<cbc:StreetName>{}</cbc:StreetName>", buyer.line1)
        + _opt("<cbc:AdditionalStreetName>{}</cbc:AdditionalStreetName>", buyer.line2)
        + _opt("<cbc:CityName>{}</cbc:CityName>", buyer.city)
        + _opt("<cbc:PostalZone>{}</cbc:PostalZone>", buyer.postal_code)
        + f"<cac:Country><cbc:IdentificationCode>{_e(buyer.country)}</cbc:IdentificationCode>"
        "</cac:Country>"
        "</cac:PostalAddress>"
    )
    tax = _opt(
        "<cac:PartyTaxScheme><cbc:CompanyID>{}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>",
        buyer.vat,
    )
    scheme = f' schemeID="{_e(buyer.legal_scheme)}"' if buyer.legal_scheme else ""
    legal = (
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{_e(buyer.name)}</cbc:RegistrationName>"
        + (f"<cbc:CompanyID{scheme}>{_e(buyer.legal_id)}</cbc:CompanyID>" if buyer.legal_id else "")
        + "</cac:PartyLegalEntity>"
    )
    contact = ""
    if buyer.phone or buyer.email:
        contact = (
            "<cac:Contact>"
            + _opt("<cbc:Telephone>{}</cbc:Telephone>", buyer.phone)
            + _opt("<cbc:ElectronicMail>{}</cbc:ElectronicMail>", buyer.email)
            + "</cac:Contact>"
        )
    return (
        "<cac:AccountingCustomerParty><cac:Party>"
        + endpoint
        + party_id
        + address
        + tax
        + legal
        + contact
        + "</cac:Party></cac:AccountingCustomerParty>"
    )


def ubl(doc: Doc) -> bytes:
    """A UBL 2.1 Invoice, or a CreditNote when the type code is 381."""
    credit = doc.type_code == "381"
    root, line, quantity = (
        ("CreditNote", "CreditNoteLine", "CreditedQuantity")
        if credit
        else ("Invoice", "InvoiceLine", "InvoicedQuantity")
    )
    ns = f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
    due = "" if credit else _opt("<cbc:DueDate>{}</cbc:DueDate>", doc.due)
    type_code = f"<cbc:{root}TypeCode>{_e(doc.type_code)}</cbc:{root}TypeCode>"
    billing = _opt(
        "<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{}</cbc:ID>"
        "</cac:InvoiceDocumentReference></cac:BillingReference>",
        doc.preceding,
    )
    supplier = (
        "<cac:AccountingSupplierParty><cac:Party>"
        "<cac:PostalAddress><cbc:CityName>Paris</cbc:CityName><cbc:PostalZone>75002</cbc:PostalZone>"
        "<cac:Country><cbc:IdentificationCode>FR</cbc:IdentificationCode></cac:Country></cac:PostalAddress>"
        "<cac:PartyLegalEntity><cbc:RegistrationName>Démo Créancier SAS</cbc:RegistrationName>"
        f'<cbc:CompanyID schemeID="0002">{_e(doc.seller_siren)}</cbc:CompanyID>'
        "</cac:PartyLegalEntity>"
        "</cac:Party></cac:AccountingSupplierParty>"
    )
    means = (
        "<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>"
        + _opt("<cbc:PaymentDueDate>{}</cbc:PaymentDueDate>", doc.due if credit else None)
        + "</cac:PaymentMeans>"
    )
    c = f'currencyID="{_e(doc.currency)}"'
    prepaid = f"<cbc:PrepaidAmount {c}>{doc.prepaid}</cbc:PrepaidAmount>" if doc.prepaid else ""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}" {UBL_NS}>'
        "<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>"
        f"<cbc:ID>{_e(doc.number)}</cbc:ID><cbc:IssueDate>{doc.issue}</cbc:IssueDate>"
        f"{due}{type_code}<cbc:DocumentCurrencyCode>{_e(doc.currency)}</cbc:DocumentCurrencyCode>"
        f"{billing}{supplier}{_ubl_customer(doc.buyer)}{means}"
        f"<cac:TaxTotal><cbc:TaxAmount {c}>{doc.tax}</cbc:TaxAmount></cac:TaxTotal>"
        f"<cac:LegalMonetaryTotal><cbc:LineExtensionAmount {c}>{doc.net}</cbc:LineExtensionAmount>"
        f"<cbc:TaxExclusiveAmount {c}>{doc.net}</cbc:TaxExclusiveAmount>"
        f"<cbc:TaxInclusiveAmount {c}>{doc.gross}</cbc:TaxInclusiveAmount>{prepaid}"
        f"<cbc:PayableAmount {c}>{doc.payable}</cbc:PayableAmount></cac:LegalMonetaryTotal>"
        f'<cac:{line}><cbc:ID>1</cbc:ID><cbc:{quantity} unitCode="C62">1</cbc:{quantity}>'
        f"<cbc:LineExtensionAmount {c}>{doc.net}</cbc:LineExtensionAmount>"
        "<cac:Item><cbc:Name>Prestation</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID>"
        f"<cbc:Percent>{doc.vat_rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>"
        "</cac:ClassifiedTaxCategory></cac:Item>"
        f"<cac:Price><cbc:PriceAmount {c}>{doc.net}</cbc:PriceAmount></cac:Price></cac:{line}>"
        f"</{root}>"
    )
    return xml.encode()


# CII --------------------------------------------------------------------------------------


def _cii_buyer(buyer: Buyer, level: str) -> str:
    rich = level != "minimum"
    contact = ""
    if level in ("en16931", "extended") and (buyer.phone or buyer.email):
        contact = (
            "<ram:DefinedTradeContact>"
            + _opt(
                "<ram:TelephoneUniversalCommunication><ram:CompleteNumber>{}</ram:CompleteNumber>"
                "</ram:TelephoneUniversalCommunication>",
                buyer.phone,
            )
            + _opt(
                "<ram:EmailURIUniversalCommunication><ram:URIID>{}</ram:URIID>"
                "</ram:EmailURIUniversalCommunication>",
                buyer.email,
            )
            + "</ram:DefinedTradeContact>"
        )
    scheme = f' schemeID="{_e(buyer.legal_scheme)}"' if buyer.legal_scheme else ""
    legal = (
        f"<ram:SpecifiedLegalOrganization><ram:ID{scheme}>{_e(buyer.legal_id)}</ram:ID>"
        "</ram:SpecifiedLegalOrganization>"
        if buyer.legal_id
        else ""
    )
    address = "<ram:PostalTradeAddress>"
    if rich:
        address += (
            _opt("<ram:PostcodeCode>{}</ram:PostcodeCode>", buyer.postal_code)
            + _opt("<ram:LineOne>{}</ram:LineOne>", buyer.line1)
            + _opt("<ram:LineTwo>{}</ram:LineTwo>", buyer.line2)
            + _opt("<ram:CityName>{}</ram:CityName>", buyer.city)
        )
    address += f"<ram:CountryID>{_e(buyer.country)}</ram:CountryID></ram:PostalTradeAddress>"
    endpoint = (
        f'<ram:URIUniversalCommunication><ram:URIID schemeID="{_e(buyer.endpoint_scheme)}">'
        f"{_e(buyer.endpoint)}</ram:URIID></ram:URIUniversalCommunication>"
        if rich and buyer.endpoint
        else ""
    )
    # BASIC WL and BASIC carry no contact: the email travels as the electronic address.
    if rich and not contact and not endpoint and buyer.email:
        endpoint = (
            '<ram:URIUniversalCommunication><ram:URIID schemeID="EM">'
            f"{_e(buyer.email)}</ram:URIID></ram:URIUniversalCommunication>"
        )
    tax = _opt(
        '<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{}</ram:ID>'
        "</ram:SpecifiedTaxRegistration>",
        buyer.vat,
    )
    return (
        "<ram:BuyerTradeParty>"
        + (_opt("<ram:ID>{}</ram:ID>", buyer.buyer_id) if rich else "")
        + f"<ram:Name>{_e(buyer.name)}</ram:Name>"
        + legal
        + contact
        + address
        + endpoint
        + tax
        + "</ram:BuyerTradeParty>"
    )


def cii(doc: Doc, level: str = "en16931") -> bytes:
    """A CrossIndustryInvoice at a Factur-X level (minimum, basicwl, basic, en16931, extended)."""
    lines = level in ("basic", "en16931", "extended")
    rich = level != "minimum"
    c = f'currencyID="{_e(doc.currency)}"'
    line = (
        "<ram:IncludedSupplyChainTradeLineItem>"
        "<ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>"
        "<ram:SpecifiedTradeProduct><ram:Name>Prestation</ram:Name></ram:SpecifiedTradeProduct>"
        "<ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>"
        f"<ram:ChargeAmount>{doc.net}</ram:ChargeAmount></ram:NetPriceProductTradePrice>"
        "</ram:SpecifiedLineTradeAgreement>"
        '<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">1</ram:BilledQuantity>'
        "</ram:SpecifiedLineTradeDelivery>"
        "<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>"
        f"<ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>{doc.vat_rate}"
        "</ram:RateApplicablePercent></ram:ApplicableTradeTax>"
        "<ram:SpecifiedTradeSettlementLineMonetarySummation>"
        f"<ram:LineTotalAmount>{doc.net}</ram:LineTotalAmount>"
        "</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
        "</ram:IncludedSupplyChainTradeLineItem>"
        if lines
        else ""
    )
    seller = (
        "<ram:SellerTradeParty><ram:Name>Démo Créancier SAS</ram:Name>"
        f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{_e(doc.seller_siren)}</ram:ID>'
        "</ram:SpecifiedLegalOrganization>"
        "<ram:PostalTradeAddress>"
        + (
            "<ram:PostcodeCode>75002</ram:PostcodeCode><ram:CityName>Paris</ram:CityName>"
            if rich
            else ""
        )
        + "<ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress>"
        '<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR44732829320</ram:ID>'
        "</ram:SpecifiedTaxRegistration></ram:SellerTradeParty>"
    )
    settlement = f"<ram:InvoiceCurrencyCode>{_e(doc.currency)}</ram:InvoiceCurrencyCode>"
    if rich:
        settlement += (
            f"<ram:ApplicableTradeTax><ram:CalculatedAmount>{doc.tax}</ram:CalculatedAmount>"
            f"<ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>{doc.net}</ram:BasisAmount>"
            "<ram:CategoryCode>S</ram:CategoryCode>"
            f"<ram:RateApplicablePercent>{doc.vat_rate}</ram:RateApplicablePercent>"
            "</ram:ApplicableTradeTax>"
        )
        if doc.due:
            settlement += (
                "<ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>"
                f'<udt:DateTimeString format="102">{_ymd(doc.due)}</udt:DateTimeString>'
                "</ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>"
            )
    settlement += (
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
        + (f"<ram:LineTotalAmount>{doc.net}</ram:LineTotalAmount>" if rich else "")
        + f"<ram:TaxBasisTotalAmount>{doc.net}</ram:TaxBasisTotalAmount>"
        f"<ram:TaxTotalAmount {c}>{doc.tax}</ram:TaxTotalAmount>"
        f"<ram:GrandTotalAmount>{doc.gross}</ram:GrandTotalAmount>"
        + (
            f"<ram:TotalPrepaidAmount>{doc.prepaid}</ram:TotalPrepaidAmount>"
            if rich and doc.prepaid
            else ""
        )
        + f"<ram:DuePayableAmount>{doc.payable}</ram:DuePayableAmount>"
        "</ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
    )
    if rich and doc.preceding:
        settlement += (
            "<ram:InvoiceReferencedDocument>"
            f"<ram:IssuerAssignedID>{_e(doc.preceding)}</ram:IssuerAssignedID>"
            "</ram:InvoiceReferencedDocument>"
        )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice {CII_NS}>'
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID>{LEVEL_IDS[level]}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        "</rsm:ExchangedDocumentContext>"
        f"<rsm:ExchangedDocument><ram:ID>{_e(doc.number)}</ram:ID>"
        f"<ram:TypeCode>{_e(doc.type_code)}</ram:TypeCode><ram:IssueDateTime>"
        f'<udt:DateTimeString format="102">{_ymd(doc.issue)}</udt:DateTimeString>'
        "</ram:IssueDateTime></rsm:ExchangedDocument>"
        f"<rsm:SupplyChainTradeTransaction>{line}"
        f"<ram:ApplicableHeaderTradeAgreement>{seller}{_cii_buyer(doc.buyer, level)}"
        "</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery/>"
        f"<ram:ApplicableHeaderTradeSettlement>{settlement}</ram:ApplicableHeaderTradeSettlement>"
        "</rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"
    )
    return xml.encode()


# Factur-X ---------------------------------------------------------------------------------


def plain_pdf(title: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=title)
    return bytes(pdf.output())


def facturx_pdf(doc: Doc, level: str = "en16931") -> bytes:
    """A Factur-X PDF: a visible page and the CII XML attached as factur-x.xml."""
    result: bytes = facturx.generate_from_binary(
        plain_pdf(f"Facture {doc.number}"), cii(doc, level), flavor="factur-x", level=level
    )
    return result
