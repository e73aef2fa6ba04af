"""The webhook dispatcher: POSTs each due delivery, signed, in order per case.

A pass claims due deliveries in one short transaction (``FOR UPDATE SKIP LOCKED``: two
API processes never claim the same one) and leases them (their next attempt is moved
past the time one POST can take), then sends them concurrently and records each answer.
Only the head of a (subscription, case) queue is due: a case's later event waits until
every earlier one is delivered or abandoned, so a receiver sees a case's events in order.

An answer in 2xx delivers. Anything else (an error status, a refused connection, no
answer within the timeout) is logged in ``webhook_attempts`` and retried: the first
retry after ``first_retry_s``, each next wait doubled up to ``max_retry_s``, the last one
made when ``retry_period_s`` since it was queued is over; failing then too, the delivery
is abandoned (a replay revives it).
A receiver may get a delivery twice (it answered after the timeout, or its 2xx was lost
in a crash before the answer was recorded): ``Recouvre-Event-Id`` lets it drop a repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from outbound.erp_webhooks.signature import (
    DELIVERY_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    body_of,
    signature_header,
)
from outbound.erp_webhooks.targets import refused_target
from outbound.erp_webhooks.waiting import pause
from storage.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)

log = logging.getLogger("recouvre.webhooks")

CLAIM_SIZE = 50
"""Deliveries claimed (and sent concurrently) per pass."""
USER_AGENT = "recouvre-webhooks/1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    timeout_s: float
    first_retry_s: float
    max_retry_s: float
    retry_period_s: float
    private_targets: bool = False
    """Deliver to non-public addresses too (targets.py): development and tests only."""

    def wait_after(self, attempts: int) -> float:
        """The wait before the next attempt, after ``attempts`` failed ones."""
        doubled: float = self.first_retry_s * 2.0 ** max(attempts - 1, 0)
        return min(doubled, self.max_retry_s)

    @property
    def lease_s(self) -> float:
        return self.timeout_s + 30.0


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: int
    attempt: int
    created_at: datetime
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class _Answer:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _claim(engine: AsyncEngine, policy: RetryPolicy, now: datetime) -> list[_Claimed]:
    d, earlier = webhook_deliveries, aliased(webhook_deliveries)
    blocked = exists().where(
        earlier.c.subscription_id == d.c.subscription_id,
        earlier.c.case_id == d.c.case_id,
        earlier.c.delivery_id < d.c.delivery_id,
        earlier.c.status == "pending",
    )
    due = (
        select(d.c.delivery_id, d.c.attempts, d.c.created_at, d.c.subscription_id, d.c.event_id)
        .where(d.c.status == "pending", d.c.next_attempt_at <= now, ~blocked)
        .order_by(d.c.next_attempt_at, d.c.delivery_id)
        .limit(CLAIM_SIZE)
        .with_for_update(of=d, skip_locked=True)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(due)).all()
        if not rows:
            return []
        lease = now + timedelta(seconds=policy.lease_s)
        ids = [r.delivery_id for r in rows]
        await conn.execute(
            update(d)
            .where(d.c.delivery_id.in_(ids))
            .values(next_attempt_at=lease, attempts=d.c.attempts + 1)
        )
        details = select(
            webhook_events.c.event_id,
            webhook_events.c.event_type,
            webhook_events.c.payload,
        ).where(webhook_events.c.event_id.in_({r.event_id for r in rows}))
        events = {e.event_id: e for e in await conn.execute(details)}
        subs = select(
            webhook_subscriptions.c.subscription_id,
            webhook_subscriptions.c.url,
            webhook_subscriptions.c.secret,
        ).where(webhook_subscriptions.c.subscription_id.in_({r.subscription_id for r in rows}))
        targets = {s.subscription_id: s for s in await conn.execute(subs)}
    return [
        _Claimed(
            delivery_id=r.delivery_id,
            attempt=r.attempts + 1,
            created_at=r.created_at,
            url=targets[r.subscription_id].url,
            secret=targets[r.subscription_id].secret,
            event_id=str(r.event_id),
            event_type=events[r.event_id].event_type,
            body=body_of(events[r.event_id].payload),
        )
        for r in rows
    ]


async def _post(http: httpx.AsyncClient, claimed: _Claimed, policy: RetryPolicy) -> _Answer:
    started = time.monotonic()
    timeout_s = policy.timeout_s
    refused = None if policy.private_targets else await refused_target(claimed.url)
    if refused is not None:
        return _Answer(None, refused, int((time.monotonic() - started) * 1000))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(claimed.secret, int(time.time()), claimed.body),
        EVENT_ID_HEADER: claimed.event_id,
        EVENT_TYPE_HEADER: claimed.event_type,
        DELIVERY_HEADER: f"{claimed.delivery_id}/{claimed.attempt}",
    }
    try:
        response = await http.post(
            claimed.url, content=claimed.body, headers=headers, timeout=timeout_s
        )
        code, error = response.status_code, None if response.is_success else response.text[:500]
    except httpx.TimeoutException:
        code, error = None, f"no answer within {timeout_s:g} s"
    except httpx.HTTPError as err:
        code, error = None, f"{type(err).__name__}: {err}"[:500]
    return _Answer(code, error, int((time.monotonic() - started) * 1000))


async def _record(
    engine: AsyncEngine, policy: RetryPolicy, claimed: _Claimed, answer: _Answer, at: datetime
) -> None:
    d = webhook_deliveries
    values: dict[str, object] = {"last_status_code": answer.status_code, "last_error": answer.error}
    async with engine.begin() as conn:
        if answer.delivered:
            values |= {"status": "delivered", "delivered_at": datetime.now(UTC)}
        else:
            # The last try is made at the end of the retry period, not one backoff before.
            now, failed = (
                datetime.now(UTC),
                claimed.attempt - await _last_replay(conn, claimed.delivery_id),
            )
            deadline = claimed.created_at + timedelta(seconds=policy.retry_period_s)
            retry_at = min(now + timedelta(seconds=policy.wait_after(failed)), deadline)
            values |= {"status": "abandoned"} if now >= deadline else {"next_attempt_at": retry_at}
        await conn.execute(
            insert(webhook_attempts).values(
                delivery_id=claimed.delivery_id,
                attempt=claimed.attempt,
                attempted_at=at,
                duration_ms=answer.duration_ms,
                status_code=answer.status_code,
                error=answer.error,
            )
        )
        # Only while it is still this attempt's: a replay meanwhile took the next number.
        await conn.execute(
            update(d)
            .where(and_(d.c.delivery_id == claimed.delivery_id, d.c.attempts == claimed.attempt))
            .values(**values)
        )


async def _last_replay(conn: AsyncConnection, delivery_id: int) -> int:
    """The attempt number of the delivery's latest manual replay (0: never replayed): the
    backoff counts the failures since then."""
    a = webhook_attempts
    latest = select(func.max(a.c.attempt)).where(
        a.c.delivery_id == delivery_id, a.c.manual.is_not(None)
    )
    return int((await conn.execute(latest)).scalar_one() or 0)


async def dispatch_once(engine: AsyncEngine, http: httpx.AsyncClient, policy: RetryPolicy) -> int:
    """Send what is due now; returns how many deliveries were attempted."""
    now = datetime.now(UTC)
    claimed = await _claim(engine, policy, now)
    if claimed:
        answers = await asyncio.gather(*(_post(http, c, policy) for c in claimed))
        await _record_all(engine, policy, claimed, answers, now)
    return len(claimed)


async def _record_all(
    engine: AsyncEngine,
    policy: RetryPolicy,
    claimed: Sequence[_Claimed],
    answers: Sequence[_Answer],
    at: datetime,
) -> None:
    for one, answer in zip(claimed, answers, strict=True):
        await _record(engine, policy, one, answer, at)


async def keep_dispatching(
    engine: AsyncEngine, policy: RetryPolicy, stop: asyncio.Event, poll_s: float
) -> None:
    """Send due deliveries until ``stop`` is set; a database outage is waited out (a
    claimed delivery whose answer could not be recorded is sent again after its lease)."""
    async with httpx.AsyncClient(follow_redirects=False) as http:
        while not stop.is_set():
            try:
                sent = await dispatch_once(engine, http, policy)
            except (OperationalError, InterfaceError, OSError) as err:
                log.warning("webhook dispatcher: database unavailable (%s)", err)
                sent = 0
            if sent < CLAIM_SIZE:
                await pause(stop, poll_s)
