"""A policy may pick a firmer or gentler timeline by the debtor's risk band (issue 12):
at intake, a debtor already known from its other cases is scored (projections/debtor_risk.py)
and the band's policy, if the policy names one, runs instead. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from policies.catalog import resolve_policy
from projections.debtor_risk import debtor_risk
from schemas.case import CaseView
from schemas.invoice import DebtorKind
from schemas.policy import Policy


def policy_for_risk(
    policy: Policy, kind: DebtorKind, views: Sequence[CaseView], as_of: date
) -> tuple[Policy, str | None]:
    """The policy to run and why (None: ``policy`` itself, for a debtor with no history or
    a band it does not name)."""
    if not policy.risk_bands or not views:
        return policy, None
    risk = debtor_risk(views, as_of)
    target = policy.risk_bands.get(risk.band)
    if target is None:
        return policy, None
    chosen = resolve_policy(target, kind)
    why = f"risk band {risk.band} (score {risk.score}) under {policy.id} v{policy.version}"
    return chosen, why
