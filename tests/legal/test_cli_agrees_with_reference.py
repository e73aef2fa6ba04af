"""`recouvre decompte`, `deadline` and `prescription` against the domain reference.

The figures below are quoted from /work/shared/domain/french-collection-law.md (s.1,
s.2, s.5, s.7) and default-policies.md (worked examples), not read from
legal/data/rates.json. Each command runs through the real entry point: in-process
through ``services.cli.main.run`` (what ``main`` exits with), and as a subprocess of
``.venv/bin/recouvre`` for the public-debtor cases.
"""

import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from services.cli.main import run

ROOT = Path(__file__).resolve().parents[2]
PRINCIPAL = Decimal("10000.00")


class Half(NamedTuple):
    """One row of the reference tables of s.2 ("half-year | ECB main refinancing rate on
    1 Jan / 1 Jul | B2B statutory rate" and "creditor is a private person | all other
    cases"), with the floor "three times the other cases rate" the reference quotes."""

    label: str
    ecb: str
    b2b: str
    legal_other: str | None
    floor: str | None
    status: str

    @property
    def first(self) -> date:
        year, half = self.label.split(" H")
        return date(int(year), 1 if half == "1" else 7, 1)

    @property
    def last(self) -> date:
        year, half = self.label.split(" H")
        return date(int(year), 6, 30) if half == "1" else date(int(year), 12, 31)


REFERENCE = [
    Half("2024 H1", "4.50", "14.50", "5.07", "15.21", "official"),
    Half("2024 H2", "4.25", "14.25", "4.92", "14.76", "official"),
    Half("2025 H1", "3.15", "13.15", "3.71", "11.13", "official"),
    Half("2025 H2", "2.15", "12.15", "2.76", "8.28", "official"),
    Half("2026 H1", "2.15", "12.15", "2.62", "7.86", "official"),
    Half("2026 H2", "2.40", "12.40", None, None, "reported"),
]
HALVES = pytest.mark.parametrize("half", REFERENCE, ids=[h.label for h in REFERENCE])

# 10,000 EUR over each whole half-year at the B2B statutory rate (ECB + 10), at the
# public buyer's rate (ECB + 8) and, from the day after a notice presented on the
# half-year's first day, at the legal rate (other cases): simple interest, actual
# days / 365, rounded once half up (s.2 convention), worked out by hand.
B2B_WHOLE_HALF = {
    "2024 H1": (182, "723.01"),
    "2024 H2": (184, "718.36"),
    "2025 H1": (181, "652.10"),
    "2025 H2": (184, "612.49"),
    "2026 H1": (181, "602.51"),
    "2026 H2": (184, "625.10"),
}
PUBLIC_WHOLE_HALF = {
    "2024 H1": "623.29",
    "2024 H2": "617.53",
    "2025 H1": "552.92",
    "2025 H2": "511.67",
    "2026 H1": "503.33",
    "2026 H2": "524.27",
}
CONSUMER_FROM_PRESENTATION = {
    "2024 H1": "251.42",
    "2024 H2": "246.67",
    "2025 H1": "182.96",
    "2025 H2": "138.38",
    "2026 H1": "129.21",
}


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = cli([*argv, "--json"], capsys)
    assert (code, err) == (0, ""), err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def interest(rate: str, days: int, principal: Decimal = PRINCIPAL) -> str:
    exact = principal * Decimal(rate) * days / Decimal(36500)
    return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def end_of_next_half(half: Half) -> date:
    """Last day of the half-year after ``half``."""
    if half.last.month == 6:
        return date(half.last.year, 12, 31)
    return date(half.last.year + 1, 6, 30)


def decompte(due: date, as_of: date, kind: str, *extra: str) -> list[str]:
    argv = ["decompte", "--principal", str(PRINCIPAL), "--due-date", due.isoformat()]
    return [*argv, "--as-of", as_of.isoformat(), "--debtor-kind", kind, *extra]


def prescription(due: str, *extra: str) -> list[str]:
    return ["prescription", "--due-date", due, "--debtor-kind", "public", *extra]


# ------------------------------------------------------------ prescription, public debtor


@pytest.mark.parametrize("body", ["state", "local_authority", "public_establishment", None])
def test_prescription_public_loi_68_1250_art_1_reference_example(
    body: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """loi 68-1250 art. 1: "4 years from 1 January of the year after the one in which the
    rights arose ... Example: due 3 Mar 2022, no interruption: last day 31 Dec 2026"
    (s.5); alerts 90 and 30 days before (default-policies.md)."""
    extra = [] if body is None else ["--public-body", body]
    data = cli_json(prescription("2022-03-03", *extra), capsys)
    assert (data["last_day"], data["years"], data["article"]) == (
        "2026-12-31",
        4,
        "loi 68-1250 art. 1",
    )
    assert data["alert_dates"] == ["2026-10-02", "2026-12-01"]
    assert data["public_body"] == body
    assert data["public_body_applied"] == (body or "state")
    assert data["history"][0].startswith("2022-03-03: rights arose; 4 years from 2023-01-01")


@pytest.mark.parametrize(
    ("notice", "last_day"),
    [
        ("2025-12-31", "2029-12-31"),  # new period from 1 Jan 2026
        ("2026-01-02", "2030-12-31"),  # two days later, across the year boundary
        ("2026-12-31", "2030-12-31"),  # on the last day to act: still in time
    ],
)
@pytest.mark.parametrize("body", ["state", "local_authority", "public_establishment"])
def test_prescription_public_loi_68_1250_art_2_formal_notice_restarts_next_1_january(
    notice: str, last_day: str, body: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """loi 68-1250 art. 2: "Any written request for payment to the authority, a formal
    notice included, interrupts it, and a new 4-year period then runs from 1 January of
    the following year" (s.5)."""
    argv = prescription("2022-03-03", "--public-body", body, "--formal-notice-on", notice)
    data = cli_json(argv, capsys)
    assert (data["last_day"], data["years"], data["article"]) == (last_day, 4, "loi 68-1250 art. 1")
    next_year = int(notice[:4]) + 1
    assert any(
        entry.startswith(f"{notice}: formal_notice interrupts (loi 68-1250 art. 2)")
        and f"new period from {next_year}-01-01" in entry
        for entry in data["history"]
    )


def test_prescription_public_loi_68_1250_art_2_notice_after_lapse_does_not_revive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """loi 68-1250 art. 1-2: a notice of 1 Jan 2027 comes after the last day,
    31 Dec 2026: the claim stays prescribed (s.5, "does not revive the claim")."""
    argv = prescription("2022-03-03", "--public-body", "state", "--formal-notice-on", "2027-01-01")
    data = cli_json(argv, capsys)
    assert data["last_day"] == "2026-12-31"
    assert "2027-01-01: ignored, the claim lapsed on 2026-12-31" in data["history"]


def test_prescription_public_loi_68_1250_art_2_successive_notices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """loi 68-1250 art. 2: each written request in time restarts the 4 years from the
    next 1 January (notices of 10 Oct 2024 and 30 Dec 2028: last day 31 Dec 2032)."""
    argv = prescription("2022-03-03", "--public-body", "local_authority")
    argv += ["--formal-notice-on", "2028-12-30", "--formal-notice-on", "2024-10-10"]
    data = cli_json(argv, capsys)
    assert data["last_day"] == "2032-12-31"


def test_prescription_public_company_c_com_l110_4_formal_notice_does_not_interrupt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. com. L110-4: "Public companies outside that list follow the ordinary 5 years"
    (s.5), which a formal notice does not interrupt (Cass. com. 18 May 2022,
    n° 20-23.204)."""
    argv = prescription("2022-03-03", "--public-body", "public_company")
    data = cli_json([*argv, "--formal-notice-on", "2026-12-30"], capsys)
    assert (data["last_day"], data["years"], data["article"]) == (
        "2027-03-03",
        5,
        "C. com. L110-4",
    )
    assert any("does not interrupt" in entry for entry in data["history"])


def test_prescription_public_body_unknown_keeps_the_earlier_day_loi_68_1250_s7(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """loi 68-1250 art. 2 vs C. com. L110-4: without --public-body, a notice of
    30 Dec 2026 would move the quadriennale to 31 Dec 2030 but not the 5 years of a
    public company (3 Mar 2027): s.7 "never rely on an extension that might not
    apply", so 2027-03-03 is kept and the history says why."""
    data = cli_json(prescription("2022-03-03", "--formal-notice-on", "2026-12-30"), capsys)
    assert (data["last_day"], data["public_body"], data["public_body_applied"]) == (
        "2027-03-03",
        None,
        "public_company",
    )
    assert any(
        "gives 2030-12-31" in entry and "the earlier, 2027-03-03, is kept" in entry
        for entry in data["history"]
    )


def test_prescription_business_formal_notice_does_not_interrupt_c_com_l110_4(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. com. L110-4, Cass. com. 18 May 2022: "due 18 Jun 2020, 5 years: last day
    18 Jun 2025" (s.5); a formal notice changes nothing, --public-body is refused."""
    argv = ["prescription", "--due-date", "2020-06-18", "--debtor-kind", "business"]
    data = cli_json([*argv, "--formal-notice-on", "2024-01-15"], capsys)
    assert (data["last_day"], data["years"]) == ("2025-06-18", 5)
    code, out, err = cli([*argv, "--public-body", "state"], capsys)
    assert (code, out) == (2, "")
    assert err == "error: --public-body applies only to --debtor-kind public\n"


def test_prescription_public_acknowledgement_says_the_reference_is_silent_loi_68_1250_art_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """loi 68-1250 art. 2: the reference names only written payment requests; for an
    acknowledgement (C. civ. 2240) the output says the reference is silent on how the
    quadriennale restarts (here from 1 Jan 2024: last day 31 Dec 2027)."""
    argv = prescription("2022-03-03", "--public-body", "state", "--interrupted-on", "2023-05-02")
    data = cli_json(argv, capsys)
    assert data["last_day"] == "2027-12-31"
    assert any(entry.startswith("2023-05-02:") and "silent" in entry for entry in data["history"])


# ------------------------------------------------------------ deadline, public debtor


@pytest.mark.parametrize(
    ("buyer", "days", "article", "unextended", "last_day"),
    [
        ("state", 30, "R2192-10", "2025-05-08", "2025-05-09"),  # 8 May: Victoire 1945
        ("local_authority", 30, "R2192-10", "2025-05-08", "2025-05-09"),
        ("public_hospital", 50, "R2192-11", "2025-05-28", "2025-05-28"),
        ("public_company", 60, "R2192-11", "2025-06-07", "2025-06-10"),  # Sat; Mon Whit Monday
    ],
)
def test_deadline_public_payment_period_c_commande_publique_r2192_10_r2192_11(
    buyer: str,
    days: int,
    article: str,
    unextended: str,
    last_day: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. commande publique R2192-10, R2192-11: "délai global de paiement of 30 days
    (State, local authorities), 50 days (public hospitals), 60 days (public companies)"
    (s.1), from an invoice received on 8 Apr 2025; the output says where the reference
    is silent (the starting event, the working-day extension)."""
    argv = ["deadline", "--start", "2025-04-08", "--public-payment", buyer]
    data = cli_json(argv, capsys)
    assert (data["days"], data["article"]) == (days, f"C. commande publique {article}")
    assert (data["unextended_last_day"], data["last_day"]) == (unextended, last_day)
    assert any("silent" in note and "working day" in note for note in data["notes"])
    assert any("not the event it runs from" in note for note in data["notes"])


def test_deadline_public_interest_45_days_after_principal_c_commande_publique_r2192_36(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. commande publique R2192-36: "The buyer must pay interest and indemnity within
    45 days of paying the principal" (s.2): principal paid 2 Jun 2025, by 17 Jul 2025."""
    data = cli_json(["deadline", "--start", "2025-06-02", "--public-interest"], capsys)
    assert (data["last_day"], data["moved_from"], data["days"]) == ("2025-07-17", None, 45)
    assert data["article"] == "C. commande publique R2192-36"


def test_deadline_formal_notice_to_a_public_debtor_cpc_641_642_worked_example_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CPC 641, 642 (s.7), default-policies.md example 3: "An 8-day deadline from a letter
    first presented on Wednesday 2025-04-30 would end Thursday 2025-05-08, a public
    holiday, so it ends Friday 2025-05-09"; the same for a public debtor's notice."""
    data = cli_json(["deadline", "--start", "2025-04-30", "--days", "8"], capsys)
    assert data == {
        "last_day": "2025-05-09",
        "moved_from": "2025-05-08",
        "reason": "2025-05-08 is a public holiday (Fête de la Victoire); "
        "moved to the next working day, 2025-05-09 (CPC 642)",
    }


# ------------------------------------------------------------ decompte, public debtor


@HALVES
def test_decompte_public_r2192_31_ecb_plus_8_fixed_and_d2192_35_indemnity(
    half: Half, capsys: pytest.CaptureFixture[str]
) -> None:
    """C. commande publique L2192-13, R2192-31, D2192-35: "at the ECB rate in force on the
    first day of the half-year in which interest started + 8 points, fixed for the whole
    period; plus the 40 EUR indemnity" (s.2). Interest starts on the half-year's first
    day and runs through the next half-year at that same rate."""
    due = half.first - timedelta(days=1)
    whole = cli_json(decompte(due, half.last, "public"), capsys)
    assert whole["penalties"] == PUBLIC_WHOLE_HALF[half.label]
    assert whole["indemnity"] == "40.00"
    rate = str(Decimal(half.ecb) + 8)
    next_half_end = end_of_next_half(half)
    data = cli_json(decompte(due, next_half_end, "public"), capsys)
    days = (next_half_end - due).days
    assert [(p["rate"], p["half_year"], p["days"]) for p in data["rate_periods"]] == [
        (rate, half.label, days)
    ]
    assert data["penalties"] == interest(rate, days)
    assert data["total"] == str(PRINCIPAL + Decimal(data["penalties"]) + Decimal("40.00"))
    (period,) = data["rate_periods"]
    assert period["article"] == "C. commande publique R2192-31"
    assert (period["status"], period["source"]) == (half.status, data["rate_rows"][0]["source"])
    assert [row["half_year"] for row in data["rate_rows"]] == [half.label]
    assert data["rate_rows"][0]["ecb_rate"] == half.ecb
    assert "D2192-35" in data["regime"]["indemnity"]
    assert any("R2192-36" in note for note in data["notes"])
    assert any("silent" in note for note in data["notes"])
    assert any("reported" in note for note in data["notes"]) == (half.status == "reported")


def test_decompte_public_r2192_36_interest_due_45_days_after_the_principal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. commande publique R2192-31, R2192-36: 10,000 EUR due 31 Mar 2024, paid
    30 Sep 2024: 183 days at 4.50 + 8 = 12.50 % (not the 4.25 % of 2024 H2) =
    626.71 EUR + 40 EUR, to be paid by 14 Nov 2024 (45 days)."""
    argv = decompte(date(2024, 3, 31), date(2024, 9, 30), "public", "--payment", "2024-09-30:10000")
    data = cli_json(argv, capsys)
    assert (data["penalties"], data["indemnity"], data["total"]) == ("626.71", "40.00", "666.71")
    assert data["interest_and_indemnity_due_by"] == "2024-11-14"
    code, out, _ = cli(argv, capsys)
    assert code == 0
    assert "Intérêts moratoires / Moratorium interest" in out
    assert "12.50 %" in out


# ------------------------------------------------------------ decompte, every half-year


@HALVES
def test_decompte_b2b_c_com_l441_10_ii_ecb_plus_10_each_half_year(
    half: Half, capsys: pytest.CaptureFixture[str]
) -> None:
    """C. com. L441-10 II, D441-5: "the ECB main refinancing rate + 10 points. The ECB
    rate in force on 1 January applies to the first half-year, the rate in force on
    1 July to the second" (s.2, table "B2B statutory rate"); the JSON carries the row's
    status and source."""
    days, penalties = B2B_WHOLE_HALF[half.label]
    data = cli_json(decompte(half.first - timedelta(days=1), half.last, "business"), capsys)
    assert (data["penalties"], data["indemnity"]) == (penalties, "40.00")
    assert penalties == interest(half.b2b, days)
    (period,) = data["rate_periods"]
    assert (period["half_year"], period["rate"], period["days"]) == (half.label, half.b2b, days)
    assert period["basis"] == f"ECB rate {half.ecb} % on {half.first} + 10 points"
    assert period["article"] == "C. com. L441-10 II"
    (row,) = data["rate_rows"]
    assert (row["ecb_rate"], row["b2b_rate"], row["status"]) == (half.ecb, half.b2b, half.status)
    assert row["legal_rate_other"] == half.legal_other
    assert row["source"] == period["source"] != ""
    assert "french-collection-law.md" in row["source"]
    if half.status == "reported":
        assert "REPORTED" in row["source"]
        assert any("reported, not confirmed" in note for note in data["notes"])
    else:
        assert data["notes"] == []


def test_decompte_b2b_c_com_l441_10_ii_all_half_years_from_2024_h1_in_one_statement(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. com. L441-10 II: 10,000 EUR due 31 Dec 2023, as of 31 Dec 2026: each half-year
    at its own rate (14.50, 14.25, 13.15, 12.15, 12.15, 12.40 %), the exact sum rounded
    once: 3,933.56 EUR + 40 EUR; a 2027 H1 date is "not configured", never zero."""
    data = cli_json(decompte(date(2023, 12, 31), date(2026, 12, 31), "business"), capsys)
    assert [(p["half_year"], p["rate"]) for p in data["rate_periods"]] == [
        (h.label, h.b2b) for h in REFERENCE
    ]
    assert [r["status"] for r in data["rate_rows"]] == [h.status for h in REFERENCE]
    assert all(r["source"] for r in data["rate_rows"])
    assert (data["penalties"], data["total"]) == ("3933.56", "13973.56")
    code, out, err = cli(decompte(date(2023, 12, 31), date(2027, 1, 1), "business"), capsys)
    assert (code, out, err) == (2, "", "error: rate for 2027 H1 not configured\n")


def test_decompte_b2b_c_com_l441_10_ii_worked_example_1(capsys: pytest.CaptureFixture[str]) -> None:
    """C. com. L441-10 II, D441-5, default-policies.md example 1: "12,000.00 EUR due
    2025-03-31, paid 2025-09-15 ... 393.4192 + 307.5781 = 700.9973 -> 701.00 EUR; plus
    40.00 EUR indemnity; total claimed 12,741.00 EUR"."""
    argv = ["decompte", "--principal", "12000.00", "--due-date", "2025-03-31"]
    data = cli_json([*argv, "--as-of", "2025-09-15", "--debtor-kind", "business"], capsys)
    assert (data["penalties"], data["indemnity"], data["total"]) == ("701.00", "40.00", "12741.00")
    assert [(s["days"], s["rate"], s["amount"]) for s in data["segments"]] == [
        (91, "13.15", "393.42"),
        (77, "12.15", "307.58"),
    ]


@HALVES
def test_decompte_consumer_c_mon_fin_l313_2_legal_rate_other_cases_each_half_year(
    half: Half, capsys: pytest.CaptureFixture[str]
) -> None:
    """C. mon. fin. L313-2, C. civ. 1231-6, 1344-1: legal rate, "all other cases" column
    (5.07, 4.92, 3.71, 2.76, 2.62 %) from the notice's first presentation; 2026 H2:
    "legal interest rate for 2026 H2 not configured" (s.2)."""
    presented = ["--formal-notice-presented-on", half.first.isoformat()]
    argv = decompte(date(2023, 11, 30), half.last, "consumer", *presented)
    if half.legal_other is None:
        code, out, err = cli(argv, capsys)
        assert (code, out) == (2, "")
        assert err == f"error: legal interest rate for {half.label} not configured\n"
        return
    data = cli_json(argv, capsys)
    assert data["penalties"] == CONSUMER_FROM_PRESENTATION[half.label]
    assert data["indemnity"] == "0.00"
    (period,) = data["rate_periods"]
    assert (period["rate"], period["article"]) == (
        half.legal_other,
        "C. civ. 1231-6; C. mon. fin. L313-2",
    )
    assert data["rate_rows"][0]["legal_rate_other"] == half.legal_other


@HALVES
def test_decompte_contract_rate_floor_c_com_l441_10_ii_3_times_legal_rate(
    half: Half, capsys: pytest.CaptureFixture[str]
) -> None:
    """C. com. L441-10 II: a contract rate is "never below 3 x the legal interest rate";
    the reference quotes 15.21 % (2024 H1), 14.76 % (2024 H2), 8.28 % (2025 H2) and
    7.86 % (2026 H1); 2025 H1 is 3 x 3.71 = 11.13 %."""
    argv = decompte(half.first - timedelta(days=1), half.last, "business", "--contract-rate", "5")
    if half.floor is None:
        code, _, err = cli(argv, capsys)
        assert (code, err) == (2, f"error: legal interest rate for {half.label} not configured\n")
        return
    data = cli_json(argv, capsys)
    days = B2B_WHOLE_HALF[half.label][0]
    assert [p["rate"] for p in data["rate_periods"]] == [half.floor]
    assert data["penalties"] == interest(half.floor, days)


# ------------------------------------------------------------ the installed command


@pytest.mark.parametrize(
    "argv",
    [
        prescription("2022-03-03", "--public-body", "state", "--formal-notice-on", "2026-12-31"),
        ["deadline", "--start", "2025-04-08", "--public-payment", "state"],
        decompte(date(2024, 3, 31), date(2024, 9, 30), "public"),
        decompte(date(2023, 12, 31), date(2026, 12, 31), "business"),
    ],
    ids=["prescription", "deadline", "decompte-public", "decompte-b2b"],
)
def test_installed_recouvre_loi_68_1250_r2192_31_l441_10_same_as_in_process(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`.venv/bin/recouvre` (loi 68-1250 art. 2, C. commande publique R2192-10 and
    R2192-31, C. com. L441-10 II) prints what the in-process entry point prints."""
    recouvre = Path(sys.executable).with_name("recouvre")
    if not recouvre.exists():
        recouvre = ROOT / ".venv" / "bin" / "recouvre"
    done = subprocess.run(
        [str(recouvre), *argv, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == cli_json(argv, capsys)
    expected = {
        "prescription": ("last_day", "2030-12-31"),
        "deadline": ("last_day", "2025-05-09"),
        "decompte": ("penalties", "626.71" if "public" in argv else "3933.56"),
    }[argv[0]]
    assert json.loads(done.stdout)[expected[0]] == expected[1]
