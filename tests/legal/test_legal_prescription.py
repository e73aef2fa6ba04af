"""Prescription: 5 or 2 years, interruptions, suspension, alerts."""

from datetime import date

import pytest

from legal.kinds import DebtorKind
from legal.prescription import Interruption, Suspension, compute_prescription, is_prescribed


def test_consumer_claims_prescribe_in_two_years() -> None:
    result = compute_prescription(date(2025, 3, 31), DebtorKind.CONSUMER)
    assert (result.years, result.last_day) == (2, date(2027, 3, 31))


@pytest.mark.parametrize(
    ("kind", "last_day"),
    [(DebtorKind.BUSINESS, date(2029, 2, 28)), (DebtorKind.CONSUMER, date(2026, 2, 28))],
)
def test_29_february_ends_on_28_february(kind: DebtorKind, last_day: date) -> None:
    assert compute_prescription(date(2024, 2, 29), kind).last_day == last_day


def test_last_day_is_not_moved_to_a_working_day() -> None:
    result = compute_prescription(date(2020, 6, 22), DebtorKind.BUSINESS)
    assert result.last_day == date(2025, 6, 22)  # a Sunday, kept as is


def test_alerts_90_and_30_days_before_the_last_day() -> None:
    result = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS)
    assert result.alert_dates == (date(2025, 3, 20), date(2025, 5, 19))


def test_each_interruption_restarts_a_full_period() -> None:
    events = [
        Interruption(on=date(2023, 1, 5), kind="court_claim"),
        Interruption(on=date(2022, 3, 10), kind="partial_payment"),
    ]
    result = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS, events)
    assert result.last_day == date(2028, 1, 5)
    assert any("C. civ. 2241" in entry for entry in result.history)


def test_an_interruption_after_expiry_does_not_revive_the_claim() -> None:
    late = [Interruption(on=date(2025, 6, 19), kind="partial_payment")]
    result = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS, late)
    assert result.last_day == date(2025, 6, 18)
    assert is_prescribed(result, date(2025, 6, 19))
    assert not is_prescribed(result, date(2025, 6, 18))


def test_an_interruption_on_the_last_day_still_counts() -> None:
    on_time = [Interruption(on=date(2025, 6, 18), kind="enforcement_act")]
    result = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS, on_time)
    assert result.last_day == date(2030, 6, 18)


def test_small_claims_agreement_suspends_for_its_duration() -> None:
    pause = [Suspension(start=date(2024, 1, 10), end=date(2024, 3, 10))]  # 60 days
    result = compute_prescription(date(2023, 1, 1), DebtorKind.CONSUMER, suspensions=pause)
    assert result.last_day == date(2025, 3, 2)  # 2025-01-01 + 60 days


def test_suspension_then_interruption() -> None:
    pause = [Suspension(start=date(2021, 1, 1), end=date(2021, 1, 31))]
    restart = [Interruption(on=date(2022, 3, 10))]
    result = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS, restart, pause)
    assert result.last_day == date(2027, 3, 10)


def test_public_debtor_gets_a_warning_about_the_four_year_rule() -> None:
    result = compute_prescription(date(2020, 6, 18), DebtorKind.PUBLIC)
    assert result.last_day == date(2025, 6, 18)
    assert any("68-1250" in entry and "2024-12-31" in entry for entry in result.history)
