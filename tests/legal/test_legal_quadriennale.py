"""Claims on public-law persons: the prescription quadriennale (loi 68-1250)."""

from datetime import date

import pytest

from legal.errors import LegalError
from legal.kinds import DebtorKind
from legal.prescription import Interruption, Suspension, compute_prescription
from legal.quadriennale import PublicBody, prescription_for_debtor, quadriennale_prescription


def test_quadriennale_loi_68_1250_art_1_reference_example() -> None:
    """Due 3 Mar 2022, no interruption: last day 31 Dec 2026 (french-collection-law.md s.5)."""
    result = quadriennale_prescription(date(2022, 3, 3))
    assert (result.years, result.last_day, result.article) == (
        4,
        date(2026, 12, 31),
        "loi 68-1250 art. 1",
    )
    assert "2023-01-01" in result.history[0]


@pytest.mark.parametrize(
    ("arose_on", "last_day"),
    [
        (date(2022, 1, 1), date(2026, 12, 31)),
        (date(2022, 12, 31), date(2026, 12, 31)),
        (date(2024, 2, 29), date(2028, 12, 31)),
    ],
)
def test_quadriennale_loi_68_1250_art_1_runs_from_1_january_after(
    arose_on: date, last_day: date
) -> None:
    assert quadriennale_prescription(arose_on).last_day == last_day


def test_quadriennale_loi_68_1250_art_2_formal_notice_interrupts_from_next_1_january() -> None:
    """Any written payment request, a formal notice included, interrupts; the new period
    runs from 1 January of the following year."""
    notice = Interruption(on=date(2024, 5, 2), kind="formal_notice")
    result = quadriennale_prescription(date(2022, 3, 3), [notice])
    assert result.last_day == date(2028, 12, 31)
    assert any("loi 68-1250 art. 2" in entry for entry in result.history)


def test_quadriennale_loi_68_1250_art_2_takes_plain_dates_in_any_order() -> None:
    result = quadriennale_prescription(date(2022, 3, 3), [date(2027, 6, 1), date(2025, 1, 2)])
    # 2025-01-02 -> 2029-12-31, then 2027-06-01 -> 2031-12-31
    assert result.last_day == date(2031, 12, 31)


def test_quadriennale_loi_68_1250_art_2_request_after_lapse_does_not_revive() -> None:
    late = quadriennale_prescription(date(2022, 3, 3), [date(2027, 1, 1)])
    assert late.last_day == date(2026, 12, 31)
    assert any("lapsed" in entry for entry in late.history)
    on_last_day = quadriennale_prescription(date(2022, 3, 3), [date(2026, 12, 31)])
    assert on_last_day.last_day == date(2030, 12, 31)


def test_quadriennale_loi_68_1250_alerts_90_and_30_days_before_31_december() -> None:
    """Prescription alerts (default-policies.md) follow the quadriennale's last day."""
    result = quadriennale_prescription(date(2022, 3, 3))
    assert result.alert_dates == (date(2026, 10, 2), date(2026, 12, 1))


@pytest.mark.parametrize("body", ["state", "local_authority", "public_establishment"])
def test_quadriennale_loi_68_1250_art_1_applies_to_public_law_persons(body: PublicBody) -> None:
    result = prescription_for_debtor(
        DebtorKind.PUBLIC,
        date(2022, 3, 3),
        [date(2024, 5, 2)],
        public_body=body,
    )
    assert (result.article, result.last_day) == ("loi 68-1250 art. 1", date(2028, 12, 31))


def test_quadriennale_loi_68_1250_public_company_keeps_c_com_l110_4_five_years() -> None:
    """Public companies outside loi 68-1250 follow the ordinary 5 years; a formal notice
    does not interrupt them (Cass. com. 18 May 2022, n° 20-23.204)."""
    notice = Interruption(on=date(2024, 5, 2), kind="formal_notice")
    result = prescription_for_debtor(
        "public", date(2022, 3, 3), [notice], public_body="public_company"
    )
    assert (result.years, result.last_day, result.article) == (
        5,
        date(2027, 3, 3),
        "C. com. L110-4",
    )
    assert not any("68-1250 may apply" in entry for entry in result.history)


def test_quadriennale_is_earlier_than_five_years_the_safe_default() -> None:
    """Section 7 safe side: the default (quadriennale) never ends after the 5 years."""
    for day in [date(2022, 1, 1), date(2022, 12, 31), date(2024, 2, 29)]:
        four = prescription_for_debtor("public", day).last_day
        five = compute_prescription(day, "public").last_day
        assert four < five


def test_ordinary_debtors_unchanged_by_prescription_for_debtor_cass_com_18_may_2022() -> None:
    """Business (L110-4) and consumer (L218-2) periods: a formal notice is ignored."""
    notice = Interruption(on=date(2022, 1, 10), kind="formal_notice")
    business = prescription_for_debtor("business", date(2020, 6, 18), [notice])
    assert business.last_day == compute_prescription(date(2020, 6, 18), "business").last_day
    consumer = prescription_for_debtor("consumer", date(2024, 2, 29), [date(2025, 1, 10)])
    assert (consumer.last_day, consumer.article) == (date(2027, 1, 10), "C. consom. L218-2")


def test_compute_prescription_ignores_a_formal_notice_cass_com_18_may_2022() -> None:
    payment_request = Interruption(on=date(2022, 1, 10), kind="payment_request")
    result = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS, [payment_request])
    assert result.last_day == date(2025, 6, 18)
    assert any("C. civ. 2254" in entry for entry in result.history)


def test_quadriennale_has_no_small_claims_suspension() -> None:
    pause = [Suspension(start=date(2023, 1, 1), end=date(2023, 2, 1))]
    with pytest.raises(LegalError, match="quadriennale"):
        prescription_for_debtor("public", date(2022, 3, 3), suspensions=pause)
