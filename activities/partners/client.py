"""Talk to partners: the ``PartnerClient`` protocol and its HTTP implementation.

recouvre's partner API (what the local sandbox speaks, see docs/partners.md)::

    POST /v1/mandates            Authorization: Bearer <key>, Idempotency-Key: <hand-off key>
                                 body: the hand-off package (activities/partners/package.py)
                                 201 new mandate, 200 the same key again (same mandate)
    GET  /v1/mandates/{ref}      the mandate and the reports sent so far

A real agency or commissaire with its own API gets its own ``PartnerClient`` (mapping the
package to its format and its reference back), combined with the others in a
``PartnerRouter``. Whatever the implementation, ``create_mandate`` must be idempotent on
``package.idempotency_key``: the same key never makes a second mandate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.partners.package import HandoffPackage
from activities.partners.settings import PartnerEndpoint, PartnerSettings

log = logging.getLogger("recouvre.partners")

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_BACKOFF_S = 10.0


class PartnerError(Exception):
    """A partner call failed."""


class PartnerUnavailable(PartnerError):
    """The partner could not be reached or kept failing (5xx, 429, timeouts) after the bounded
    retries: a later retry may succeed."""


class PartnerAuthFailed(PartnerError):
    """The partner refused recouvre's API key (401/403): a configuration fix, then a retry."""


class PartnerRejected(PartnerError):
    """The partner refused the mandate itself (other 4xx): a retry cannot fix it."""

    def __init__(self, message: str, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status, self.code = status, code


class PartnerNotConfigured(PartnerError):
    """No endpoint is configured for this partner kind."""


class MandateReport(BaseModel):
    """One report of the partner on a mandate (as its API lists them)."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    status: str
    occurred_on: str
    amount: str | None = None
    result: str | None = None
    note: str | None = None
    delivered: bool | None = None


class Mandate(BaseModel):
    """The partner's view of a mandate."""

    model_config = ConfigDict(extra="ignore")

    reference: str
    status: str
    partner_kind: str
    idempotency_key: str
    case_id: str = ""
    created_at: datetime | None = None
    package_sha256: str = ""
    reports: list[MandateReport] = Field(default_factory=list)
    replayed: bool = False
    """True when the partner answered an already-used Idempotency-Key (no new mandate)."""


@runtime_checkable
class PartnerClient(Protocol):
    """A partner (or several). ``create_mandate`` must be idempotent on the package's key."""

    def supports(self, partner_kind: str) -> bool:
        """Whether this client can hand a case to ``partner_kind``."""
        ...

    async def create_mandate(self, package: HandoffPackage) -> Mandate:
        """Hand the case over; return the mandate (``reference`` is the partner's)."""
        ...

    async def get_mandate(self, partner_kind: str, reference: str) -> Mandate:
        """The mandate as the partner sees it now."""
        ...


class HttpPartnerClient:
    """recouvre's partner API over HTTP, one endpoint (base URL + API key) per partner kind.

    Each call is retried on 5xx, 429, timeouts and connection errors, at most ``max_attempts``
    times in all, pausing ``backoff_s`` then doubling (capped at 10 s, or the partner's
    Retry-After when it is longer and within the cap). A retried POST carries the same
    Idempotency-Key and body, so it cannot create a second mandate.
    """

    def __init__(
        self,
        endpoints: Mapping[str, PartnerEndpoint],
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self._endpoints = dict(endpoints)
        self._timeout = httpx.Timeout(timeout_s)
        self._max_attempts = max(1, max_attempts)
        self._backoff_s = backoff_s

    @classmethod
    def from_settings(cls, settings: PartnerSettings) -> HttpPartnerClient:
        return cls(
            settings.endpoints(),
            timeout_s=settings.timeout_s,
            max_attempts=settings.max_attempts,
            backoff_s=settings.backoff_s,
        )

    def supports(self, partner_kind: str) -> bool:
        return partner_kind in self._endpoints

    async def create_mandate(self, package: HandoffPackage) -> Mandate:
        endpoint = self._endpoint(package.partner_kind)
        response = await self._call(
            endpoint,
            "POST",
            "/v1/mandates",
            content=package.canonical_json(),
            headers={
                IDEMPOTENCY_HEADER: package.idempotency_key,
                "Content-Type": "application/json",
            },
        )
        mandate = _mandate(response)
        replayed = response.status_code == 200 or response.headers.get("Idempotent-Replayed")
        return mandate.model_copy(update={"replayed": bool(replayed)})

    async def get_mandate(self, partner_kind: str, reference: str) -> Mandate:
        endpoint = self._endpoint(partner_kind)
        return _mandate(await self._call(endpoint, "GET", f"/v1/mandates/{reference}"))

    def _endpoint(self, partner_kind: str) -> PartnerEndpoint:
        endpoint = self._endpoints.get(partner_kind)
        if endpoint is None:
            raise PartnerNotConfigured(f"no partner endpoint is configured for {partner_kind!r}")
        return endpoint

    async def _call(
        self, endpoint: PartnerEndpoint, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {endpoint.api_key}", **kwargs.pop("headers", {})}
        url = endpoint.base_url + path
        failure = ""
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            for attempt in range(1, self._max_attempts + 1):
                retry_after: float | None = None
                try:
                    response = await http.request(method, url, headers=headers, **kwargs)
                except (httpx.TimeoutException, httpx.TransportError) as err:
                    failure = f"{type(err).__name__}: {err}"
                else:
                    if response.status_code < 400:
                        return response
                    if response.status_code in (401, 403):
                        raise PartnerAuthFailed(
                            f"{method} {url}: {response.status_code} {_error_text(response)}"
                        )
                    if response.status_code != 429 and response.status_code < 500:
                        code, message = _error_of(response)
                        raise PartnerRejected(
                            f"{method} {url}: {response.status_code} {message}",
                            response.status_code,
                            code,
                        )
                    failure = f"{response.status_code} {_error_text(response)}"
                    retry_after = _retry_after(response)
                if attempt == self._max_attempts:
                    break
                pause = min(MAX_BACKOFF_S, self._backoff_s * 2 ** (attempt - 1))
                if retry_after is not None:
                    pause = max(pause, min(retry_after, MAX_BACKOFF_S))
                log.warning(
                    "partner %s %s failed (attempt %d of %d): %s; retrying in %.1f s",
                    method,
                    url,
                    attempt,
                    self._max_attempts,
                    failure,
                    pause,
                )
                await asyncio.sleep(pause)
        raise PartnerUnavailable(
            f"{method} {url} failed {self._max_attempts} times; last: {failure}"
        )


class PartnerRouter:
    """Several clients behind one: each partner kind goes to its own client (e.g. the HTTP
    client for the commissaires and a dedicated client for a real agency's API)."""

    def __init__(self, clients: Mapping[str, PartnerClient]) -> None:
        self._clients = dict(clients)

    def supports(self, partner_kind: str) -> bool:
        client = self._clients.get(partner_kind)
        return client is not None and client.supports(partner_kind)

    async def create_mandate(self, package: HandoffPackage) -> Mandate:
        return await self._client(package.partner_kind).create_mandate(package)

    async def get_mandate(self, partner_kind: str, reference: str) -> Mandate:
        return await self._client(partner_kind).get_mandate(partner_kind, reference)

    def _client(self, partner_kind: str) -> PartnerClient:
        client = self._clients.get(partner_kind)
        if client is None:
            raise PartnerNotConfigured(f"no partner client for {partner_kind!r}")
        return client


def _mandate(response: httpx.Response) -> Mandate:
    try:
        return Mandate.model_validate_json(response.content)
    except ValidationError as err:
        raise PartnerUnavailable(
            f"{response.request.method} {response.request.url}: unexpected answer: {err}"
        ) from None


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from {"error": {"code", "message"}} (recouvre's shape), or the text."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "")), str(error.get("message", ""))[:300]
    return "", str(body)[:300]


def _error_text(response: httpx.Response) -> str:
    code, message = _error_of(response)
    return f"{code}: {message}" if code else message


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
