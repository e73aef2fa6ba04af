"""Every half-year from 2024 H1 against french-collection-law.md s.2 and s.5.

The reference table is copied here as test data (not read from rates.json), and
each CLI command (`recouvre decompte`, `deadline`, `prescription`) is run on
every row, so a wrong or missing row fails with the half-year in the test id.
"""

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import pytest

from legal.cli import run
from legal.half_year import HalfYear
from legal.rates import RateTable


class Row(NamedTuple):
    """One half-year of the reference: ECB rate on 1 Jan / 1 Jul, B2B statutory rate,
    legal interest rate (private creditor, other cases), 3 x other cases."""

    half: HalfYear
    ecb: str
    b2b: str
    legal_private: str | None
    legal_other: str | None
    contract_floor: str | None
    status: str


REFERENCE = [
    Row(HalfYear(2024, 1), "4.50", "14.50", "8.01", "5.07", "15.21", "official"),
    Row(HalfYear(2024, 2), "4.25", "14.25", "8.16", "4.92", "14.76", "official"),
    Row(HalfYear(2025, 1), "3.15", "13.15", "7.21", "3.71", "11.13", "official"),
    Row(HalfYear(2025, 2), "2.15", "12.15", "6.65", "2.76", "8.28", "official"),
    Row(HalfYear(2026, 1), "2.15", "12.15", "6.67", "2.62", "7.86", "official"),
    Row(HalfYear(2026, 2), "2.40", "12.40", None, None, None, "reported"),
]
ROWS = pytest.mark.parametrize("row", REFERENCE, ids=[r.half.label for r in REFERENCE])
PRINCIPAL = Decimal("10000.00")


def interest(rate: str, days: int) -> str:
    """10,000 EUR x rate x days / 365, rounded half up once (s.2 convention)."""
    exact = PRINCIPAL * Decimal(rate) * days / Decimal(36500)
    return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert run([*argv, "--json"]) == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def whole_half_year(row: Row) -> tuple[str, str, int]:
    """(day before the half-year, its last day, its number of days)."""
    before = row.half.first_day - timedelta(days=1)
    days = (row.half.last_day - row.half.first_day).days + 1
    return before.isoformat(), row.half.last_day.isoformat(), days


@ROWS
def test_rate_table_row_matches_c_com_l441_10_ii_and_c_mon_fin_l313_2(
    row: Row, rates: RateTable
) -> None:
    table_row = rates.row(row.half)
    assert (str(table_row.ecb_rate), str(table_row.b2b_rate)) == (row.ecb, row.b2b)
    legal = (table_row.legal_rate_private_creditor, table_row.legal_rate_other)
    expected = (row.legal_private, row.legal_other)
    assert tuple(None if v is None else str(v) for v in legal) == expected
    assert table_row.status == row.status
    assert table_row.source


@ROWS
def test_decompte_b2b_penalties_c_com_l441_10_ii_each_half_year(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """ECB + 10 points for the whole half-year, with the row's provenance."""
    due, as_of, days = whole_half_year(row)
    argv = ["decompte", "--principal", str(PRINCIPAL), "--due-date", due, "--as-of", as_of]
    data = cli_json([*argv, "--debtor-kind", "business"], capsys)
    assert data["penalties"] == interest(row.b2b, days)
    assert data["indemnity"] == "40.00"
    (period,) = data["rate_periods"]
    assert (period["half_year"], period["rate"], period["days"]) == (row.half.label, row.b2b, days)
    assert period["status"] == row.status
    assert f"ECB rate {row.ecb} %" in period["basis"]
    reported = [note for note in data["notes"] if "reported" in note]
    assert bool(reported) == (row.status == "reported")


@ROWS
def test_decompte_public_buyer_r2192_31_ecb_plus_8_each_half_year(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """Moratorium interest: ECB rate of the half-year interest started + 8 points
    (C. commande publique L2192-13, R2192-31), plus 40 EUR (D2192-35)."""
    due, as_of, days = whole_half_year(row)
    argv = ["decompte", "--principal", str(PRINCIPAL), "--due-date", due, "--as-of", as_of]
    data = cli_json([*argv, "--debtor-kind", "public"], capsys)
    rate = str(Decimal(row.ecb) + 8)
    assert data["penalties"] == interest(rate, days)
    assert data["indemnity"] == "40.00"
    (period,) = data["rate_periods"]
    assert (period["rate"], period["half_year"], period["status"]) == (
        rate,
        row.half.label,
        row.status,
    )
    assert period["article"] == "C. commande publique R2192-31"


@ROWS
def test_decompte_consumer_c_civ_1231_6_legal_rate_from_presentation_each_half_year(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """Legal rate, other cases, from the day after the notice's first presentation
    (C. civ. 1231-6, 1344-1); 2026 H2 is not configured and says so."""
    presented = row.half.first_day.isoformat()
    argv = [
        "decompte",
        "--principal",
        str(PRINCIPAL),
        "--due-date",
        "2023-11-30",
        "--as-of",
        row.half.last_day.isoformat(),
        "--debtor-kind",
        "consumer",
        "--formal-notice-presented-on",
        presented,
    ]
    if row.legal_other is None:
        assert run(argv) == 2
        message = f"error: legal interest rate for {row.half.label} not configured\n"
        assert capsys.readouterr().err == message
        return
    data = cli_json(argv, capsys)
    days = (row.half.last_day - row.half.first_day).days
    assert data["penalties"] == interest(row.legal_other, days)
    assert data["indemnity"] == "0.00"
    assert data["interest_start"] == (row.half.first_day + timedelta(days=1)).isoformat()
    assert presented in data["interest_start_basis"]
    assert "first presentation" in data["interest_start_basis"]


@ROWS
def test_decompte_contract_rate_floor_3_times_legal_rate_l441_10_ii_each_half_year(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """A contract rate of 5 % is below 3 x the legal rate in every half-year: the floor
    applies (15.21 % in 2024 H1, above ECB + 10, as the reference notes)."""
    due, as_of, days = whole_half_year(row)
    argv = ["decompte", "--principal", str(PRINCIPAL), "--due-date", due, "--as-of", as_of]
    argv += ["--debtor-kind", "business", "--contract-rate", "5"]
    if row.contract_floor is None:
        assert run(argv) == 2
        message = f"error: legal interest rate for {row.half.label} not configured\n"
        assert capsys.readouterr().err == message
        return
    data = cli_json(argv, capsys)
    assert [p["rate"] for p in data["rate_periods"]] == [row.contract_floor]
    assert data["penalties"] == interest(row.contract_floor, days)


@ROWS
def test_prescription_quadriennale_loi_68_1250_art_1_public_debtor_each_half_year(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """Due in the half-year: 4 years from 1 January after, so 31 Dec of year + 4;
    a public company keeps the ordinary 5 years (C. com. L110-4)."""
    due = (row.half.first_day + timedelta(days=45)).isoformat()
    argv = ["prescription", "--due-date", due, "--debtor-kind", "public"]
    data = cli_json(argv, capsys)
    last_day = date(row.half.year + 4, 12, 31)
    assert (data["last_day"], data["years"], data["article"]) == (
        last_day.isoformat(),
        4,
        "loi 68-1250 art. 1",
    )
    alerts = [(last_day - timedelta(days=n)).isoformat() for n in (90, 30)]
    assert data["alert_dates"] == alerts
    company = cli_json([*argv, "--public-body", "public_company"], capsys)
    five_years = date.fromisoformat(due).replace(year=row.half.year + 5).isoformat()
    assert (company["last_day"], company["years"]) == (five_years, 5)


@ROWS
def test_prescription_quadriennale_loi_68_1250_art_2_formal_notice_each_half_year(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """A formal notice sent in the half-year interrupts the quadriennale (new period from
    the next 1 January) but not the 5 years of a business debtor (Cass. com. 18 May 2022)."""
    notice = row.half.last_day.isoformat()
    argv = ["prescription", "--due-date", "2023-06-15", "--formal-notice-on", notice]
    public = cli_json([*argv, "--debtor-kind", "public", "--public-body", "state"], capsys)
    assert public["last_day"] == date(row.half.year + 4, 12, 31).isoformat()
    # Not knowing whether it is a public-law person, the CLI keeps the earlier of the
    # quadriennale and a public company's 5 years (reference s.7: the safe side).
    unsure = cli_json([*argv, "--debtor-kind", "public"], capsys)
    assert unsure["last_day"] == min(public["last_day"], "2028-06-15")
    business = cli_json([*argv, "--debtor-kind", "business"], capsys)
    assert business["last_day"] == "2028-06-15"
    assert any("does not interrupt" in entry for entry in business["history"])


DEADLINES = {
    "2024 H1": ("2024-07-30", None),
    "2024 H2": ("2025-01-31", None),
    "2025 H1": ("2025-07-30", None),
    "2025 H2": ("2026-02-02", "2026-01-31"),  # a Saturday
    "2026 H1": ("2026-07-30", None),
    "2026 H2": ("2027-02-01", "2027-01-31"),  # a Sunday
}


@ROWS
def test_deadline_one_month_cpc_641_642_from_each_half_year_end(
    row: Row, capsys: pytest.CaptureFixture[str]
) -> None:
    """One month from 30 June / 31 December ends on the 30th / 31st (CPC 641 al. 2),
    moved to the next working day when that is a weekend (CPC 642)."""
    argv = ["deadline", "--start", row.half.last_day.isoformat(), "--months", "1"]
    data = cli_json(argv, capsys)
    assert (data["last_day"], data["moved_from"]) == DEADLINES[row.half.label]
