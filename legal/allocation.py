"""Allocating one payment across a debtor's invoices (Code civil 1342-10).

C. civ. 1342-10: « Le débiteur de plusieurs dettes peut indiquer, lorsqu'il paie, celle
qu'il entend acquitter. A défaut d'indication par le débiteur, l'imputation a lieu comme
suit : d'abord sur les dettes échues ; parmi celles-ci, sur les dettes que le débiteur
avait le plus d'intérêt d'acquitter. A égalité d'intérêt, l'imputation se fait sur la plus
ancienne ; toutes choses égales, elle se fait proportionnellement. »

(The domain reference, french-collection-law.md, does not quote this article; the text
above is the article as in force since the 2016 reform, ordonnance 2016-131.)

How this module reads it, in this order:

1. The debtor's indication wins (al. 1): ``allocate_as_indicated`` checks it (known open
   invoices, each share within its balance, the total within the payment) and allocates
   any part the debtor left unindicated by the legal order below. A debtor may point at an
   invoice not yet due: a term is presumed to benefit the debtor (C. civ. 1305-3), who
   may renounce it.
2. Without an indication, due invoices first. An invoice is due ("échue") on its due
   date: it is due when ``due_date <= paid_on``.
3. Among them, the debts the debtor had most interest to pay. That is a judge's
   appreciation (the costlier debt: a higher rate, a penalty clause, a guarantee, an
   enforceable title), so it is data: each invoice may carry an ``interest_rank``, higher
   first; by default all ranks are equal (invoices of one debtor and one creditor usually
   carry the same statutory rate) and the next rule decides.
4. At equal interest, the oldest: recouvre reads "la plus ancienne" as the debt that fell
   due first (the oldest due date; the input carries no other date). Reading it as the
   oldest invoice date would differ only for invoices with unusual terms.
5. All things equal (same rank and due date), proportionally to the balances.
6. "D'abord sur les dettes échues" implies the invoices not yet due come next: what is left
   goes to them in the same order (rank, then the earliest due date, then proportionally),
   unless ``include_not_due=False``; what is left after every balance is the overpayment,
   reported as ``unallocated`` (to refund or keep as a credit: the caller decides).

Rounding: amounts are euros with two decimals; a proportional split computes the exact
shares, rounds each down to the cent and gives the cents left, one each, to the largest
remainders (ties: the smaller case id first). Shares therefore sum exactly to the payment
and no share exceeds its invoice's balance.

Each invoice's balance here is what the case still claims for it; how a share is then
imputed inside the invoice (principal first) is legal/imputation.py's rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from legal.errors import LegalError
from legal.money import ZERO, check_amount

ARTICLE = "C. civ. 1342-10"

LEGAL_ORDER_FR = (
    "Paiement imputé selon l'article 1342-10 du Code civil, faute d'indication du "
    "débiteur : d'abord sur les factures échues, parmi elles sur celles que le débiteur "
    "avait le plus d'intérêt d'acquitter, puis sur la plus ancienne, et à égalité "
    "proportionnellement ; le reste sur les factures non échues dans le même ordre."
)
LEGAL_ORDER_EN = (
    "Payment allocated under C. civ. 1342-10, the debtor having indicated none: due "
    "invoices first, among them those the debtor had most interest to pay, then the "
    "oldest, proportionally when equal; any rest to invoices not yet due in the same order."
)
INDICATED_FR = (
    "Paiement imputé sur les factures indiquées par le débiteur (article 1342-10, "
    "alinéa 1, du Code civil) ; toute part non indiquée suit l'ordre légal du même article."
)
INDICATED_EN = (
    "Payment allocated to the invoices the debtor indicated (C. civ. 1342-10 para. 1); any "
    "part left unindicated follows that article's legal order."
)

Basis = Literal["indicated", "due", "not_due"]


class OpenInvoice(NamedTuple):
    """One invoice of the debtor, as the allocation needs it."""

    case_id: str
    due_date: date
    balance: Decimal
    interest_rank: int = 0
    """Higher: the debtor had more interest to pay it (C. civ. 1342-10); equal by default."""


InvoiceInput = OpenInvoice | tuple[str, date, Decimal]


class Share(BaseModel):
    """Part of the payment that went to one invoice, and on what basis."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    amount: Decimal
    basis: Basis
    """``indicated`` by the debtor; else the legal order on a ``due`` or ``not_due`` invoice."""


class Allocation(BaseModel):
    """Where one payment went; ``sum(shares) + unallocated == amount`` exactly."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    paid_on: date
    shares: tuple[Share, ...]
    """In the order they were imputed; an invoice appears once per basis."""
    unallocated: Decimal
    """The overpayment (or, with ``include_not_due=False``, what was kept off the invoices
    not yet due)."""
    method: Literal["legal_order", "indicated"]
    article: str = ARTICLE
    explanation_fr: str
    explanation_en: str

    def pairs(self) -> list[tuple[str, Decimal]]:
        """``(case_id, amount)`` per invoice, in the order of imputation."""
        totals: dict[str, Decimal] = {}
        for share in self.shares:
            totals[share.case_id] = totals.get(share.case_id, ZERO) + share.amount
        return list(totals.items())


def _normalise(invoices: Iterable[InvoiceInput]) -> list[OpenInvoice]:
    seen: set[str] = set()
    result: list[OpenInvoice] = []
    for raw in invoices:
        invoice = raw if isinstance(raw, OpenInvoice) else OpenInvoice(*raw)
        if not invoice.case_id:
            raise LegalError("an invoice to allocate to has no case id")
        if invoice.case_id in seen:
            raise LegalError(f"invoice {invoice.case_id} is listed twice")
        seen.add(invoice.case_id)
        balance = check_amount(invoice.balance, f"balance of {invoice.case_id}", allow_zero=True)
        result.append(invoice._replace(balance=balance))
    return result


def _cents(value: Decimal) -> int:
    return int(value * 100)


def _split(amount: int, balances: list[tuple[str, int]]) -> dict[str, int]:
    """``amount`` cents over ``balances`` (cents) in proportion, largest remainders."""
    total = sum(b for _, b in balances)
    exact = {case_id: Fraction(amount * b, total) for case_id, b in balances}
    shares = {case_id: math.floor(value) for case_id, value in exact.items()}
    left = amount - sum(shares.values())
    by_remainder = sorted(exact, key=lambda c: (-(exact[c] - shares[c]), c))
    for case_id in by_remainder[:left]:
        shares[case_id] += 1
    return shares


def _legal_order(
    invoices: list[OpenInvoice], cents: int, paid_on: date, include_not_due: bool
) -> tuple[list[Share], int]:
    """Shares by the legal order of 1342-10 and the cents left over."""
    tiers: dict[tuple[bool, int, date], list[OpenInvoice]] = {}
    for invoice in invoices:
        due = invoice.due_date <= paid_on
        if invoice.balance <= 0 or (not due and not include_not_due):
            continue
        key = (not due, -invoice.interest_rank, invoice.due_date)
        tiers.setdefault(key, []).append(invoice)
    shares: list[Share] = []
    for (not_due, _, _), members in sorted(tiers.items()):
        if cents == 0:
            break
        members.sort(key=lambda i: i.case_id)
        owed = [(i.case_id, _cents(i.balance)) for i in members]
        tier_total = sum(b for _, b in owed)
        split = dict(owed) if cents >= tier_total else _split(cents, owed)
        basis: Basis = "not_due" if not_due else "due"
        for case_id, _ in owed:
            if split[case_id]:
                shares.append(Share(case_id=case_id, amount=_euros(split[case_id]), basis=basis))
        cents -= sum(split.values())
    return shares, cents


def _euros(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def allocate_payment(
    invoices: Iterable[InvoiceInput],
    amount: Decimal,
    paid_on: date,
    *,
    include_not_due: bool = True,
) -> Allocation:
    """Allocate a payment the debtor gave no indication for (C. civ. 1342-10 al. 2).

    ``invoices``: the debtor's open invoices as ``(case_id, due_date, balance)`` or
    ``OpenInvoice`` (with an ``interest_rank``); zero balances are skipped. Raises
    ``LegalError`` on a malformed amount or a duplicate case id.
    """
    payment = check_amount(amount, "payment")
    shares, left = _legal_order(_normalise(invoices), _cents(payment), paid_on, include_not_due)
    return Allocation(
        amount=payment,
        paid_on=paid_on,
        shares=tuple(shares),
        unallocated=_euros(left),
        method="legal_order",
        explanation_fr=LEGAL_ORDER_FR,
        explanation_en=LEGAL_ORDER_EN,
    )


def check_indication(
    invoices: Iterable[InvoiceInput],
    amount: Decimal,
    indicated: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Validate the debtor's indication (C. civ. 1342-10 al. 1): each invoice is one of the
    debtor's open invoices, each share is positive, has at most two decimals and stays
    within that invoice's balance, and the shares total at most the payment. Returns the
    shares with two decimals; raises ``LegalError`` naming the first problem."""
    payment = check_amount(amount, "payment")
    balances = {i.case_id: i.balance for i in _normalise(invoices)}
    checked: dict[str, Decimal] = {}
    for case_id, share in indicated.items():
        if case_id not in balances:
            raise LegalError(
                f"the debtor indicated {case_id}, which is not one of its open invoices"
            )
        value = check_amount(share, f"share indicated for {case_id}")
        if value > balances[case_id]:
            raise LegalError(
                f"the debtor indicated {value} for {case_id}, whose balance is {balances[case_id]}"
            )
        checked[case_id] = value
    total = sum(checked.values(), ZERO)
    if total > payment:
        raise LegalError(f"the indicated shares total {total}, more than the payment of {payment}")
    return checked


def allocate_as_indicated(
    invoices: Iterable[InvoiceInput],
    amount: Decimal,
    paid_on: date,
    indicated: Mapping[str, Decimal],
    *,
    include_not_due: bool = True,
) -> Allocation:
    """Allocate a payment as the debtor indicated (C. civ. 1342-10 al. 1), checked by
    ``check_indication``; any part not indicated follows the legal order on what the
    invoices still owe after the indicated shares."""
    listed = _normalise(invoices)
    chosen = check_indication(listed, amount, indicated)
    payment = check_amount(amount, "payment")
    order = {i.case_id: n for n, i in enumerate(listed)}
    shares = [
        Share(case_id=case_id, amount=value, basis="indicated")
        for case_id, value in sorted(chosen.items(), key=lambda item: order[item[0]])
    ]
    rest = [i._replace(balance=i.balance - chosen.get(i.case_id, ZERO)) for i in listed]
    left = _cents(payment) - sum(_cents(v) for v in chosen.values())
    by_law, unallocated = _legal_order(rest, left, paid_on, include_not_due)
    return Allocation(
        amount=payment,
        paid_on=paid_on,
        shares=(*shares, *by_law),
        unallocated=_euros(unallocated),
        method="indicated",
        explanation_fr=INDICATED_FR,
        explanation_en=INDICATED_EN,
    )


def allocate_plan(
    invoices: Iterable[InvoiceInput], instalments: Iterable[tuple[date, Decimal]]
) -> dict[str, list[tuple[date, Decimal]]]:
    """A payment plan agreed for the debtor's invoices together, as one plan per invoice:
    each instalment, in date order, is imputed as a payment made on its due date would be
    (``allocate_payment``: due invoices first, then the oldest; C. civ. 1342-10 al. 2), so
    every invoice's instalments total its balance. Raises ``LegalError`` unless the
    instalments total exactly the open balances."""
    remaining = {i.case_id: i for i in _normalise(invoices)}
    plans: dict[str, list[tuple[date, Decimal]]] = {case_id: [] for case_id in remaining}
    for due_on, amount in sorted(instalments):
        allocation = allocate_payment(list(remaining.values()), amount, due_on)
        if allocation.unallocated:
            raise LegalError(
                f"instalments: the one due {due_on} goes {allocation.unallocated} beyond the "
                "open balances"
            )
        for case_id, share in allocation.pairs():
            plans[case_id].append((due_on, share))
            invoice = remaining[case_id]
            remaining[case_id] = invoice._replace(balance=invoice.balance - share)
    short = sum((i.balance for i in remaining.values()), ZERO)
    if short:
        raise LegalError(f"instalments: they leave {short} of the open balances unplanned")
    return {case_id: plan for case_id, plan in plans.items() if plan}
