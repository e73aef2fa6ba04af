"""Each tenant's Stripe keys: RECOUVRE_STRIPE_KEYS = `tenant=sk_...|whsec_...,...`.

A tenant is its own Stripe account: its secret key creates its Checkout sessions and its
webhook signing secret checks the events Stripe sends to its own webhook URL. A tenant
without keys is offered transfer instructions only."""

from __future__ import annotations

import re
from dataclasses import dataclass

SETTING = "RECOUVRE_STRIPE_KEYS"
TENANT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str
    webhook_secret: str

    def __repr__(self) -> str:  # never the secrets themselves, even in a traceback
        return f"StripeKeys(secret_key={self.secret_key[:8]}..., webhook_secret=...)"


def parse_stripe_keys(spec: str) -> dict[str, StripeKeys]:
    """Parse `tenant=secret_key|webhook_secret,...` (empty: no tenant takes card
    payments); raise ValueError naming the bad entry, never showing a secret."""
    keys: dict[str, StripeKeys] = {}
    for position, raw in enumerate(spec.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        tenant, sep, pair = entry.partition("=")
        tenant = tenant.strip()
        secret_key, sep2, webhook_secret = pair.partition("|")
        secret_key, webhook_secret = secret_key.strip(), webhook_secret.strip()
        where = f"{SETTING}: entry {position}"
        if not (sep and sep2):
            raise ValueError(f"{where} is not tenant=secret_key|webhook_secret")
        if not TENANT.match(tenant):
            raise ValueError(f"{where}: {tenant[:64]!r} is not a tenant name")
        if tenant in keys:
            raise ValueError(f"{where}: tenant {tenant!r} is given twice")
        if not secret_key.startswith(("sk_", "rk_")):
            raise ValueError(f"{where} (tenant {tenant!r}): the secret key must start sk_ or rk_")
        if not webhook_secret.startswith("whsec_"):
            raise ValueError(f"{where} (tenant {tenant!r}): the webhook secret must start whsec_")
        keys[tenant] = StripeKeys(secret_key, webhook_secret)
    return keys


def keys_of(spec: str, tenant: str) -> StripeKeys | None:
    """The tenant's keys in ``spec``, None when it has none (ValueError: a bad ``spec``)."""
    return parse_stripe_keys(spec).get(tenant)
