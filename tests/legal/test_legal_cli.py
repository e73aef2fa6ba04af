"""The CLI contract: JSON shapes, readable text, one-line errors with exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from legal.cli import run

EXAMPLE_1 = [
    "decompte",
    "--principal",
    "12000.00",
    "--due-date",
    "2025-03-31",
    "--as-of",
    "2025-09-15",
    "--debtor-kind",
    "business",
]
EXPECTED_1 = {
    "principal": "12000.00",
    "paid": "0.00",
    "penalties": "701.00",
    "indemnity": "40.00",
    "total": "12741.00",
    "segments": [
        {
            "start": "2025-04-01",
            "end": "2025-06-30",
            "days": 91,
            "rate": "13.15",
            "amount": "393.42",
        },
        {
            "start": "2025-07-01",
            "end": "2025-09-15",
            "days": 77,
            "rate": "12.15",
            "amount": "307.58",
        },
    ],
}


PRESCRIPTION = ["prescription", "--due-date", "2020-06-18", "--debtor-kind"]
COURT_CLAIM_2022 = [*PRESCRIPTION, "business", "--court-claim-on", "2022-01-01"]
CONSUMER_SENT_0610 = [*EXAMPLE_1, "--debtor-kind", "consumer", "--formal-notice-date", "2025-06-10"]


def json_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    assert run(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


def test_decompte_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    data = json_of([*EXAMPLE_1, "--json"], capsys)
    assert isinstance(data, dict)
    assert {key: data[key] for key in EXPECTED_1} == EXPECTED_1
    assert set(data) == {
        *EXPECTED_1,
        "as_of",
        "interest_start",
        "interest_start_basis",
        "rate_periods",
        "imputation",
        "small_claims",
        "notes",
        "rate_table_version",
        "rate_rows",
        "regime",
    }
    assert (data["as_of"], data["interest_start"]) == ("2025-09-15", "2025-04-01")
    assert [(p["start"], p["end"], p["rate"], p["status"]) for p in data["rate_periods"]] == [
        ("2025-04-01", "2025-06-30", "13.15", "official"),
        ("2025-07-01", "2025-09-15", "12.15", "official"),
    ]
    assert data["notes"] == []
    assert data["rate_table_version"] == "fr-rates-2026H2-reported-2"


def test_decompte_json_carries_the_reported_rate_provenance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """C. com. L441-10 II: the 2026 H2 ECB rate is only reported; the JSON says so
    (notes and the period's status and source), not only the text output."""
    argv = [*EXAMPLE_1, "--due-date", "2026-06-30", "--as-of", "2026-07-10", "--json"]
    data = json_of(argv, capsys)
    assert isinstance(data, dict)
    assert any("reported, not confirmed" in note for note in data["notes"])
    (period,) = data["rate_periods"]
    assert (period["half_year"], period["rate"], period["status"]) == (
        "2026 H2",
        "12.40",
        "reported",
    )
    assert "REPORTED" in period["source"]
    assert run(argv[:-1]) == 0
    assert "[REPORTED, not confirmed]" in capsys.readouterr().out


def test_decompte_with_a_payment(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*EXAMPLE_1, "--as-of", "2025-06-30", "--payment", "2025-05-15:2000.00", "--json"]
    data = json_of(argv, capsys)
    assert isinstance(data, dict)
    assert (data["paid"], data["penalties"], data["total"]) == ("2000.00", "360.27", "10400.27")


def test_decompte_readable_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(EXAMPLE_1) == 0
    out = capsys.readouterr().out
    assert "Total dû / Total due" in out
    assert "12741.00" in out
    assert "393.42" in out


def test_deadline_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    data = json_of(["deadline", "--start", "2025-04-30", "--days", "8", "--json"], capsys)
    assert isinstance(data, dict)
    assert set(data) == {"last_day", "moved_from", "reason"}
    assert (data["last_day"], data["moved_from"]) == ("2025-05-09", "2025-05-08")


def test_deadline_uses_the_postal_code(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deadline", "--start", "2025-12-18", "--days", "8", "--json"]
    assert json_of([*argv, "--postal-code", "57000"], capsys) == {
        "last_day": "2025-12-29",
        "moved_from": "2025-12-26",
        "reason": "2025-12-26 is a public holiday (Saint-Étienne); "
        "moved to the next working day, 2025-12-29 (CPC 642)",
    }
    data = json_of([*argv, "--postal-code", "75001"], capsys)
    assert isinstance(data, dict)
    assert (data["last_day"], data["moved_from"]) == ("2025-12-26", None)


def test_deadline_in_months(capsys: pytest.CaptureFixture[str]) -> None:
    data = json_of(["deadline", "--start", "2025-01-31", "--months", "1", "--json"], capsys)
    assert isinstance(data, dict)
    assert (data["last_day"], data["moved_from"]) == ("2025-02-28", None)


def _short(data: object) -> tuple[object, ...]:
    assert isinstance(data, dict)
    return data["last_day"], data["years"], data["article"]


def test_prescription_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prescription", "--due-date", "2020-06-18", "--debtor-kind", "business", "--json"]
    data = json_of(argv, capsys)
    assert data == {
        "last_day": "2025-06-18",
        "years": 5,
        "article": "C. com. L110-4",
        "pending": False,
        "alert_dates": ["2025-03-20", "2025-05-19"],
        "history": ["2020-06-18: period of 5 years starts, last day 2025-06-18"],
        "trigger": "2020-06-18",
        "public_body": None,
        "public_body_applied": None,
    }
    restarted = json_of([*argv, "--interrupted-on", "2022-03-10"], capsys)
    assert _short(restarted) == ("2027-03-10", 5, "C. com. L110-4")
    consumer = ["prescription", "--due-date", "2024-02-29", "--debtor-kind", "consumer", "--json"]
    assert _short(json_of(consumer, capsys)) == ("2026-02-28", 2, "C. consom. L218-2")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*EXAMPLE_1, "--bogus"], "unrecognized arguments: --bogus"),
        ([*EXAMPLE_1[:2], "-5", *EXAMPLE_1[3:]], "principal must not be zero or negative"),
        (["decompte", "--principal", "1", "--due-date", "2025-02-30"], "2025-02-30"),
        ([*EXAMPLE_1, "--as-of", "2027-01-15"], "rate for 2027 H1 not configured"),
        ([*EXAMPLE_1, "--payment", "2025-05-15"], "YYYY-MM-DD:AMOUNT"),
        ([*EXAMPLE_1, "--payment", "2025-05-15:-3"], "payment amount"),
        ([*EXAMPLE_1, "--debtor-kind", "friend"], "invalid choice"),
        (["deadline", "--start", "2025-01-01"], "--days"),
        (["deadline", "--start", "2025-01-01", "--days", "0"], "at least 1 day"),
        (["deadline", "--start", "2025-01-01", "--days", "x"], "invalid int value"),
        (["deadline", "--start", "2025-01-01", "--days", "1", "--postal-code", "9"], "5 digits"),
        (["prescription", "--due-date", "2020-06-18"], "--debtor-kind"),
        (
            [*PRESCRIPTION, "public", "--public-body", "army"],
            "invalid choice",
        ),
        (
            [*PRESCRIPTION, "business", "--proceeding-ended-on", "2022-01-01"],
            "needs --court-claim-on",
        ),
        (
            [*PRESCRIPTION, "business", "--enforcement-act-on", "2022-01-01"],
            "needs --title-on",
        ),
        (
            [*COURT_CLAIM_2022, "--proceeding-ended-on", "2021-01-01"],
            "before it was filed",
        ),
        (
            [*CONSUMER_SENT_0610, "--formal-notice-presented-on", "2025-06-09"],
            "before it was sent",
        ),
        (["nonsense"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_give_one_error_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert message in err


def test_consumer_legal_rate_not_configured(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*EXAMPLE_1, "--debtor-kind", "consumer", "--formal-notice-date", "2026-05-01"]
    assert run([*argv, "--as-of", "2026-07-02"]) == 2
    assert capsys.readouterr().err == "error: legal interest rate for 2026 H2 not configured\n"


def test_help_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["decompte", "--help"]) == 0
    assert "--principal" in capsys.readouterr().out


def test_module_runs_as_a_subprocess() -> None:
    root = Path(__file__).resolve().parents[2]
    argv = ["deadline", "--start", "2025-04-30", "--days", "8", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "legal.cli", *argv],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["last_day"] == "2025-05-09"
    failed = subprocess.run(
        [sys.executable, "-m", "legal.cli", "deadline", "--start", "nope", "--days", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: ") and failed.stderr.count("\n") == 1
