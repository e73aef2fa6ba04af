"""Command line: ``recouvre decompte|deadline|prescription ...``.

``run(argv)`` returns the exit code. Bad arguments give exactly one line on
stderr starting with "error: " and exit code 2; ``--help`` works as usual.
"""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
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
from legal.deadlines import deadline_in_days, deadline_in_months
from legal.errors import LegalError
from legal.kinds import DebtorKind
from legal.money import parse_amount
from legal.prescription import Interruption, Prescription
from legal.quadriennale import QUADRIENNALE_BODIES, prescription_for_debtor
from legal.rates import load_rate_table
from legal.statement import build_statement
from legal.working_days import METROPOLITAN, calendar_for_postal_code


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


def _decompte(args: argparse.Namespace) -> int:
    statement = build_statement(
        principal=args.principal,
        due_date=args.due_date,
        as_of=args.as_of,
        debtor_kind=args.debtor_kind,
        rates=load_rate_table(args.rates),
        formal_notice_date=args.formal_notice_date,
        payments=args.payment,
        contract_rate=args.contract_rate,
        formal_notice_presented_on=args.formal_notice_presented_on,
    )
    return _emit(args, statement_json(statement), statement_text(statement))


def _deadline(args: argparse.Namespace) -> int:
    cal = METROPOLITAN if args.postal_code is None else calendar_for_postal_code(args.postal_code)
    if args.days is not None:
        result = deadline_in_days(args.start, args.days, cal)
    else:
        result = deadline_in_months(args.start, args.months, cal)
    data = {
        "last_day": result.last_day.isoformat(),
        "moved_from": None if result.moved_from is None else result.moved_from.isoformat(),
        "reason": result.reason,
    }
    return _emit(args, data, deadline_text(result, cal))


def _prescription(args: argparse.Namespace) -> int:
    if args.proceeding_ended_on is not None and args.court_claim_on is None:
        raise LegalError("--proceeding-ended-on needs --court-claim-on")
    if args.enforcement_act_on and args.title_on is None:
        raise LegalError("--enforcement-act-on needs --title-on")
    events = [Interruption(on=day) for day in args.interrupted_on]
    events += [Interruption(on=day, kind="formal_notice") for day in args.formal_notice_on]
    base = prescription_for_debtor(
        args.debtor_kind, args.due_date, events, public_body=args.public_body
    )
    result: Prescription | ProceedingPrescription = base
    if args.title_on is not None:
        # The title's 10 years replace the claim's prescription (CPCE L111-4).
        result = enforcement_prescription(args.title_on, args.enforcement_act_on, replaces=base)
    elif args.court_claim_on is not None:
        result = court_claim_prescription(base, args.court_claim_on, args.proceeding_ended_on)
    years = result.years if isinstance(result, Prescription) else base.years
    return _emit(args, prescription_json(result, years), prescription_text(result, years))


def _build_parser() -> _Parser:
    parser = _Parser(prog="recouvre", allow_abbrev=False, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    kinds = [kind.value for kind in DebtorKind]

    dec = sub.add_parser("decompte", help="statement of claim", allow_abbrev=False)
    dec.add_argument("--principal", required=True, type=_amount("principal"))
    dec.add_argument("--due-date", required=True, type=_date)
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

    dl = sub.add_parser("deadline", help="procedural deadline (CPC 640-642)", allow_abbrev=False)
    dl.add_argument("--start", required=True, type=_date)
    length = dl.add_mutually_exclusive_group(required=True)
    length.add_argument("--days", type=int)
    length.add_argument("--months", type=int)
    dl.add_argument("--postal-code", help="debtor's postal code (default: metropolitan)")
    dl.set_defaults(handler=_deadline)

    pre = sub.add_parser("prescription", help="last day to act", allow_abbrev=False)
    pre.add_argument(
        "--due-date", required=True, type=_date, help="the day the right arose (delivery or due)"
    )
    pre.add_argument("--debtor-kind", required=True, choices=kinds)
    pre.add_argument(
        "--public-body",
        choices=sorted(QUADRIENNALE_BODIES | {"public_company"}),
        default="state",
        help="public debtors: state, local_authority or public_establishment (with a "
        "public accountant) follow loi 68-1250; public_company the 5 years (default: state)",
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
        "(loi 68-1250 art. 2)",
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

    for command in (dec, dl, pre):
        command.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return " ".join(str(exc).split())


def run(argv: list[str]) -> int:
    """Run one subcommand; returns the process exit code (0 ok, 2 bad input)."""
    try:
        args = _build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except _Exit as done:
        return done.code
    except (_UsageError, ValueError, ArithmeticError) as exc:
        sys.stderr.write(f"error: {_one_line(exc)}\n")
        return 2


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
