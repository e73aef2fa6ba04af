"""After a court claim (C. civ. 2242) and an enforceable title (CPCE L111-4)."""

import json
from datetime import date

import pytest

from legal.after_title import court_claim_prescription, enforcement_prescription
from legal.cli import run
from legal.errors import LegalError
from legal.kinds import DebtorKind
from legal.prescription import Interruption, compute_prescription
from legal.quadriennale import quadriennale_prescription

FIVE_YEARS = compute_prescription(date(2020, 6, 18), DebtorKind.BUSINESS)  # 2025-06-18


def test_c_civ_2242_interruption_lasts_while_the_proceeding_runs() -> None:
    result = court_claim_prescription(FIVE_YEARS, date(2024, 1, 15))
    assert result.pending
    assert result.last_day is None
    assert result.alert_dates == ()
    assert any("C. civ. 2242" in entry for entry in result.history)


def test_c_civ_2242_new_full_period_from_the_end_of_the_proceeding() -> None:
    result = court_claim_prescription(FIVE_YEARS, date(2024, 1, 15), date(2026, 9, 30))
    assert not result.pending
    assert result.last_day == date(2031, 9, 30)
    assert result.alert_dates == (date(2031, 7, 2), date(2031, 8, 31))


def test_c_civ_2242_court_claim_after_the_last_day_changes_nothing() -> None:
    result = court_claim_prescription(FIVE_YEARS, date(2025, 6, 19), date(2026, 1, 1))
    assert (result.pending, result.last_day) == (False, date(2025, 6, 18))


def test_c_civ_2242_proceeding_cannot_end_before_it_starts() -> None:
    with pytest.raises(LegalError, match="before it was filed"):
        court_claim_prescription(FIVE_YEARS, date(2024, 1, 15), date(2024, 1, 14))


def test_c_civ_2242_with_the_quadriennale_restarts_on_1_january_loi_68_1250_art_2() -> None:
    public = quadriennale_prescription(date(2022, 3, 3))
    result = court_claim_prescription(public, date(2024, 1, 15), date(2026, 3, 1))
    assert result.last_day == date(2030, 12, 31)


def test_cpce_l111_4_title_is_enforceable_for_10_years() -> None:
    result = enforcement_prescription(date(2026, 1, 10), replaces=FIVE_YEARS)
    assert (result.years, result.last_day, result.article) == (
        10,
        date(2036, 1, 10),
        "CPCE L111-4",
    )
    assert result.alert_dates == (date(2035, 10, 12), date(2035, 12, 11))
    assert any("replaces the 5-year prescription" in entry for entry in result.history)


def test_cpce_l111_4_title_replaces_a_shorter_prescription_c_consom_l218_2() -> None:
    consumer = compute_prescription(date(2024, 2, 29), DebtorKind.CONSUMER)  # 2026-02-28
    result = enforcement_prescription(date(2025, 2, 28), replaces=consumer)
    assert result.last_day == date(2035, 2, 28)
    assert result.history[: len(consumer.history)] == consumer.history


def test_cpce_l111_4_enforcement_act_restarts_10_years_c_civ_2244() -> None:
    seizure = Interruption(on=date(2030, 5, 4), kind="enforcement_act")
    result = enforcement_prescription(date(2026, 1, 10), [seizure, date(2028, 2, 29)])
    assert result.last_day == date(2040, 5, 4)


def test_cpce_l111_4_title_from_29_february_ends_on_28_february() -> None:
    assert enforcement_prescription(date(2024, 2, 29)).last_day == date(2034, 2, 28)


def test_cli_prescription_with_a_title_and_a_pending_claim(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CPCE L111-4 and C. civ. 2242 through `recouvre prescription`."""
    argv = ["prescription", "--due-date", "2020-06-18", "--debtor-kind", "business", "--json"]
    assert run([*argv, "--title-on", "2024-03-01", "--enforcement-act-on", "2027-05-02"]) == 0
    titled = json.loads(capsys.readouterr().out)
    assert (titled["last_day"], titled["years"], titled["article"]) == (
        "2037-05-02",
        10,
        "CPCE L111-4",
    )
    assert run([*argv, "--court-claim-on", "2024-03-01"]) == 0
    pending = json.loads(capsys.readouterr().out)
    assert (pending["last_day"], pending["pending"], pending["article"]) == (
        None,
        True,
        "C. civ. 2242",
    )
    assert run([*argv[:-1], "--court-claim-on", "2024-03-01"]) == 0
    assert "none while the proceeding runs" in capsys.readouterr().out
