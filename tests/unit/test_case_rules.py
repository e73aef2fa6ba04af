"""Pure rules shared by the workflow and the API: payments, timeline, ids, keys, templates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from activities.email_templates import french_amount, render_email
from legal import calendar_for_postal_code
from policies.catalog import UnknownPolicy, load_catalog, resolve_policy
from schemas.case import ActionRecord, CaseView, Hold, HoldKind, PaymentIn, PaymentRecord, Stage
from schemas.invoice import DebtorKind
from schemas.policy import Channel
from services.api.case_ids import case_id_for, workflow_id_for
from services.api.keys import Role, parse_api_keys
from workflows.payment_rules import PaymentRejected, check_payment
from workflows.planner import escalate_from, next_wake, step_time

OPENED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _case(balance: str = "1200.00", stage: Stage = Stage.amicable) -> CaseView:
    return CaseView(
        case_id="c1",
        tenant="t",
        invoice_number="F-1",
        currency="EUR",
        amount_due=Decimal("1200.00"),
        balance=Decimal(balance),
        due_date=date(2026, 10, 31),
        debtor_name="Durand SARL",
        policy_id="fr-b2b-standard",
        policy_version=1,
        stage=stage,
        opened_at=OPENED,
        payments=[
            PaymentRecord(
                amount=Decimal("200.00"),
                paid_on=date(2026, 11, 2),
                reference="VIR-1",
                recorded_at=OPENED,
            )
        ],
    )


def _payment(amount: str, reference: str = "VIR-2") -> PaymentIn:
    return PaymentIn.model_validate(
        {"amount": amount, "paid_on": "2026-11-03", "reference": reference}
    )


def test_payment_over_the_balance_is_rejected_on_amount() -> None:
    with pytest.raises(PaymentRejected) as caught:
        check_payment(_case("1000.00"), _payment("1000.01"))
    assert caught.value.field == "amount"
    assert "exceeds the balance of 1000.00" in caught.value.message


def test_exact_balance_and_retry_of_a_recorded_payment_are_accepted() -> None:
    check_payment(_case("1000.00"), _payment("1000.00"))
    check_payment(_case("0.00", Stage.closed), _payment("200.00", reference="VIR-1"))


def test_reusing_a_reference_for_another_amount_is_rejected() -> None:
    with pytest.raises(PaymentRejected) as caught:
        check_payment(_case("1000.00"), _payment("50.00", reference="VIR-1"))
    assert caught.value.field == "reference"


def test_closed_case_takes_no_new_payment() -> None:
    with pytest.raises(PaymentRejected, match="closed"):
        check_payment(_case("0.00", Stage.closed), _payment("1.00"))


def test_b2b_steps_fall_on_their_offsets_moved_to_working_days() -> None:
    policy = load_catalog()["fr-b2b-standard"]
    case = _case()  # due Saturday 31/10/2026
    times = [
        step_time(step, case, policy, calendar_for_postal_code("75002")) for step in policy.steps
    ]
    # +7 = Sat 7/11 -> Mon 9/11; +15 = Sun 15/11 -> Mon 16/11; +25 = Wed 25/11;
    # +30 = Mon 30/11; +45 = Tue 15/12; escalation waits for the letter's presentation.
    assert times == [
        datetime(2026, 11, 9, 8, tzinfo=UTC),
        datetime(2026, 11, 16, 8, tzinfo=UTC),
        datetime(2026, 11, 25, 8, tzinfo=UTC),
        datetime(2026, 11, 30, 8, tzinfo=UTC),
        datetime(2026, 12, 15, 8, tzinfo=UTC),
        None,
    ]


def test_a_step_on_a_holiday_moves_to_the_next_working_day_of_the_debtors_calendar() -> None:
    policy = load_catalog()["fr-b2b-standard"]
    case = _case().model_copy(update={"due_date": date(2026, 12, 19), "postal_code": "67000"})
    # Reminder 1 at +7 is Saturday 26/12: in Alsace (67) 26/12 is also a holiday -> Mon 28/12.
    when = step_time(policy.steps[0], case, policy, calendar_for_postal_code("67000"))
    assert when == datetime(2026, 12, 28, 8, tzinfo=UTC)


def test_a_late_registered_invoice_does_not_get_two_reminders_at_once() -> None:
    policy = load_catalog()["fr-b2b-standard"]
    sent = datetime(2026, 12, 20, 9, tzinfo=UTC)  # reminder 1 went out long after due + 15
    case = _case()
    case.actions.append(
        ActionRecord(
            step="reminder_1",
            label="r1",
            channel=Channel.email,
            done_at=sent,
            status="sent",
            idempotency_key="c1/reminder_1",
        )
    )
    assert step_time(policy.steps[1], case, policy, None) == sent + timedelta(days=2)


def test_escalation_waits_for_first_presentation_then_the_deadline_plus_a_working_day() -> None:
    policy = load_catalog()["fr-b2b-standard"]
    paris = calendar_for_postal_code("75002")
    # Worked example 3: first presented Wed 30/04/2025, 8 days -> Thu 08/05 (holiday) -> Fri 09/05.
    last_day, start = escalate_from(date(2025, 4, 30), policy, paris, OPENED)
    assert last_day == date(2025, 5, 9)
    assert start == datetime(2025, 5, 12, 8, tzinfo=UTC)  # first working day after: Mon 12/05


def test_holds_suspend_steps_but_not_the_promise_check() -> None:
    policy = load_catalog()["fr-b2b-standard"]
    case = _case()
    case.holds.append(
        Hold(kind=HoldKind.promise, since=OPENED, reason="promise", until=date(2026, 11, 20))
    )
    wake = next_wake(case, policy, None, timed_law=False)
    assert wake.kind == "promise_expiry"
    assert wake.at == datetime(2026, 11, 21, 8, tzinfo=UTC)


def test_default_policy_follows_the_debtor_kind_and_demo_is_opt_in() -> None:
    assert resolve_policy(None, DebtorKind.business).id == "fr-b2b-standard"
    assert resolve_policy(None, DebtorKind.consumer).id == "fr-b2c-standard"
    assert resolve_policy(None, DebtorKind.public).id == "fr-public-standard"
    assert resolve_policy("demo", DebtorKind.business).steps[0].offset == timedelta(seconds=5)
    assert resolve_policy(None, DebtorKind.consumer).formal_notice_deadline == timedelta(days=15)
    with pytest.raises(UnknownPolicy, match="known: demo"):
        resolve_policy("nope", DebtorKind.business)


def test_case_ids_are_stable_per_tenant_and_invoice() -> None:
    assert case_id_for("demo", "F-1") == case_id_for("demo", "F-1")
    assert case_id_for("demo", "F-1") != case_id_for("other", "F-1")
    assert workflow_id_for("demo", "F-1") == "invoice:demo:F-1"


def test_api_keys_parse_and_refuse_bad_entries() -> None:
    keys = parse_api_keys("k" * 20 + "=erp:acme, " + "o" * 20 + "=operator:acme")
    assert keys["k" * 20].role is Role.erp
    assert keys["o" * 20].tenant == "acme"
    with pytest.raises(ValueError, match="unknown role"):
        parse_api_keys("k" * 20 + "=admin:acme")
    with pytest.raises(ValueError, match="key=role:tenant"):
        parse_api_keys("k" * 20 + "=erp")


def test_amounts_are_written_the_french_way() -> None:
    assert french_amount(Decimal("1234.5")) == "1\u202f234,50\u00a0€"


def _context(kind: str) -> dict[str, object]:
    return {
        "invoice_number": "F-1",
        "issue_date": "01/10/2026",
        "due_date": "31/10/2026",
        "amount_due": "1 200,00 €",
        "balance": "1 000,00 €",
        "debtor_name": "Durand SARL",
        "debtor_kind": kind,
        "creditor_name": "ACME",
        "payment_instructions": "par virement",
    }


def test_reminders_state_amount_reference_due_date_and_how_to_pay() -> None:
    email = render_email("reminder_1@1", _context("business"))
    assert email.subject.startswith("Rappel : facture F-1")
    for needed in ("F-1", "31/10/2026", "1 200,00 €", "1 000,00 €", "par virement"):
        assert needed in email.body


def test_the_40_euro_indemnity_is_never_claimed_from_a_consumer() -> None:
    assert "40 euros" in render_email("reminder_2@1", _context("business")).body
    assert "L441-10" in render_email("reminder_2@1", _context("business")).body
    assert "40 euros" not in render_email("reminder_2@1", _context("consumer")).body


def test_letters_state_the_worked_example_claim_exactly() -> None:
    """default-policies.md example 1: 12,000.00 due 2025-03-31, as of 2025-09-15."""
    from legal import load_rate_table
    from schemas.invoice import InvoiceIn
    from tests.support.invoices import invoice_payload
    from workflows.step_requests import claim_context

    invoice = InvoiceIn.model_validate(
        invoice_payload(amount_due="12000.00", issue_date="2025-03-01", due_date="2025-03-31")
    )
    case = _case().model_copy(
        update={
            "amount_due": Decimal("12000.00"),
            "balance": Decimal("12000.00"),
            "due_date": date(2025, 3, 31),
            "payments": [],
        }
    )
    context, statement = claim_context(case, invoice, load_rate_table(), date(2025, 9, 15))
    assert statement is not None
    assert (statement.penalties, statement.indemnity, statement.total) == (
        Decimal("701.00"),
        Decimal("40.00"),
        Decimal("12741.00"),
    )
    assert context["penalties"] == "701,00\u00a0€"
    assert context["total"] == "12\u202f741,00\u00a0€"


def test_a_missing_rate_is_said_in_the_letter_and_the_indemnity_still_claimed() -> None:
    from schemas.invoice import InvoiceIn
    from tests.support.invoices import invoice_payload
    from workflows.step_requests import claim_context

    invoice = InvoiceIn.model_validate(invoice_payload())
    context, statement = claim_context(_case(), invoice, None, date(2040, 1, 1))
    assert statement is None
    assert context["penalties"] == ""
    assert context["indemnity"] == "40,00\u00a0€"
    assert "non calculées" in context["rates_note"]


def test_a_creditor_sets_its_own_default_policy_per_debtor_kind() -> None:
    from policies.catalog import parse_tenant_policies

    defaults = parse_tenant_policies("acme:business=demo, acme:consumer=fr-b2c-standard")
    assert resolve_policy(None, DebtorKind.business, defaults[("acme", "business")]).id == "demo"
    assert resolve_policy("fr-b2b-standard", DebtorKind.business, "demo").id == "fr-b2b-standard"
    assert resolve_policy(None, DebtorKind.business, None).id == "fr-b2b-standard"
    with pytest.raises(ValueError, match="unknown policy"):
        parse_tenant_policies("acme:business=nope")
    with pytest.raises(ValueError, match="tenant:kind=policy"):
        parse_tenant_policies("acme=demo")
