"""The simplified small-claims procedure (CPCE L125-1, R125-1 and following):
claims up to 5,000 EUR in principal and interest, run by a commissaire de
justice.

recouvre leaves the fixed 40 EUR indemnity out of both the ceiling and the
request, as the official request model lists only principal and interest
(french-collection-law.md s.4): ``small_claims_request`` gives the amounts to
request and ``small_claims_for_statement`` checks that same amount against the
ceiling, so the two cannot disagree.
"""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from legal.money import ZERO, check_amount
from legal.statement import Statement

SMALL_CLAIMS_CEILING = Decimal("5000.00")
INDEMNITY_LEFT_OUT_FR = (
    "L'indemnité forfaitaire de 40 euros n'est ni demandée dans cette procédure ni "
    "comptée dans son plafond, qui porte sur le principal et les intérêts."
)


class SmallClaimsCheck(BaseModel):
    """Whether the claim fits the procedure, with the amount compared."""

    model_config = ConfigDict(frozen=True)

    eligible: bool
    amount: Decimal
    ceiling: Decimal
    article: str = "CPCE L125-1"


class SmallClaimsRequest(BaseModel):
    """What the commissaire de justice is asked to recover: principal and interest
    only; ``amount`` is both the sum requested and the sum compared to the ceiling."""

    model_config = ConfigDict(frozen=True)

    principal: Decimal
    """Principal still due (payments imputed to the principal first)."""
    interest: Decimal
    """Penalties or interest, less any payment beyond the principal."""
    amount: Decimal
    indemnity_left_out: Decimal
    """The 40 EUR indemnity of the statement, neither requested nor counted."""
    ceiling: Decimal
    eligible: bool
    note_fr: str = INDEMNITY_LEFT_OUT_FR
    article: str = "CPCE L125-1, R125-1"


def small_claims_eligibility(
    principal: Decimal, interest: Decimal, ceiling: Decimal = SMALL_CLAIMS_CEILING
) -> SmallClaimsCheck:
    """Eligible when principal still due + interest <= ``ceiling`` (5,000.00 EUR).
    Never add the 40 EUR indemnity to either argument."""
    amount = check_amount(principal, "principal", allow_zero=True)
    amount += check_amount(interest, "interest", allow_zero=True)
    return SmallClaimsCheck(eligible=amount <= ceiling, amount=amount, ceiling=ceiling)


def small_claims_request(
    statement: Statement, ceiling: Decimal = SMALL_CLAIMS_CEILING
) -> SmallClaimsRequest:
    """The request of a décompte: outstanding principal + interest, no indemnity;
    payments beyond the principal are deducted from the interest."""
    principal_due = max(statement.principal - statement.paid, ZERO)
    overpaid = max(statement.paid - statement.principal, ZERO)
    interest = max(statement.penalties - overpaid, ZERO)
    check = small_claims_eligibility(principal_due, interest, ceiling)
    return SmallClaimsRequest(
        principal=principal_due,
        interest=interest,
        amount=check.amount,
        indemnity_left_out=statement.indemnity,
        ceiling=ceiling,
        eligible=check.eligible,
    )


def small_claims_for_statement(
    statement: Statement, ceiling: Decimal = SMALL_CLAIMS_CEILING
) -> SmallClaimsCheck:
    """Eligibility of a décompte: the amount of ``small_claims_request`` (no indemnity)."""
    request = small_claims_request(statement, ceiling)
    return SmallClaimsCheck(eligible=request.eligible, amount=request.amount, ceiling=ceiling)
