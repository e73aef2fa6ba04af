"""`recouvre decompte|deadline|prescription`: the legal calculators.

Built on the pure functions of ``legal`` and the renderings of ``legal.cli_output``;
``run(argv)`` returns the exit code. Bad arguments give exactly one line on stderr
starting with "error: " and exit code 2; ``--help`` works as usual. The JSON keys of
earlier versions are kept; newer keys were added alongside.

Public debtors (french-collection-law.md):
- ``prescription`` (s.5): the quadriennale of loi 68-1250 for the State, local
  authorities and public establishments with a public accountant; a written payment
  request, a formal notice included (``--formal-notice-on``), interrupts it and a new
  period runs from the next 1 January (art. 2); public companies keep the 5 years
  (C. com. L110-4). Without ``--public-body`` both are computed and the earlier last
  day is kept (s.7: never rely on an extension that might not apply).
- ``deadline`` (s.1, s.2): the délai global de paiement (``--public-payment``,
  C. commande publique R2192-10, R2192-11) and the 45 days to pay the interest and
  indemnity after the principal (``--public-interest``, R2192-36).
- ``decompte`` (s.2): moratorium interest at the ECB rate of the half-year interest
  started + 8 points, fixed (L2192-13, R2192-31), plus 40 EUR (D2192-35).
Where the reference is silent the output says so (``notes`` / ``history``).
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from pydantic import ValidationError

from legal.accrual import Payment
from legal.after_title import (
    ProceedingPrescription,
    court_claim_prescription,
    enforcement_prescription,
)
from legal.cli_output import (
    deadline_text,
    prescription_json,
    prescription_text,
    statement_json,
    statement_text,
)
from legal.deadlines import Deadline, deadline_in_days, deadline_in_months
from legal.errors import LegalError
from legal.kinds import DebtorKind, parse_debtor_kind
from legal.money import format_rate, parse_amount
from legal.prescription import WRITTEN_REQUESTS, Interruption, Prescription
from legal.quadriennale import (
    QUADRIENNALE_ARTICLE,
    QUADRIENNALE_BODIES,
    PublicBody,
    prescription_for_debtor,
)
from legal.rates import RateRow, RateTable, load_rate_table
from legal.statement import Statement, build_statement
from legal.working_days import METROPOLITAN, DebtorCalendar, calendar_for_postal_code

LEGAL_COMMANDS = ("decompte", "deadline", "prescription")

# Délai global de paiement (french-collection-law.md s.1): (days, article) per buyer.
PUBLIC_PAYMENT_DAYS: dict[str, tuple[int, str]] = {
    "state": (30, "C. commande publique R2192-10"),
    "local_authority": (30, "C. commande publique R2192-10"),
    "public_hospital": (50, "C. commande publique R2192-11"),
    "public_company": (60, "C. commande publique R2192-11"),
}
# Interest and indemnity are paid within 45 days of paying the principal (s.2).
PUBLIC_INTEREST_DAYS = 45
PUBLIC_INTEREST_ARTICLE = "C. commande publique R2192-36"

SILENT_WORKING_DAY = (
    "french-collection-law.md states the working-day extension (CPC 642) for procedural "
    "deadlines (s.7) and is silent on whether a payment deadline moves to the next working "
    "day: last_day applies CPC 642 (a deadline the debtor has: act only after it, s.7), "
    "unextended_last_day does not"
)
SILENT_PAYMENT_START = (
    "french-collection-law.md gives the length of the délai global de paiement (s.1) but "
    "not the event it runs from: --start is taken as that event (e.g. the day the buyer "
    "received the invoice); it does not cover public establishments other than public "
    "hospitals"
)
SILENT_PUBLIC_CONVENTION = (
    "french-collection-law.md states the computation convention (simple interest, actual "
    "days / 365, one rounding to the cent) and the VAT-included base for B2B penalties "
    "(s.2); it is silent on both for moratorium interest: the same convention is applied "
    "to the principal as given"
)
SILENT_PUBLIC_SMALL_CLAIMS = (
    "french-collection-law.md s.4 does not say whether the small-claims procedure or the "
    "judicial phase it describes applies to a public debtor: small_claims.eligible only "
    "checks the 5,000 EUR ceiling"
)
REGIMES: dict[DebtorKind, dict[str, str]] = {
    DebtorKind.BUSINESS: {
        "interest": "C. com. L441-10 II: ECB rate of each half-year + 10 points",
        "indemnity": "C. com. D441-5: 40 EUR per late invoice",
    },
    DebtorKind.PUBLIC: {
        "interest": "C. commande publique L2192-13, R2192-31: ECB rate of the half-year "
        "interest started + 8 points, fixed for the whole period",
        "indemnity": "C. commande publique D2192-35: 40 EUR",
        "payable_within": "C. commande publique R2192-36: interest and indemnity within "
        "45 days of paying the principal",
    },
    DebtorKind.CONSUMER: {
        "interest": "C. civ. 1231-6, 1344-1; C. mon. fin. L313-2: legal interest rate "
        "(other cases, the creditor being a business) from the formal notice",
        "indemnity": "none: no 40 EUR indemnity for a consumer, no recovery costs without "
        "an enforceable title (CPCE L111-8)",
    },
}


class _UsageError(Exception):
    """Raised instead of argparse printing usage and exiting."""


class _Exit(Exception):
    """Raised instead of argparse exiting (e.g. after --help)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r} (expected YYYY-MM-DD)") from None


def _amount(name: str) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        try:
            return parse_amount(text, name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _payment(text: str) -> Payment:
    day, sep, amount = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"invalid payment {text!r} (expected YYYY-MM-DD:AMOUNT)")
    return Payment(on=_date(day), amount=_amount("payment amount")(amount))


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"invalid rate {text!r} (expected a percentage)")
    return value


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)
    return 0


# ---------------------------------------------------------------- decompte


def _row_json(row: RateRow) -> dict[str, Any]:
    def pct(value: Decimal | None) -> str | None:
        return None if value is None else format_rate(value)

    return {
        "half_year": row.half_year.label,
        "ecb_rate": pct(row.ecb_rate),
        "b2b_rate": pct(row.b2b_rate),
        "legal_rate_private_creditor": pct(row.legal_rate_private_creditor),
        "legal_rate_other": pct(row.legal_rate_other),
        "status": row.status,
        "source": row.source,
    }


def _rows_used(statement: Statement, rates: RateTable) -> list[RateRow]:
    """The rate-table rows the statement's periods were drawn from, in date order."""
    used = {period.half_year for period in statement.rate_periods}
    rows = [row for row in rates.rows if row.half_year.label in used]
    return sorted(rows, key=lambda row: row.half_year)


def principal_paid_on(principal: Decimal, payments: Sequence[Payment]) -> date | None:
    """The day the payments reach the principal, or None while some is unpaid."""
    total = Decimal(0)
    for payment in sorted(payments, key=lambda p: p.on):
        total += payment.amount
        if total >= principal:
            return payment.on
    return None


def public_interest_due_by(principal: Decimal, payments: Sequence[Payment]) -> date | None:
    """Last day for a public buyer to pay the interest and indemnity: 45 days after the
    principal was paid in full (R2192-36), unextended; None while it is not."""
    paid_on = principal_paid_on(principal, payments)
    return None if paid_on is None else paid_on + timedelta(days=PUBLIC_INTEREST_DAYS)


def _public_notes(statement: Statement, payments: Sequence[Payment]) -> list[str]:
    """What the reference says about paying moratorium interest, and where it is silent."""
    paid_on = principal_paid_on(statement.principal, payments)
    by = public_interest_due_by(statement.principal, payments)
    if paid_on is None or by is None:
        when = "the principal is not paid in full yet"
    else:
        when = (
            f"principal paid in full on {paid_on}: by {by} (the reference is silent on "
            f"moving it to a working day; see `recouvre deadline --public-interest`)"
        )
    return [
        f"{PUBLIC_INTEREST_ARTICLE}: the buyer must pay the interest and the indemnity within "
        f"{PUBLIC_INTEREST_DAYS} days of paying the principal; {when}",
        SILENT_PUBLIC_CONVENTION,
        SILENT_PUBLIC_SMALL_CLAIMS,
    ]


def _decompte(args: argparse.Namespace) -> int:
    rates = load_rate_table(args.rates)
    statement = build_statement(
        principal=args.principal,
        due_date=args.due_date,
        as_of=args.as_of,
        debtor_kind=args.debtor_kind,
        rates=rates,
        formal_notice_date=args.formal_notice_date,
        payments=args.payment,
        contract_rate=args.contract_rate,
        formal_notice_presented_on=args.formal_notice_presented_on,
    )
    kind = statement.debtor_kind
    public = kind is DebtorKind.PUBLIC
    if public:
        notes = (*statement.notes, *_public_notes(statement, args.payment))
        statement = statement.model_copy(update={"notes": notes})
    data = statement_json(statement)
    data["regime"] = dict(REGIMES[kind])
    data["rate_rows"] = [_row_json(row) for row in _rows_used(statement, rates)]
    if public:
        due_by = public_interest_due_by(statement.principal, args.payment)
        data["interest_and_indemnity_due_by"] = None if due_by is None else due_by.isoformat()
    text = statement_text(statement)
    if public:
        old, new = "Pénalités / Penalties", "Intérêts moratoires / Moratorium interest"
        text = text.replace(f"{old:<50}", f"{new:<50}")
    return _emit(args, data, text)


# ---------------------------------------------------------------- deadline


def _deadline_json(result: Deadline) -> dict[str, Any]:
    return {
        "last_day": result.last_day.isoformat(),
        "moved_from": None if result.moved_from is None else result.moved_from.isoformat(),
        "reason": result.reason,
    }


def _public_deadline(
    args: argparse.Namespace, cal: DebtorCalendar
) -> tuple[Deadline, dict[str, Any], list[str]]:
    """(deadline, extra JSON keys, extra text lines) of a public-buyer deadline."""
    if args.public_payment is not None:
        days, article = PUBLIC_PAYMENT_DAYS[args.public_payment]
        rule = f"délai global de paiement of {days} days ({args.public_payment})"
        notes = [
            SILENT_PAYMENT_START,
            "moratorium interest runs from the day after the payment deadline "
            "(C. commande publique L2192-13): pass it to `recouvre decompte --due-date`",
            SILENT_WORKING_DAY,
        ]
    else:
        days, article = PUBLIC_INTEREST_DAYS, PUBLIC_INTEREST_ARTICLE
        rule = (
            f"{days} days from the payment of the principal to pay the moratorium interest "
            f"and the 40 EUR indemnity"
        )
        notes = [SILENT_WORKING_DAY]
    result = deadline_in_days(args.start, days, cal)
    extra: dict[str, Any] = {
        "start": result.start.isoformat(),
        "days": days,
        "unextended_last_day": result.unextended_last_day.isoformat(),
        "rule": rule,
        "article": article,
        "notes": notes,
    }
    lines = [f"Règle / Rule: {rule} ({article})", *(f"Note: {note}" for note in notes)]
    return result, extra, lines


def _deadline(args: argparse.Namespace) -> int:
    cal = METROPOLITAN if args.postal_code is None else calendar_for_postal_code(args.postal_code)
    if args.public_payment is not None or args.public_interest:
        result, extra, lines = _public_deadline(args, cal)
        data = {**_deadline_json(result), **extra}
        return _emit(args, data, "\n".join([deadline_text(result, cal), *lines]))
    if args.days is not None:
        result = deadline_in_days(args.start, args.days, cal)
    else:
        result = deadline_in_months(args.start, args.months, cal)
    return _emit(args, _deadline_json(result), deadline_text(result, cal))


# ---------------------------------------------------------------- prescription

Result = Prescription | ProceedingPrescription


def _prescription_for(
    args: argparse.Namespace, events: Sequence[Interruption], body: PublicBody
) -> tuple[Result, Prescription]:
    """(result after any court claim or title, the claim's own prescription)."""
    base = prescription_for_debtor(args.debtor_kind, args.due_date, events, public_body=body)
    result: Result = base
    if args.title_on is not None:
        # The title's 10 years replace the claim's prescription (CPCE L111-4).
        result = enforcement_prescription(args.title_on, args.enforcement_act_on, replaces=base)
    elif args.court_claim_on is not None:
        result = court_claim_prescription(base, args.court_claim_on, args.proceeding_ended_on)
    return result, base


def _ends(result: Result) -> date:
    """Sort key: the last day, or the far future while a proceeding runs."""
    return date.max if result.last_day is None else result.last_day


def _earlier_public_body(
    args: argparse.Namespace, events: Sequence[Interruption]
) -> tuple[Result, Prescription, PublicBody, str]:
    """Public debtor of unknown kind: the earlier of the quadriennale and the 5 years."""
    quad, quad_base = _prescription_for(args, events, "state")
    company, company_base = _prescription_for(args, events, "public_company")
    chosen: tuple[Result, Prescription, PublicBody]
    chosen = (company, company_base, "public_company")
    if _ends(quad) <= _ends(company):
        chosen = (quad, quad_base, "state")

    def shown(result: Result) -> str:
        return "none while the proceeding runs" if result.last_day is None else str(result.last_day)

    line = (
        "public body not given (--public-body): loi 68-1250 art. 1 (State, local authority, "
        f"public establishment with a public accountant) gives {shown(quad)}, C. com. L110-4 "
        f"(public company) gives {shown(company)}; the earlier, {shown(chosen[0])}, is kept "
        "(french-collection-law.md s.7: never rely on an extension that might not apply)"
    )
    return chosen[0], chosen[1], chosen[2], line


def _quadriennale_silences(args: argparse.Namespace, events: Sequence[Interruption]) -> list[str]:
    """Where the reference does not say how an event restarts the quadriennale."""
    others = sorted(e.on for e in events if e.kind not in WRITTEN_REQUESTS)
    lines = [
        f"{day}: french-collection-law.md s.5 names written payment requests (a formal "
        f"notice included) as interrupting the quadriennale and is silent on how an "
        f"acknowledgement, payment or plan restarts it: the new period is run from the next "
        f"1 January as loi 68-1250 art. 2 does for every interruption"
        for day in others
    ]
    if args.court_claim_on is not None and args.proceeding_ended_on is not None:
        lines.append(
            f"{args.proceeding_ended_on}: french-collection-law.md s.5 (C. civ. 2242) is "
            f"silent on when the quadriennale restarts after a proceeding: from the next "
            f"1 January (loi 68-1250 art. 2)"
        )
    return lines


def _prescription(args: argparse.Namespace) -> int:
    if args.proceeding_ended_on is not None and args.court_claim_on is None:
        raise LegalError("--proceeding-ended-on needs --court-claim-on")
    if args.enforcement_act_on and args.title_on is None:
        raise LegalError("--enforcement-act-on needs --title-on")
    kind = parse_debtor_kind(args.debtor_kind)
    if args.public_body is not None and kind is not DebtorKind.PUBLIC:
        raise LegalError("--public-body applies only to --debtor-kind public")
    events = [Interruption(on=day) for day in args.interrupted_on]
    events += [Interruption(on=day, kind="formal_notice") for day in args.formal_notice_on]
    added: list[str] = []
    applied: PublicBody | None = None
    if kind is DebtorKind.PUBLIC and args.public_body is None:
        result, base, applied, line = _earlier_public_body(args, events)
        added.append(line)
    else:
        body: PublicBody = "state" if args.public_body is None else args.public_body
        result, base = _prescription_for(args, events, body)
        applied = body if kind is DebtorKind.PUBLIC else None
    if base.article == QUADRIENNALE_ARTICLE:
        added += _quadriennale_silences(args, events)
    if added:
        result = result.model_copy(update={"history": (*result.history, *added)})
    years = result.years if isinstance(result, Prescription) else base.years
    data = prescription_json(result, years)
    data["trigger"] = args.due_date.isoformat()
    data["public_body"] = args.public_body
    data["public_body_applied"] = applied
    return _emit(args, data, prescription_text(result, years))


# ---------------------------------------------------------------- parser


def _decompte_parser(sub: Any, kinds: list[str]) -> _Parser:
    dec: _Parser = sub.add_parser("decompte", help="statement of claim", allow_abbrev=False)
    dec.add_argument("--principal", required=True, type=_amount("principal"))
    dec.add_argument(
        "--due-date",
        required=True,
        type=_date,
        help="due date; for a public buyer, the end of the délai global de paiement "
        "(see `recouvre deadline --public-payment`)",
    )
    dec.add_argument("--as-of", required=True, type=_date)
    dec.add_argument("--debtor-kind", required=True, choices=kinds)
    dec.add_argument(
        "--formal-notice-date",
        type=_date,
        help="sending date of the formal notice (consumers: used only when its first "
        "presentation is not given)",
    )
    dec.add_argument(
        "--formal-notice-presented-on",
        type=_date,
        help="first presentation of the formal notice: consumer interest runs from it "
        "(C. civ. 1231-6, 1344-1)",
    )
    dec.add_argument("--payment", action="append", default=[], type=_payment)
    dec.add_argument("--contract-rate", type=_rate, help="percent, business debtors")
    dec.add_argument("--rates", help="rate table JSON (default: packaged table)")
    dec.set_defaults(handler=_decompte)
    return dec


def _deadline_parser(sub: Any) -> _Parser:
    dl: _Parser = sub.add_parser(
        "deadline", help="procedural deadline (CPC 640-642)", allow_abbrev=False
    )
    dl.add_argument("--start", required=True, type=_date, help="the starting event's day")
    length = dl.add_mutually_exclusive_group(required=True)
    length.add_argument("--days", type=int)
    length.add_argument("--months", type=int)
    length.add_argument(
        "--public-payment",
        choices=sorted(PUBLIC_PAYMENT_DAYS),
        help="public buyer's délai global de paiement from --start: 30 days for the State "
        "or a local authority (C. commande publique R2192-10), 50 for a public hospital, "
        "60 for a public company (R2192-11)",
    )
    length.add_argument(
        "--public-interest",
        action="store_true",
        help="45 days from --start, the payment of the principal, for a public buyer to pay "
        "the moratorium interest and the indemnity (C. commande publique R2192-36)",
    )
    dl.add_argument("--postal-code", help="debtor's postal code (default: metropolitan)")
    dl.set_defaults(handler=_deadline)
    return dl


def _prescription_parser(sub: Any, kinds: list[str]) -> _Parser:
    pre: _Parser = sub.add_parser("prescription", help="last day to act", allow_abbrev=False)
    pre.add_argument(
        "--due-date", required=True, type=_date, help="the day the right arose (delivery or due)"
    )
    pre.add_argument("--debtor-kind", required=True, choices=kinds)
    pre.add_argument(
        "--public-body",
        choices=sorted(QUADRIENNALE_BODIES | {"public_company"}),
        help="public debtors: state, local_authority or public_establishment (with a "
        "public accountant) follow loi 68-1250; public_company the 5 years (C. com. "
        "L110-4); not given: the earlier of the two (french-collection-law.md s.7)",
    )
    pre.add_argument(
        "--interrupted-on",
        action="append",
        default=[],
        type=_date,
        help="acknowledgement, partial payment or plan (C. civ. 2240)",
    )
    pre.add_argument(
        "--formal-notice-on",
        action="append",
        default=[],
        type=_date,
        help="formal notice or written payment request: interrupts only the quadriennale "
        "(loi 68-1250 art. 2), a new period running from the next 1 January",
    )
    pre.add_argument("--court-claim-on", type=_date, help="court claim filed (C. civ. 2241)")
    pre.add_argument(
        "--proceeding-ended-on", type=_date, help="end of that proceeding (C. civ. 2242)"
    )
    pre.add_argument("--title-on", type=_date, help="enforceable title obtained (CPCE L111-4)")
    pre.add_argument(
        "--enforcement-act-on",
        action="append",
        default=[],
        type=_date,
        help="enforcement act after the title (C. civ. 2244)",
    )
    pre.set_defaults(handler=_prescription)
    return pre


def build_parser() -> argparse.ArgumentParser:
    """The parser of the three legal commands."""
    parser = _Parser(prog="recouvre", allow_abbrev=False, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    kinds = [kind.value for kind in DebtorKind]
    commands = [
        _decompte_parser(sub, kinds),
        _deadline_parser(sub),
        _prescription_parser(sub, kinds),
    ]
    for command in commands:
        command.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return " ".join(str(exc).split())


def run(argv: Sequence[str]) -> int:
    """Run one legal command; returns the process exit code (0 ok, 2 bad input)."""
    try:
        args = build_parser().parse_args(list(argv))
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except _Exit as done:
        return done.code
    except (_UsageError, ValueError, ArithmeticError) as exc:
        sys.stderr.write(f"error: {_one_line(exc)}\n")
        return 2


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
