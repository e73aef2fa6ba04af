"""The dated rate table: packaged data, validation and explicit gaps."""

import json
from pathlib import Path
from typing import Any

import pytest

from legal.errors import RateNotConfigured, RateTableInvalid
from legal.half_year import HalfYear, half_year_of
from legal.rates import RateTable, load_rate_table


def test_packaged_table_matches_the_law_page(rates: RateTable) -> None:
    b2b = {row.half_year.label: str(row.b2b_rate) for row in rates.rows}
    assert b2b == {
        "2024 H1": "14.50",
        "2024 H2": "14.25",
        "2025 H1": "13.15",
        "2025 H2": "12.15",
        "2026 H1": "12.15",
        "2026 H2": "12.40",
    }
    legal = {
        row.half_year.label: (str(row.legal_rate_private_creditor), str(row.legal_rate_other))
        for row in rates.rows
        if row.legal_rate_other is not None
    }
    assert legal == {
        "2024 H1": ("8.01", "5.07"),
        "2024 H2": ("8.16", "4.92"),
        "2025 H1": ("7.21", "3.71"),
        "2025 H2": ("6.65", "2.76"),
        "2026 H1": ("6.67", "2.62"),
    }
    reported = rates.row(HalfYear(2026, 2))
    assert reported.status == "reported"
    assert "reported" in reported.source.lower()
    assert all(row.source for row in rates.rows)
    assert "21 Dec 2023" in rates.row(HalfYear(2024, 1)).source
    assert "15 Dec 2025" in rates.row(HalfYear(2026, 1)).source


def test_table_version_is_bumped_when_rows_change(rates: RateTable) -> None:
    """Cases record the version they ran with (CaseStart.rates): the 2024 H1 legal
    rates (arrêté of 21 Dec 2023, C. mon. fin. L313-2) made a new revision."""
    assert rates.version == "fr-rates-2026H2-reported-2"


def test_missing_rates_have_exact_messages(rates: RateTable) -> None:
    with pytest.raises(RateNotConfigured) as error:
        rates.b2b_rate(HalfYear(2027, 1))
    assert str(error.value) == "rate for 2027 H1 not configured"
    with pytest.raises(RateNotConfigured) as legal_error:
        rates.legal_rate(HalfYear(2026, 2))
    assert str(legal_error.value) == "legal interest rate for 2026 H2 not configured"
    with pytest.raises(RateNotConfigured):
        rates.legal_rate(HalfYear(2026, 2), private_creditor=True)


def test_private_creditor_column(rates: RateTable) -> None:
    assert str(rates.legal_rate(HalfYear(2025, 2), private_creditor=True)) == "6.65"


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


ROW = {"year": 2025, "half": 1, "ecb_rate": "3.15", "b2b_rate": "13.15", "source": "test"}


def test_a_table_can_be_loaded_from_a_file(tmp_path: Path) -> None:
    table = load_rate_table(_write(tmp_path, {"version": "t1", "rows": [ROW]}))
    assert (table.version, str(table.ecb_rate(HalfYear(2025, 1)))) == ("t1", "3.15")


@pytest.mark.parametrize(
    "data",
    [
        {"version": "t", "rows": [{**ROW, "b2b_rate": "13.00"}]},  # not ECB + 10
        {"version": "t", "rows": [ROW, ROW]},  # duplicate half-year
        {"version": "t", "rows": [{**ROW, "half": 3}]},
        {"version": "t", "rows": [{**ROW, "surprise": 1}]},
        {"version": "t", "rows": [{**ROW, "source": ""}]},
        {"rows": [ROW]},
    ],
)
def test_invalid_tables_are_rejected(tmp_path: Path, data: Any) -> None:
    with pytest.raises(RateTableInvalid, match="invalid rate table"):
        load_rate_table(_write(tmp_path, data))


def test_unreadable_table_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RateTableInvalid, match="cannot read rate table"):
        load_rate_table(tmp_path / "absent.json")


def test_half_years_split_on_1_july() -> None:
    from datetime import date

    assert half_year_of(date(2025, 6, 30)).label == "2025 H1"
    assert half_year_of(date(2025, 7, 1)) == HalfYear(2025, 2)
    assert HalfYear(2025, 2).first_day == date(2025, 7, 1)
    assert HalfYear(2025, 1).last_day == date(2025, 6, 30)
