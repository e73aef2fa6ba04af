"""The shipped collection policies, loaded and validated from policies/data/."""

from __future__ import annotations

from functools import cache
from importlib import resources

from schemas.invoice import DebtorKind
from schemas.policy import Policy


class UnknownPolicy(LookupError):
    """The requested policy id is not in the catalog."""


@cache
def load_catalog() -> dict[str, Policy]:
    """Every policy file, validated; a malformed file fails loudly at start-up."""
    catalog: dict[str, Policy] = {}
    for entry in resources.files("policies").joinpath("data").iterdir():
        if entry.name.endswith(".json"):
            policy = Policy.model_validate_json(entry.read_text(encoding="utf-8"))
            catalog[policy.id] = policy
    return catalog


def resolve_policy(policy_id: str | None, debtor_kind: DebtorKind) -> Policy:
    """The policy asked for, else the default for the debtor's kind."""
    catalog = load_catalog()
    if policy_id is not None:
        if policy_id not in catalog:
            known = ", ".join(sorted(catalog))
            raise UnknownPolicy(f"unknown policy {policy_id!r}; known: {known}")
        return catalog[policy_id]
    for policy in catalog.values():
        if debtor_kind in policy.debtor_kinds:
            return policy
    raise UnknownPolicy(f"no default policy for debtor kind {debtor_kind.value!r}")
