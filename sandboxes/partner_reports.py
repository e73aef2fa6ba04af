"""The sandbox partner's schedule: which reports a mandate gets, when, and how they are sent.

Each mandate walks, one report after another (delays in seconds, each from the previous
report):

- agency: accepted -> in_progress -> amount_collected -> closed;
- commissaire_small_claims: accepted -> in_progress -> amount_collected or title_obtained
  (``small_claims_outcome``) -> closed;
- commissaire_enforcement: accepted -> in_progress -> enforcement_measure -> amount_collected
  -> closed.

The amount collected is ``collected_fraction`` of the package's ``decompte.balance_value`` (the
principal still due, what the case can settle), rounded down to the cent; when something is
left, the closing report says ``uncollectable``. Reports are POSTed to recouvre with the
mandate's tenant in ``X-Recouvre-Tenant``, signed with ``X-Recouvre-Signature`` (the secret of
that tenant and partner kind, over the tenant, the kind and the body), and retried with backoff
until recouvre answers 2xx. A report whose tenant and kind have no secret is not sent.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from activities.partners.package import canonical_json
from inbound.signatures import (
    PARTNER_SIGNATURE_HEADER,
    PARTNER_TENANT_HEADER,
    sign_partner_report,
)

log = logging.getLogger("recouvre.sandbox.partner")

CENT = Decimal("0.01")
NOTES = {
    "accepted": "mandat accepté",
    "in_progress": "débiteur contacté",
    "amount_collected": "encaissement reçu du débiteur",
    "title_obtained": "accord du débiteur : titre exécutoire délivré",
    "enforcement_measure": "saisie-attribution pratiquée",
    "closed": "dossier clôturé",
}


class PartnerSchedule(BaseModel):
    """How the sandbox moves its mandates (all delays in seconds)."""

    model_config = ConfigDict(frozen=True)

    accepted_after_s: float = Field(default=2.0, ge=0)
    in_progress_after_s: float = Field(default=2.0, ge=0)
    outcome_after_s: float = Field(default=5.0, ge=0)
    """Before amount_collected / title_obtained (and before enforcement_measure)."""
    closed_after_s: float = Field(default=2.0, ge=0)
    collected_fraction: Decimal = Field(default=Decimal("1"), ge=0, le=1)
    small_claims_outcome: Literal["amount_collected", "title_obtained"] = "amount_collected"
    callback_attempts: int = Field(default=8, ge=1)
    callback_backoff_s: float = Field(default=0.5, ge=0)
    """First pause before re-sending a report recouvre did not accept; doubles, at most 30 s."""
    reports: bool = True
    """False: mandates are created and never reported on (for tests of the API alone)."""
    fail_first_creates: int = Field(default=0, ge=0)
    """Answer 503 to this many first POST /v1/mandates (to exercise client retries)."""

    @classmethod
    def every(cls, seconds: float, **overrides: Any) -> PartnerSchedule:
        """The same delay between every two reports."""
        delays = {
            name: seconds
            for name in (
                "accepted_after_s",
                "in_progress_after_s",
                "outcome_after_s",
                "closed_after_s",
            )
        }
        return cls.model_validate({**delays, **overrides})

    def plan(
        self, partner_kind: str, balance: Decimal | None
    ) -> list[tuple[float, dict[str, Any]]]:
        """(delay, report fields) in order, for a mandate whose balance is ``balance``."""
        steps: list[tuple[float, dict[str, Any]]] = [
            (self.accepted_after_s, {"status": "accepted"}),
            (self.in_progress_after_s, {"status": "in_progress"}),
        ]
        collected = Decimal(0)
        if balance is not None and balance > 0:
            collected = (balance * self.collected_fraction).quantize(CENT, rounding=ROUND_DOWN)
        collect = {"status": "amount_collected", "amount": f"{collected}"}
        titled = partner_kind == "commissaire_small_claims" and (
            self.small_claims_outcome == "title_obtained"
        )
        if partner_kind == "commissaire_enforcement":
            steps.append((self.outcome_after_s, {"status": "enforcement_measure"}))
        if titled:
            steps.append((self.outcome_after_s, {"status": "title_obtained"}))
        elif collected > 0:
            steps.append((self.outcome_after_s, collect))
        closing: dict[str, Any] = {"status": "closed"}
        if not titled and (balance is None or collected < balance):
            closing["result"] = "uncollectable"
        steps.append((self.closed_after_s, closing))
        return steps


def callback_for(callback_url: str, partner_kind: str) -> str:
    """recouvre's inbound URL for ``partner_kind``: a base URL gets the standard path; a URL
    with ``{partner_kind}`` is filled in."""
    if "{partner_kind}" in callback_url:
        return callback_url.format(partner_kind=partner_kind)
    return f"{callback_url.rstrip('/')}/v1/partners/{partner_kind}/reports"


@dataclass
class SandboxMandate:
    reference: str
    partner_kind: str
    tenant: str
    idempotency_key: str
    case_id: str
    package: dict[str, Any]
    body_sha256: str
    created_at: datetime
    status: str = "received"
    reports: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "status": self.status,
            "partner_kind": self.partner_kind,
            "tenant": self.tenant,
            "idempotency_key": self.idempotency_key,
            "case_id": self.case_id,
            "created_at": self.created_at.isoformat(),
            "package_sha256": self.body_sha256,
            "reports": [dict(report) for report in self.reports],
        }

    @property
    def balance(self) -> Decimal | None:
        value = (self.package.get("decompte") or {}).get("balance_value")
        return Decimal(str(value)) if value is not None else None


class Reporter:
    """Walks mandates through the schedule and sends their reports (in the server's loop)."""

    def __init__(
        self,
        schedule: PartnerSchedule,
        callback_url: str | None,
        webhook_secrets: Mapping[tuple[str, str], str],
    ) -> None:
        self.schedule = schedule
        self.callback_url = callback_url
        self.webhook_secrets = dict(webhook_secrets)
        """(tenant, partner kind) -> the secret its reports are signed with."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    def follow(self, mandate: SandboxMandate) -> None:
        if not self.schedule.reports:
            return
        task = asyncio.create_task(self._walk(mandate), name=f"partner-{mandate.reference}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _walk(self, mandate: SandboxMandate) -> None:
        for delay, fields in self.schedule.plan(mandate.partner_kind, mandate.balance):
            await asyncio.sleep(delay)
            status = fields["status"]
            report = {
                "event_id": f"evt_{secrets.token_hex(8)}",
                "mandate_reference": mandate.reference,
                "idempotency_key": mandate.idempotency_key,
                "case_id": mandate.case_id,
                "tenant": mandate.tenant,
                "partner_kind": mandate.partner_kind,
                "occurred_on": datetime.now(UTC).date().isoformat(),
                "currency": "EUR",
                "note": NOTES[status],
                "amount": None,
                "result": None,
                **fields,
            }
            mandate.status = status
            mandate.reports.append(report)
            report["delivered"] = await self._send(mandate.tenant, mandate.partner_kind, report)

    async def _send(self, tenant: str, partner_kind: str, report: dict[str, Any]) -> bool:
        if self.callback_url is None or self._http is None:
            return False
        secret = self.webhook_secrets.get((tenant, partner_kind))
        if not secret:
            log.warning(
                "report %s not sent: no webhook secret for %s of tenant %r",
                report["event_id"],
                partner_kind,
                tenant,
            )
            return False
        url = callback_for(self.callback_url, partner_kind)
        body = canonical_json({k: v for k, v in report.items() if k != "delivered"})
        pause = self.schedule.callback_backoff_s
        for attempt in range(1, self.schedule.callback_attempts + 1):
            headers = {
                "Content-Type": "application/json",
                PARTNER_TENANT_HEADER: tenant,
                PARTNER_SIGNATURE_HEADER: sign_partner_report(secret, tenant, partner_kind, body),
            }
            try:
                response = await self._http.post(url, content=body, headers=headers)
                if response.is_success:
                    return True
                failure = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as err:
                failure = f"{type(err).__name__}: {err}"
            log.info(
                "report %s (%s) to %s failed, attempt %d of %d: %s",
                report["event_id"],
                report["status"],
                url,
                attempt,
                self.schedule.callback_attempts,
                failure,
            )
            if attempt < self.schedule.callback_attempts:
                await asyncio.sleep(pause)
                pause = min(30.0, pause * 2)
        log.warning("report %s to %s given up", report["event_id"], url)
        return False
