"""Checks on agreed payment terms: flag, never change (C. com. L441-16).

An agreed term above a legal cap is accepted but flagged for operators; the
due date is never moved. Caps:
- B2B (C. com. L441-10 I): 60 days from the invoice date, or 45 days end of
  month (two computations exist; the contract must say which), periodic
  invoices 45 days from the invoice date;
- sectors (C. com. L441-11): perishable food 30 days after delivery, livestock
  20 days after delivery, alcoholic drinks 30 days after the end of the month
  of delivery, road transport / vehicle rental / freight forwarding 30 days
  from the invoice date;
- public buyers, délai global de paiement (C. commande publique R2192-10,
  R2192-11): 30 days, 50 days for public hospitals, 60 days for public
  companies, counted from receipt of the invoice.
"""

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from legal.deadlines import add_months
from legal.kinds import DebtorKind, parse_debtor_kind

TermBasis = Literal["days_from_invoice", "end_of_month_45", "periodic"]
Sector = Literal["perishable_food", "livestock", "alcoholic_drinks", "transport"]
PublicBuyer = Literal["state_or_local_authority", "public_hospital", "public_company"]

_PUBLIC_DAYS: dict[str, tuple[int, str]] = {
    "state_or_local_authority": (30, "C. commande publique R2192-10"),
    "public_hospital": (50, "C. commande publique R2192-11"),
    "public_company": (60, "C. commande publique R2192-11"),
}


class TermWarning(BaseModel):
    """A flag for operators; the invoice and its due date stay as agreed."""

    model_config = ConfigDict(frozen=True)

    code: str
    message_fr: str
    message_en: str
    article: str


def end_of_month(day: date) -> date:
    """Last day of the month of ``day``."""
    return add_months(day.replace(day=1), 1) - timedelta(days=1)


def statutory_due_date(receipt: date) -> date:
    """Due date when no term was agreed: 30 days after receipt of the goods or
    performance of the service (C. com. L441-10 I al. 1)."""
    return receipt + timedelta(days=30)


def _flag(code: str, due: date, cap: date, what: tuple[str, str], art: str) -> list[TermWarning]:
    """One warning when ``due`` is after ``cap``; ``what`` = (French, English)."""
    if due <= cap:
        return []
    return [
        TermWarning(
            code=code,
            message_fr=f"Échéance {due} au-delà du plafond ({what[0]}) : {cap}.",
            message_en=f"Due date {due} is beyond the cap ({what[1]}): {cap}.",
            article=art,
        )
    ]


_B2B = "C. com. L441-10 I"
_SECTOR = "C. com. L441-11"
_EOM = ("45 jours fin de mois", "45 days end of month")
_EOM_ONE = (
    "45 jours fin de mois selon un seul des deux calculs ; vérifier le contrat",
    "45 days end of month under only one of the two computations; check the contract",
)


def _b2b(invoice: date, due: date, basis: TermBasis) -> list[TermWarning]:
    if basis == "periodic":
        what = ("facture périodique, 45 jours", "periodic invoice, 45 days")
        return _flag("TERM_ABOVE_CAP", due, invoice + timedelta(days=45), what, _B2B)
    if basis == "days_from_invoice":
        what = ("60 jours date de facture", "60 days from the invoice date")
        return _flag("TERM_ABOVE_CAP", due, invoice + timedelta(days=60), what, _B2B)
    early, late = sorted(
        [end_of_month(invoice + timedelta(days=45)), end_of_month(invoice) + timedelta(days=45)]
    )
    above = _flag("TERM_ABOVE_CAP", due, late, _EOM, _B2B)
    return above or _flag("EOM_COMPUTATION_CHECK", due, early, _EOM_ONE, _B2B)


def _sector(invoice: date, due: date, sector: Sector, delivery: date | None) -> list[TermWarning]:
    if sector == "transport":
        what = ("transport, 30 jours date de facture", "transport, 30 days from invoice date")
        return _flag("SECTOR_CAP", due, invoice + timedelta(days=30), what, _SECTOR)
    if delivery is None:
        missing = TermWarning(
            code="DELIVERY_DATE_MISSING",
            message_fr="Date de livraison absente : plafond sectoriel non vérifié.",
            message_en="Delivery date missing: sector cap not checked.",
            article=_SECTOR,
        )
        return [missing]
    caps = {
        "perishable_food": (
            delivery + timedelta(days=30),
            ("denrées périssables, 30 jours après livraison", "perishable food, 30 days"),
        ),
        "livestock": (
            delivery + timedelta(days=20),
            ("bétail, 20 jours après livraison", "livestock, 20 days after delivery"),
        ),
        "alcoholic_drinks": (
            end_of_month(delivery) + timedelta(days=30),
            ("alcools, 30 jours fin de mois de livraison", "alcohol, 30 days end of month"),
        ),
    }
    cap, what = caps[sector]
    return _flag("SECTOR_CAP", due, cap, what, _SECTOR)


def check_payment_terms(
    *,
    invoice_date: date,
    due_date: date,
    debtor_kind: DebtorKind | str,
    basis: TermBasis = "days_from_invoice",
    sector: Sector | None = None,
    delivery_date: date | None = None,
    public_buyer: PublicBuyer = "state_or_local_authority",
    invoice_received: date | None = None,
) -> tuple[TermWarning, ...]:
    """Warnings for an agreed due date above a legal cap (empty when compliant).

    For public buyers the délai global runs from receipt of the invoice;
    ``invoice_received`` defaults to the invoice date (the earliest possible).
    Consumers: no statutory cap in this scope, no warning.
    """
    kind = parse_debtor_kind(debtor_kind)
    if kind is DebtorKind.CONSUMER:
        return ()
    if kind is DebtorKind.PUBLIC:
        days, art = _PUBLIC_DAYS[public_buyer]
        cap = (invoice_received or invoice_date) + timedelta(days=days)
        what = (f"délai global de paiement de {days} jours", f"{days}-day global payment period")
        return tuple(_flag("PUBLIC_TERM_ABOVE_CAP", due_date, cap, what, art))
    warnings = _b2b(invoice_date, due_date, basis)
    if sector is not None:
        warnings += _sector(invoice_date, due_date, sector, delivery_date)
    return tuple(warnings)
