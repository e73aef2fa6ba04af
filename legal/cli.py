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
from legal.cli_output import deadline_text, prescription_text, statement_json, statement_text
from legal.deadlines import deadline_in_days, deadline_in_months
from legal.kinds import DebtorKind
from legal.money import parse_amount
from legal.prescription import Interruption, compute_prescription
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
    events = [Interruption(on=day) for day in args.interrupted_on]
    result = compute_prescription(args.due_date, args.debtor_kind, events)
    data = {"last_day": result.last_day.isoformat(), "years": result.years}
    return _emit(args, data, prescription_text(result))


def _build_parser() -> _Parser:
    parser = _Parser(prog="recouvre", allow_abbrev=False, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    kinds = [kind.value for kind in DebtorKind]

    dec = sub.add_parser("decompte", help="statement of claim", allow_abbrev=False)
    dec.add_argument("--principal", required=True, type=_amount("principal"))
    dec.add_argument("--due-date", required=True, type=_date)
    dec.add_argument("--as-of", required=True, type=_date)
    dec.add_argument("--debtor-kind", required=True, choices=kinds)
    dec.add_argument("--formal-notice-date", type=_date)
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
    pre.add_argument("--due-date", required=True, type=_date)
    pre.add_argument("--debtor-kind", required=True, choices=kinds)
    pre.add_argument("--interrupted-on", action="append", default=[], type=_date)
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
