"""Write-off of an irrecoverable invoice: evidence, VAT recovery (CGI 272-1), PCG entries."""

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from legal.accrual import Payment
from legal.errors import LegalError
from legal.write_off import (
    EVIDENCE_RULES,
    Evidence,
    EvidenceKind,
    WriteOffAssessment,
    format_amount_fr,
    journal_balanced,
    rectification_mention_fr,
    vat_claim_deadline,
    write_off_assessment,
)
from legal.write_off_report import write_off_csv, write_off_report

D = Decimal
CERTIFICATE = Evidence(
    kind=EvidenceKind.LIQUIDATOR_CERTIFICATE,
    on=date(2025, 6, 2),
    reference="CERT-2025-17",
    issuer="Me Dupont, liquidateur",
)
REMINDER = Evidence(kind=EvidenceKind.UNANSWERED_REMINDER, on=date(2024, 4, 10))


def assess(**overrides: Any) -> WriteOffAssessment:
    """1,200.00 EUR incl. 200.00 VAT (20 %), unpaid, business debtor, VAT on debits,
    liquidator's certificate, written off on 30 Jun 2025."""
    arguments: dict[str, Any] = {
        "invoice_reference": "F2024-0042",
        "invoice_date": date(2024, 3, 1),
        "principal_ttc": D("1200.00"),
        "vat_amount": D("200.00"),
        "evidence": [CERTIFICATE],
        "debtor_kind": "business",
        "vat_exigibility": "debits",
        "assessed_on": date(2025, 6, 30),
    }
    arguments.update(overrides)
    return write_off_assessment(**arguments)


def lines_by_account(result: WriteOffAssessment, stage: str) -> dict[str, tuple[Decimal, Decimal]]:
    (entry,) = [e for e in result.entries if e.stage == stage]
    return {line.account: (line.debit, line.credit) for line in entry.lines}


def net_debit(result: WriteOffAssessment, account: str) -> Decimal:
    """Debit minus credit posted to ``account`` by all the entries."""
    lines = [line for entry in result.entries for line in entry.lines if line.account == account]
    return sum((line.debit - line.credit for line in lines), D("0"))


def totals(result: WriteOffAssessment) -> tuple[Decimal, Decimal]:
    debit = sum((e.total_debit for e in result.entries), D("0"))
    credit = sum((e.total_credit for e in result.entries), D("0"))
    return debit, credit


# --- VAT: débits vs encaissements (CGI 272-1, 269-2; BOI-TVA-DECLA-20-30-10-10 § 30) ---


def test_write_off_cgi_272_1_debits_recovers_the_vat_paid_on_the_unpaid_invoice() -> None:
    """On debits the VAT was paid on invoicing whatever the payment (CGI 269-2-a, c;
    BOI-TVA-DED-40-10-20 § 20): an irrecoverable claim gets it back (CGI 272-1)."""
    result = assess()
    assert (result.unpaid_ttc, result.unpaid_ht, result.unpaid_vat) == (
        D("1200.00"),
        D("1000.00"),
        D("200.00"),
    )
    assert result.vat_status == "recoverable"
    assert result.vat_recoverable == D("200.00")
    assert result.treatment == "loss" and result.loss_deductible
    assert result.rectification_required
    assert lines_by_account(result, "write_off") == {
        "654": (D("1000.00"), D("0.00")),
        "44571": (D("200.00"), D("0.00")),
        "411": (D("0.00"), D("1200.00")),
    }


def test_write_off_cgi_272_1_encaissements_nothing_was_paid_so_nothing_is_recovered() -> None:
    """On receipts the VAT on the unpaid part never fell due (CGI 269-2-c): only VAT that
    was due can come back (BOI-TVA-DECLA-20-30-10-10 § 10, § 30)."""
    result = assess(vat_exigibility="encaissements")
    assert result.vat_status == "not_due_on_receipts"
    assert result.vat_recoverable == D("0.00")
    assert result.vat_claim_deadline is None and result.vat_right_opened_on is None
    assert not result.rectification_required
    assert rectification_mention_fr(result) is None
    # The loss is still the amount excl. VAT; the pending, never-due VAT is cancelled.
    assert lines_by_account(result, "write_off") == {
        "654": (D("1000.00"), D("0.00")),
        "4458": (D("200.00"), D("0.00")),
        "411": (D("0.00"), D("1200.00")),
    }
    assert all(line.account != "44571" for e in result.entries for line in e.lines)


def test_write_off_encaissements_pending_vat_account_is_the_accountants_choice() -> None:
    result = assess(vat_exigibility="encaissements", pending_vat_account="44574")
    assert "44574" in lines_by_account(result, "write_off")


# --- Part payment (BOI-TVA-DED-40-10-20 § 10) -----------------------------------------


def test_write_off_boi_tva_ded_40_10_20_partial_payment_vat_pro_rata_of_unpaid_ttc() -> None:
    """Only part of the price unpaid: the VAT recovered is the invoice's VAT in proportion
    to the unpaid TTC: 200 x 700 / 1200 = 116.666... -> 116.67; HT 700 - 116.67."""
    result = assess(payments=[Payment(on=date(2024, 5, 2), amount=D("500.00"))])
    assert (result.paid, result.paid_to_principal, result.unpaid_ttc) == (
        D("500.00"),
        D("500.00"),
        D("700.00"),
    )
    assert (result.unpaid_vat, result.unpaid_ht) == (D("116.67"), D("583.33"))
    assert result.vat_recoverable == D("116.67")
    assert result.unpaid_ht + result.vat_recoverable == result.unpaid_ttc
    assert lines_by_account(result, "write_off")["654"] == (D("583.33"), D("0.00"))


def test_write_off_encaissements_partial_payment_vat_on_the_paid_part_stays_due() -> None:
    result = assess(
        vat_exigibility="encaissements",
        payments=[Payment(on=date(2024, 5, 2), amount=D("500.00"))],
    )
    assert result.vat_recoverable == D("0.00")
    assert result.unpaid_vat == D("116.67")  # never due, cancelled, not recovered


# --- Evidence: certificate vs reminder (CGI 272-1; BOI-BIC-PROV-40-20 § 10) --------------


def test_write_off_liquidator_certificate_makes_the_loss_definitive() -> None:
    rule = EVIDENCE_RULES[EvidenceKind.LIQUIDATOR_CERTIFICATE]
    assert rule.loss_deductible and rule.vat_recoverable
    result = assess(evidence=[REMINDER, CERTIFICATE], doubtful_on=date(2024, 12, 31))
    assert result.deciding_evidence == CERTIFICATE
    assert result.treatment == "loss"
    assert [e.stage for e in result.entries] == ["doubtful", "provision", "write_off", "reversal"]


def test_write_off_unanswered_reminder_justifies_only_a_provision() -> None:
    """Non-payment at the due date is not irrecoverability (BOI-TVA-DED-40-10-20 § 40 s.):
    the claim is at best doubtful, a provision (CGI 39-1-5°; BOI-BIC-PROV-40-20 § 10),
    no charge 654 and no VAT recovery."""
    rule = EVIDENCE_RULES[EvidenceKind.UNANSWERED_REMINDER]
    assert not rule.loss_deductible and not rule.vat_recoverable
    result = assess(evidence=[REMINDER])
    assert result.treatment == "provision" and not result.loss_deductible
    assert result.vat_status == "not_yet_recoverable" and result.vat_recoverable == D("0.00")
    assert result.vat_claim_deadline is None and result.loss == D("0.00")
    assert [e.stage for e in result.entries] == ["doubtful", "provision"]
    assert all(e.on == date(2025, 6, 30) for e in result.entries)
    assert lines_by_account(result, "doubtful") == {
        "416": (D("1200.00"), D("0.00")),
        "411": (D("0.00"), D("1200.00")),
    }
    # The provision is on the amount excl. VAT (the VAT is not a loss).
    assert lines_by_account(result, "provision") == {
        "6817": (D("1000.00"), D("0.00")),
        "491": (D("0.00"), D("1000.00")),
    }
    assert any("mere delay" in note for note in result.notes)


@pytest.mark.parametrize(
    "kind",
    [
        EvidenceKind.COLLECTIVE_PROCEEDING_OPENED,
        EvidenceKind.DISPUTE,
        EvidenceKind.FORMAL_NOTICE_UNANSWERED,
        EvidenceKind.AGENCY_CERTIFICATE,
    ],
)
def test_write_off_weaker_evidence_is_provision_only(kind: EvidenceKind) -> None:
    result = assess(evidence=[Evidence(kind=kind, on=date(2025, 1, 15))])
    assert (result.treatment, result.vat_recoverable) == ("provision", D("0.00"))


@pytest.mark.parametrize(
    "kind",
    [
        EvidenceKind.LIQUIDATION_CLOSURE,
        EvidenceKind.FAILED_ENFORCEMENT,
        EvidenceKind.DEBTOR_DISAPPEARED,
    ],
)
def test_write_off_definitive_evidence_of_failed_proceedings(kind: EvidenceKind) -> None:
    """Closure for insufficiency of assets (C. com. L643-11), a commissaire de justice's
    procès-verbal de carence, a debtor gone without an address (CPC 659)."""
    result = assess(evidence=[Evidence(kind=kind, on=date(2025, 2, 3))])
    assert (result.treatment, result.vat_recoverable) == ("loss", D("200.00"))


def test_write_off_cgi_272_1_liquidation_judgment_recovers_vat_but_provisions_the_loss() -> None:
    """CGI 272-1: the VAT may be imputed from the judgment pronouncing the liquidation;
    the loss is established later, at the closure (RES 2005/70): provision until then."""
    judgment = Evidence(kind=EvidenceKind.LIQUIDATION_JUDGMENT, on=date(2025, 3, 12))
    result = assess(evidence=[judgment])
    assert result.treatment == "provision" and result.vat_recoverable == D("200.00")
    assert result.vat_claim_deadline == date(2027, 12, 31)
    assert [e.stage for e in result.entries] == ["doubtful", "provision", "vat_recovery"]
    assert lines_by_account(result, "vat_recovery") == {
        "44571": (D("200.00"), D("0.00")),
        "416": (D("0.00"), D("200.00")),
    }
    # After the VAT came back, 416 carries exactly the amount excl. VAT, all provisioned.
    assert net_debit(result, "416") == result.provision == D("1000.00")


# --- Time limit (LPF R*196-1 c; CGI ann. II art. 208) ----------------------------------


def test_write_off_lpf_r196_1_deadline_31_december_of_the_second_year() -> None:
    assert vat_claim_deadline(date(2025, 6, 2)) == date(2027, 12, 31)
    assert vat_claim_deadline(date(2025, 1, 1)) == date(2027, 12, 31)
    assert vat_claim_deadline(date(2024, 12, 31)) == date(2026, 12, 31)
    result = assess()
    assert (result.vat_right_opened_on, result.vat_claim_deadline) == (
        date(2025, 6, 2),
        date(2027, 12, 31),
    )


def test_write_off_lpf_r196_1_deadline_runs_from_the_liquidation_judgment_safe_side() -> None:
    """The right opens on the liquidation judgment (CGI 272-1): the creditor's deadline is
    planned from it (french-collection-law.md s.7); the later day from the certificate
    (RES 2005/70; CE 28 Jul 2011 n° 318872) is only noted."""
    judgment = Evidence(kind=EvidenceKind.LIQUIDATION_JUDGMENT, on=date(2024, 11, 5))
    result = assess(evidence=[CERTIFICATE, judgment])
    assert result.treatment == "loss"
    assert result.vat_right_opened_on == date(2024, 11, 5)
    assert result.vat_claim_deadline == date(2026, 12, 31)
    assert any("2027-12-31" in note and "not relied on" in note for note in result.notes)


# --- Rates and rounding to the cent ----------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "vat", "ht"),
    [
        (D("20"), D("166.67"), D("833.33")),  # 1000 x 20 / 120 = 166.666...
        (D("10"), D("90.91"), D("909.09")),  # 1000 x 10 / 110 = 90.909...
        (D("5.5"), D("52.13"), D("947.87")),  # 1000 x 5.5 / 105.5 = 52.132...
    ],
)
def test_write_off_vat_rates_20_10_5_5_percent(rate: Decimal, vat: Decimal, ht: Decimal) -> None:
    """Rates of CGI 278, 278 bis and 278-0 bis: the VAT inside an amount incl. VAT is
    TTC x rate / (100 + rate), rounded to the cent."""
    result = assess(principal_ttc=D("1000.00"), vat_amount=None, vat_rate=rate)
    assert (result.invoice_vat, result.invoice_ht, result.vat_source) == (vat, ht, "rate")
    assert (result.vat_recoverable, result.unpaid_ht) == (vat, ht)
    assert result.balanced


def test_write_off_rounds_the_pro_rata_half_up_to_the_cent() -> None:
    """200 x 0.03 / 1200 = 0.005 exactly -> 0.01 (half up); HT 0.02."""
    result = assess(payments=[Payment(on=date(2024, 5, 2), amount=D("1199.97"))])
    assert (result.unpaid_ttc, result.vat_recoverable, result.unpaid_ht) == (
        D("0.03"),
        D("0.01"),
        D("0.02"),
    )


def test_write_off_invoice_vat_amount_wins_over_the_rate() -> None:
    """What was declared is the invoice's VAT (a mixed-rate invoice, line rounding)."""
    result = assess(vat_rate=D("20"), vat_amount=D("180.00"))
    assert (result.invoice_vat, result.vat_source) == (D("180.00"), "invoice_amount")
    assert any("differs" in note for note in result.notes)


# --- Entries balance (PCG) -------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"doubtful_on": date(2024, 12, 31)},
        {"doubtful_on": date(2024, 12, 31), "provision_rate": D("50")},
        {"vat_exigibility": "encaissements", "doubtful_on": date(2024, 9, 30)},
        {"evidence": [REMINDER]},
        {"evidence": [Evidence(kind="liquidation_judgment", on=date(2025, 3, 12))]},
        {
            "payments": [Payment(on=date(2024, 5, 2), amount=D("333.33"))],
            "penalties": D("61.27"),
            "indemnity": D("40.00"),
            "accessories_booked": True,
            "doubtful_on": date(2024, 12, 31),
            "vat_amount": None,
            "vat_rate": D("5.5"),
        },
    ],
)
def test_write_off_pcg_every_entry_and_the_journal_balance(overrides: dict[str, Any]) -> None:
    result = assess(**overrides)
    assert all(entry.balanced for entry in result.entries)
    assert journal_balanced(result.entries) and result.balanced
    debit, credit = totals(result)
    assert debit == credit
    # 411 is cleared of exactly what was written off or reclassified.
    assert -net_debit(result, "411") == result.written_off


def test_write_off_pcg_provision_is_reversed_in_full_at_write_off() -> None:
    """491 opened by 6817 is closed by 7817; the loss on 654 is the whole HT."""
    result = assess(doubtful_on=date(2024, 12, 31), provision_rate=D("50"))
    assert lines_by_account(result, "provision")["6817"] == (D("500.00"), D("0.00"))
    assert lines_by_account(result, "reversal") == {
        "491": (D("500.00"), D("0.00")),
        "7817": (D("0.00"), D("500.00")),
    }
    assert lines_by_account(result, "write_off") == {
        "654": (D("1000.00"), D("0.00")),
        "44571": (D("200.00"), D("0.00")),
        "416": (D("0.00"), D("1200.00")),
    }
    by_stage = {e.stage: e.on for e in result.entries}
    assert by_stage["provision"] == date(2024, 12, 31)
    assert by_stage["write_off"] == by_stage["reversal"] == date(2025, 6, 30)


# --- Penalties and indemnity carry no VAT (C. com. L441-10; BOI-TVA-BASE-10-10-10) ------


def test_write_off_l441_10_penalties_and_40_eur_indemnity_carry_no_vat() -> None:
    """Penalties and the 40 EUR indemnity repair the delay, they are not the consideration
    of a supply (CGI 256-I; BOI-TVA-BASE-10-10-10): booked or not, they change no VAT."""
    plain = assess()
    booked = assess(penalties=D("120.50"), indemnity=D("40.00"), accessories_booked=True)
    assert booked.vat_recoverable == plain.vat_recoverable == D("200.00")
    assert booked.accessories_unpaid == D("160.50")
    assert lines_by_account(booked, "write_off") == {
        "654": (D("1160.50"), D("0.00")),
        "44571": (D("200.00"), D("0.00")),
        "411": (D("0.00"), D("1360.50")),
    }
    assert write_off_report(booked)["accessories"]["vat"] == "0.00"


def test_write_off_cgi_237_sexies_unbooked_penalties_make_no_entry() -> None:
    result = assess(penalties=D("120.50"), indemnity=D("40.00"))
    assert result.written_off == D("1200.00")
    assert lines_by_account(result, "write_off")["654"] == (D("1000.00"), D("0.00"))
    assert any("CGI 237 sexies" in note for note in result.notes)


def test_write_off_payment_beyond_principal_goes_to_the_accessories() -> None:
    """Principal first (legal/imputation.py): 1,250 paid on 1,200 leaves 110.50 of the
    160.50 accessories; no VAT is left to recover."""
    result = assess(
        payments=[Payment(on=date(2024, 9, 1), amount=D("1250.00"))],
        penalties=D("120.50"),
        indemnity=D("40.00"),
        accessories_booked=True,
    )
    assert (result.unpaid_ttc, result.vat_recoverable) == (D("0.00"), D("0.00"))
    assert (result.paid_beyond_principal, result.accessories_unpaid) == (D("50.00"), D("110.50"))
    assert lines_by_account(result, "write_off") == {
        "654": (D("110.50"), D("0.00")),
        "411": (D("0.00"), D("110.50")),
    }


def test_write_off_d441_5_consumer_owes_no_indemnity() -> None:
    with pytest.raises(LegalError, match="consumer owes no 40 EUR"):
        assess(debtor_kind="consumer", indemnity=D("40.00"))
    assert assess(debtor_kind="consumer", penalties=D("12.00")).vat_recoverable == D("200.00")


# --- Inputs the rules refuse -----------------------------------------------------------


def test_write_off_refuses_inconsistent_input() -> None:
    with pytest.raises(LegalError, match="no evidence"):
        assess(evidence=[])
    with pytest.raises(LegalError, match="after the write-off"):
        assess(evidence=[Evidence(kind="failed_enforcement", on=date(2025, 7, 1))])
    with pytest.raises(LegalError, match="after the as-of date"):
        assess(payments=[Payment(on=date(2025, 7, 1), amount=D("1.00"))])
    with pytest.raises(LegalError, match="nothing left to write off"):
        assess(payments=[Payment(on=date(2024, 5, 2), amount=D("1200.00"))])
    with pytest.raises(LegalError, match="VAT amount or its VAT rate"):
        assess(vat_amount=None)
    with pytest.raises(LegalError, match="not less than"):
        assess(vat_amount=D("1200.00"))
    with pytest.raises(LegalError, match="unknown VAT exigibility"):
        assess(vat_exigibility="monthly")
    with pytest.raises(LegalError, match="provision rate"):
        assess(evidence=[REMINDER], provision_rate=D("0"))
    with pytest.raises(LegalError, match="doubtful"):
        assess(doubtful_on=date(2025, 7, 1))


def test_write_off_public_debtor_liquidation_is_flagged() -> None:
    """A public-law person is outside the liquidation judiciaire (C. com. L640-2) and its
    property cannot be seized (CG3P L2311-1)."""
    result = assess(debtor_kind="public")
    assert any("L640-2" in note and "L2311-1" in note for note in result.notes)


# --- The report: JSON-ready data and CSV journal ---------------------------------------


def test_write_off_report_is_json_ready_with_exact_amounts() -> None:
    result = assess(
        doubtful_on=date(2024, 12, 31),
        payments=[Payment(on=date(2024, 5, 2), amount=D("500.00"))],
    )
    report = write_off_report(result)
    assert json.loads(json.dumps(report)) == report
    assert report["unpaid"] == {"ttc": "700.00", "ht": "583.33", "vat": "116.67"}
    assert report["vat"]["recoverable"] == "116.67"
    assert report["vat"]["claim_deadline"] == "2027-12-31"
    assert report["treatment"] == "loss" and report["deciding_evidence"] == "liquidator_certificate"
    assert report["totals"]["debit"] == report["totals"]["credit"]
    assert report["totals"]["balanced"] is True
    mention = report["vat"]["rectification_mention_fr"]
    assert "583,33 € (prix net)" in mention and "116,67 € (TVA correspondante)" in mention
    assert "article 272 du CGI" in mention


def test_write_off_csv_rows_per_line_and_amounts_exact() -> None:
    result = assess(doubtful_on=date(2024, 12, 31))
    text = write_off_csv(result)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["date", "journal", "account", "label", "debit", "credit", "piece"]
    body = rows[1:]
    assert len(body) == sum(len(e.lines) for e in result.entries)
    assert body[0] == [
        "2024-12-31",
        "OD",
        "416",
        "Créance douteuse F2024-0042",
        "1200.00",
        "0.00",
        "F2024-0042-DOUT",
    ]
    debit = sum((D(row[4]) for row in body), D("0"))
    credit = sum((D(row[5]) for row in body), D("0"))
    assert debit == credit == totals(result)[0]
    assert text.endswith("\r\n")


def test_write_off_csv_french_formatting_keeps_amounts_exact() -> None:
    result = assess(payments=[Payment(on=date(2024, 5, 2), amount=D("500.00"))])
    rows = list(csv.reader(io.StringIO(write_off_csv(result, french=True)), delimiter=";"))
    assert rows[0] == ["Date", "Journal", "Compte", "Libellé", "Débit", "Crédit", "Pièce"]
    assert rows[1][:2] == ["30/06/2025", "OD"]
    assert [row[4] for row in rows[1:]] == ["583,33", "116,67", "0,00"]
    assert rows[3][5] == "700,00"
    assert format_amount_fr(D("1234567.5")) == "1\u202f234\u202f567,50"


def test_write_off_csv_neutralises_spreadsheet_formulas_in_text_cells() -> None:
    result = assess(invoice_reference="=HYPERLINK(1)")
    rows = list(csv.reader(io.StringIO(write_off_csv(result)), delimiter=";"))
    assert all(row[6].startswith("'=") for row in rows[1:])
    assert all(not row[4].startswith("'") for row in rows[1:])
