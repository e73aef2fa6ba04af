"""Environment-backed settings of the partner hand-off channel (agency, commissaires de justice).

One HTTP endpoint per partner kind. Empty URLs mean "no partner configured": hand-offs are only
recorded in ``channel_outbox``, as before (``recouvre run`` may then start the local sandbox
partner, see sandboxes/partner_server.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HandoffPartner = Literal["agency", "commissaire_small_claims", "commissaire_enforcement"]
HANDOFF_PARTNERS: tuple[HandoffPartner, ...] = (
    "agency",
    "commissaire_small_claims",
    "commissaire_enforcement",
)


WebhookSecrets = dict[tuple[str, str], tuple[str, ...]]
"""(tenant, partner kind) -> the secrets a report on that tenant's mandates with that partner
may be signed with (several during a rotation)."""


def parse_webhook_secrets(text: str) -> WebhookSecrets:
    """``"tenant:kind=secret,tenant:kind=secret,…"`` -> WebhookSecrets.

    A pair given twice has two secrets (a rotation: either one verifies). Blanks around items
    are ignored; an unknown partner kind, an empty tenant or an empty secret is a ValueError.
    """
    found: dict[tuple[str, str], list[str]] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        pair, sep, secret = item.partition("=")
        tenant, colon, kind = pair.strip().rpartition(":")
        tenant, kind, secret = tenant.strip(), kind.strip(), secret.strip()
        if not sep or not colon or not tenant or not secret:
            raise ValueError(f"PARTNER_WEBHOOK_SECRETS: {pair.strip()!r} is not tenant:kind=secret")
        found.setdefault((tenant, handoff_partner(kind)), []).append(secret)
    return {pair: tuple(values) for pair, values in found.items()}


def format_webhook_secrets(secrets: Mapping[tuple[str, str], str | Iterable[str]]) -> str:
    """The PARTNER_WEBHOOK_SECRETS text for ``secrets`` (the inverse of the parser)."""
    items: list[str] = []
    for (tenant, kind), values in secrets.items():
        for secret in [values] if isinstance(values, str) else values:
            items.append(f"{tenant}:{kind}={secret}")
    return ",".join(items)


@dataclass(frozen=True)
class PartnerEndpoint:
    """Where one partner's API is and the key recouvre presents to it."""

    base_url: str
    api_key: str


class PartnerSettings(BaseSettings):
    """Partner endpoints, the inbound webhook's secrets (one per tenant and partner kind),
    client retry knobs, and the local sandbox's schedule (used only when ``recouvre run``
    starts it)."""

    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    agency_url: str = Field(default="", alias="PARTNER_AGENCY_URL")
    agency_api_key: str = Field(default="", alias="PARTNER_AGENCY_API_KEY")
    commissaire_url: str = Field(default="", alias="PARTNER_COMMISSAIRE_URL")
    """The commissaire de justice for the small-claims procedure (and, unless the enforcement
    settings below are given, for enforcement)."""
    commissaire_api_key: str = Field(default="", alias="PARTNER_COMMISSAIRE_API_KEY")
    enforcement_url: str = Field(default="", alias="PARTNER_ENFORCEMENT_URL")
    """Optional: another commissaire for enforcement. CPCE R125-8 forbids the commissaire who
    issued a small-claims title to enforce it; set this when the small-claims one is a single
    étude rather than a platform that routes files to different études."""
    enforcement_api_key: str = Field(default="", alias="PARTNER_ENFORCEMENT_API_KEY")

    webhook_secrets: str = Field(default="", alias="PARTNER_WEBHOOK_SECRETS")
    """``tenant:kind=secret,…``: the secret of the X-Recouvre-Signature HMAC on reports about
    ``tenant``'s mandates with partner ``kind`` (docs/partners.md). Empty: reports answer 503."""
    legacy_webhook_secret: str = Field(default="", alias="PARTNER_WEBHOOK_SECRET", repr=False)
    """The single shared secret of earlier releases; refused (use PARTNER_WEBHOOK_SECRETS)."""
    webhook_tolerance_s: int = Field(default=300, alias="PARTNER_WEBHOOK_TOLERANCE_S")

    timeout_s: float = Field(default=10.0, alias="PARTNER_TIMEOUT_S")
    max_attempts: int = Field(default=4, ge=1, le=10, alias="PARTNER_MAX_ATTEMPTS")
    """HTTP attempts per call (5xx, 429, timeouts and connection errors are retried)."""
    backoff_s: float = Field(default=0.5, ge=0, alias="PARTNER_BACKOFF_S")
    """First pause between attempts; doubles each time, at most 10 s."""

    sandbox_host: str = Field(default="127.0.0.1", alias="PARTNER_SANDBOX_HOST")
    sandbox_port: int = Field(default=8091, alias="PARTNER_SANDBOX_PORT")
    sandbox_step_s: float = Field(default=5.0, gt=0, alias="PARTNER_SANDBOX_STEP_S")
    """Seconds between two reports of a sandbox mandate."""
    sandbox_collected_fraction: Decimal = Field(
        default=Decimal("1"), ge=0, le=1, alias="PARTNER_SANDBOX_COLLECTED_FRACTION"
    )
    sandbox_small_claims_outcome: Literal["amount_collected", "title_obtained"] = Field(
        default="amount_collected", alias="PARTNER_SANDBOX_SMALL_CLAIMS_OUTCOME"
    )

    @field_validator("webhook_secrets")
    @classmethod
    def _valid_secrets(cls, value: str) -> str:
        parse_webhook_secrets(value)
        return value

    @model_validator(mode="after")
    def _no_shared_secret(self) -> PartnerSettings:
        if self.legacy_webhook_secret:
            raise ValueError(
                "PARTNER_WEBHOOK_SECRET (one secret for every partner and tenant) is replaced "
                "by PARTNER_WEBHOOK_SECRETS=tenant:kind=secret,… (docs/partners.md)"
            )
        return self

    def webhook_secrets_for(self, tenant: str, kind: str) -> tuple[str, ...]:
        """The secrets reports on ``tenant``'s mandates with ``kind`` are signed with."""
        return parse_webhook_secrets(self.webhook_secrets).get((tenant, kind), ())

    def endpoint(self, kind: str) -> PartnerEndpoint | None:
        """The endpoint configured for ``kind``, or None."""
        if kind == "agency":
            url, key = self.agency_url, self.agency_api_key
        elif kind == "commissaire_small_claims":
            url, key = self.commissaire_url, self.commissaire_api_key
        elif kind == "commissaire_enforcement":
            url, key = self.enforcement_url, self.enforcement_api_key
            if not url:
                url, key = self.commissaire_url, self.commissaire_api_key
        else:
            return None
        return PartnerEndpoint(url.rstrip("/"), key) if url else None

    def endpoints(self) -> dict[str, PartnerEndpoint]:
        """Every configured endpoint by partner kind."""
        found: dict[str, PartnerEndpoint] = {}
        for kind in HANDOFF_PARTNERS:
            endpoint = self.endpoint(kind)
            if endpoint is not None:
                found[kind] = endpoint
        return found

    @property
    def enabled(self) -> bool:
        """True when at least one partner is configured."""
        return bool(self.agency_url or self.commissaire_url or self.enforcement_url)


def handoff_partner(kind: str | None) -> HandoffPartner:
    """``kind`` as a hand-off partner; ValueError for anything else (court, mandataire, None)."""
    if kind == "agency":
        return "agency"
    if kind == "commissaire_small_claims":
        return "commissaire_small_claims"
    if kind == "commissaire_enforcement":
        return "commissaire_enforcement"
    raise ValueError(f"{kind!r} is not a hand-off partner (agency or commissaire de justice)")
