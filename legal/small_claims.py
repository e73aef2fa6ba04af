"""Eligibility for the simplified small-claims procedure (CPCE L125-1, R125-1):
claims up to 5,000 EUR in principal and interest, run by a commissaire de
justice. The fixed 40 EUR indemnity is neither principal nor interest and is
not counted."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from legal.money import ZERO, check_amount
from legal.statement import Statement

SMALL_CLAIMS_CEILING = Decimal("5000.00")


class SmallClaimsCheck(BaseModel):
    """Whether the claim fits the procedure, with the amount compared."""

    model_config = ConfigDict(frozen=True)

    eligible: bool
    amount: Decimal
    ceiling: Decimal
    article: str = "CPCE L125-1"


def small_claims_eligibility(
    principal: Decimal, interest: Decimal, ceiling: Decimal = SMALL_CLAIMS_CEILING
) -> SmallClaimsCheck:
    """Eligible when principal still due + interest <= ``ceiling`` (5,000.00 EUR)."""
    amount = check_amount(principal, "principal", allow_zero=True)
    amount += check_amount(interest, "interest", allow_zero=True)
    return SmallClaimsCheck(eligible=amount <= ceiling, amount=amount, ceiling=ceiling)


def small_claims_for_statement(
    statement: Statement, ceiling: Decimal = SMALL_CLAIMS_CEILING
) -> SmallClaimsCheck:
    """Eligibility of a décompte: outstanding principal + penalties (no indemnity);
    payments beyond the principal are deducted from the interest."""
    principal_due = max(statement.principal - statement.paid, ZERO)
    overpaid = max(statement.paid - statement.principal, ZERO)
    interest = max(statement.penalties - overpaid, ZERO)
    return small_claims_eligibility(principal_due, interest, ceiling)
