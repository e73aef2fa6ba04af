"""What a write answers: where the case stands after it, not the case itself.

ERP keys may not read a case (``GET /v1/cases/{id}`` is for operators and auditors), so no
write answers with more than this, whoever calls: the journal, the actions, the holds'
reasons and the debtor stay behind the read endpoint. Operators GET the case for the rest.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.case import CaseView, HoldKind, Outcome, Stage
from schemas.money import Balance


class CaseAck(BaseModel):
    """The write was applied (or was a harmless repeat); the case now stands here."""

    case_id: str
    stage: Stage
    outcome: Outcome | None = Field(description="Set once the case is closed")
    balance: Balance
    currency: str
    policy_id: str
    policy_version: int
    holds: list[HoldKind] = Field(
        description="What suspends the timeline now, by kind (who and why: GET the case)"
    )
    position: int = Field(
        description="The case's journal position after this write: pass it as "
        "`after_position` to GET /v1/cases/{case_id} to read your write"
    )


def ack(case: CaseView) -> CaseAck:
    return CaseAck(
        case_id=case.case_id,
        stage=case.stage,
        outcome=case.outcome,
        balance=case.balance,
        currency=case.currency,
        policy_id=case.policy_id,
        policy_version=case.policy_version,
        holds=[hold.kind for hold in case.holds],
        position=case.position,
    )
