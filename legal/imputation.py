"""How partial payments are imputed (french-collection-law.md s.5).

C. civ. 1343-1 would impute a payment to the interest first, then to the
principal. recouvre applies each payment to the principal first, and only the
excess to the interest and indemnity: that claims less, so it is lawful, and
the letters say so. This is the rule the accrual engine already follows (a
payment lowers the interest base from the next day).
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from legal.accrual import Payment
from legal.money import ZERO

PRINCIPAL_FIRST_FR = (
    "Les paiements reçus sont imputés d'abord sur le principal, puis sur les intérêts "
    "ou pénalités et l'indemnité ; cette imputation est plus favorable au débiteur que "
    "celle de l'article 1343-1 du Code civil (intérêts d'abord)."
)
PRINCIPAL_FIRST_EN = (
    "Payments are applied to the principal first, then to interest or penalties and the "
    "indemnity; this favours the debtor over C. civ. 1343-1 (interest first)."
)


class PaymentImputation(BaseModel):
    """Where one payment went."""

    model_config = ConfigDict(frozen=True)

    on: date
    amount: Decimal
    to_principal: Decimal
    beyond_principal: Decimal
    """The part left once the principal is paid: it reduces interest and indemnity."""
    principal_after: Decimal


class Imputation(BaseModel):
    """The imputation rule and its effect on each payment."""

    model_config = ConfigDict(frozen=True)

    rule: Literal["principal_first"] = "principal_first"
    article: str = "C. civ. 1343-1"
    explanation_fr: str = PRINCIPAL_FIRST_FR
    explanation_en: str = PRINCIPAL_FIRST_EN
    payments: tuple[PaymentImputation, ...] = ()


def impute_payments(principal: Decimal, payments: Sequence[Payment]) -> Imputation:
    """Apply ``payments`` (already validated, in date order) principal first."""
    remaining = principal
    rows: list[PaymentImputation] = []
    for payment in payments:
        to_principal = min(payment.amount, remaining)
        remaining -= to_principal
        rows.append(
            PaymentImputation(
                on=payment.on,
                amount=payment.amount,
                to_principal=to_principal,
                beyond_principal=payment.amount - to_principal,
                principal_after=max(remaining, ZERO),
            )
        )
    return Imputation(payments=tuple(rows))
