"""The dated rate table (C. com. L441-10 II; C. mon. fin. L313-2; R2192-31).

Rates are data, never code: one row per half-year, each with its source, in
``legal/data/rates.json``. A missing half-year is an explicit error.
All rates are percentages (``Decimal("13.15")`` means 13.15 %).
"""

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from legal.errors import RateNotConfigured, RateTableInvalid
from legal.half_year import HalfYear

B2B_MARGIN = Decimal("10")  # C. com. L441-10 II: ECB rate + 10 points


class RateRow(BaseModel):
    """Rates of one half-year; the legal interest rates may be unknown (None)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=2000, le=2200)
    half: Literal[1, 2]
    ecb_rate: Decimal = Field(allow_inf_nan=False)
    b2b_rate: Decimal = Field(allow_inf_nan=False)
    legal_rate_private_creditor: Decimal | None = Field(default=None, allow_inf_nan=False)
    legal_rate_other: Decimal | None = Field(default=None, allow_inf_nan=False)
    status: Literal["official", "reported"] = "official"
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _b2b_is_ecb_plus_ten(self) -> "RateRow":
        if self.b2b_rate != self.ecb_rate + B2B_MARGIN:
            raise ValueError(f"{self.year} H{self.half}: b2b_rate must be ecb_rate + 10")
        return self

    @property
    def half_year(self) -> HalfYear:
        """The half-year this row describes."""
        return HalfYear(self.year, self.half)


class RateTable(BaseModel):
    """A versioned set of half-year rows; lookups raise ``RateNotConfigured``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    rows: tuple[RateRow, ...]

    @model_validator(mode="after")
    def _unique_half_years(self) -> "RateTable":
        seen = [row.half_year for row in self.rows]
        if len(set(seen)) != len(seen):
            raise ValueError("each half-year may appear only once")
        return self

    def find(self, half_year: HalfYear) -> RateRow | None:
        """The row of ``half_year``, or None."""
        return next((r for r in self.rows if r.half_year == half_year), None)

    def row(self, half_year: HalfYear) -> RateRow:
        """The row of ``half_year``; raises "rate for 2026 H2 not configured"."""
        found = self.find(half_year)
        if found is None:
            raise RateNotConfigured(f"rate for {half_year.label} not configured")
        return found

    def ecb_rate(self, half_year: HalfYear) -> Decimal:
        """ECB main refinancing rate in force on the half-year's first day."""
        return self.row(half_year).ecb_rate

    def b2b_rate(self, half_year: HalfYear) -> Decimal:
        """B2B statutory late-payment rate (ECB + 10, C. com. L441-10 II)."""
        return self.row(half_year).b2b_rate

    def legal_rate(self, half_year: HalfYear, *, private_creditor: bool = False) -> Decimal:
        """Taux de l'intérêt légal (C. mon. fin. L313-2): "other cases" column by
        default; raises "legal interest rate for 2026 H2 not configured"."""
        found = self.find(half_year)
        value = None
        if found is not None:
            value = (
                found.legal_rate_private_creditor if private_creditor else found.legal_rate_other
            )
        if value is None:
            raise RateNotConfigured(f"legal interest rate for {half_year.label} not configured")
        return value


def load_rate_table(path: str | Path | None = None) -> RateTable:
    """Read and validate a rate table (I/O: call it outside workflow code and pass
    the table in). Default: the table packaged in ``legal/data/rates.json``."""
    where = str(path) if path is not None else "legal/data/rates.json"
    try:
        if path is None:
            text = resources.files("legal.data").joinpath("rates.json").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return RateTable.model_validate_json(text)
    except OSError as exc:
        raise RateTableInvalid(f"cannot read rate table {where}: {exc.strerror}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        raise RateTableInvalid(f"invalid rate table {where}: {loc}: {first['msg']}") from exc
