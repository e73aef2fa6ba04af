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
    for policy in catalog.values():  # a band names a policy that exists and picks none
        for band, target in policy.risk_bands.items():
            if target not in catalog or catalog[target].risk_bands:
                raise ValueError(
                    f"policy {policy.id}: risk band {band} names {target!r}, which is not a "
                    "policy without bands of its own"
                )
    return catalog


def parse_tenant_policies(spec: str) -> dict[tuple[str, str], str]:
    """`tenant:kind=policy,...` (RECOUVRE_TENANT_POLICIES): a creditor's own defaults."""
    defaults: dict[tuple[str, str], str] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        scope, sep, policy_id = entry.partition("=")
        tenant, sep2, kind = scope.partition(":")
        if not (sep and sep2 and tenant and policy_id) or kind not in DebtorKind.__members__:
            raise ValueError(f"RECOUVRE_TENANT_POLICIES: {entry!r} is not tenant:kind=policy")
        if policy_id not in load_catalog():
            raise ValueError(f"RECOUVRE_TENANT_POLICIES: unknown policy {policy_id!r}")
        defaults[(tenant, kind)] = policy_id
    return defaults


def resolve_policy(
    policy_id: str | None,
    debtor_kind: DebtorKind,
    tenant_default: str | None = None,
) -> Policy:
    """The policy asked for, else the creditor's default for this kind, else the catalog's."""
    catalog = load_catalog()
    policy_id = policy_id or tenant_default
    if policy_id is not None:
        if policy_id not in catalog:
            known = ", ".join(sorted(catalog))
            raise UnknownPolicy(f"unknown policy {policy_id!r}; known: {known}")
        return catalog[policy_id]
    for policy in catalog.values():
        if debtor_kind in policy.debtor_kinds:
            return policy
    raise UnknownPolicy(f"no default policy for debtor kind {debtor_kind.value!r}")
