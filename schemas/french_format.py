"""French renderings of amounts and dates, for letters, emails and tasks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal


def french_amount(value: Decimal, currency: str = "EUR") -> str:
    """1234.5 -> '1 234,50 €' (narrow no-break space between thousands)."""
    whole, cents = f"{value:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", "\u202f")
    symbol = "€" if currency == "EUR" else currency
    return f"{groups},{cents}\u00a0{symbol}"


def french_date(value: date) -> str:
    """2026-10-31 -> '31/10/2026'."""
    return value.strftime("%d/%m/%Y")
