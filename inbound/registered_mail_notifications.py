"""Registered-mail notifications: ``POST /v1/webhooks/registered-mail``, the registered-mail
provider's callbacks.

No API key: the caller authenticates the way Maileva's notification_center calls a callback,
with the subscription's ``authentication``: ``Authorization: Basic base64(login:password)``
(``REGISTERED_MAIL_WEBHOOK_LOGIN`` / ``REGISTERED_MAIL_WEBHOOK_SECRET``, the credentials
``activities.registered_mail.subscriptions.ensure_subscriptions`` subscribes with). Missing or
other credentials (a Bearer token included: recouvre runs no OAuth2 server for the
subscriptions' ``oauth2`` option) are 401. Each notification is processed once per event id
(``registered_mail_events``); a replay answers 201 with ``duplicate: true`` and changes
nothing.

The notification only says which letter changed: the status is read back from the
provider's API (with recouvre's credentials, activities/registered_mail/tracking.py's
``sync_letter``), new statuses are signalled to the case's workflow as
``RegisteredLetterStatus`` events (``by="registered-mail:<provider>"``), and new proofs are
downloaded and stored with their SHA-256. Answers: 201 processed (Maileva counts anything else
as a failure and retries), 404 no such letter yet, 503 provider or Temporal unavailable
(nothing recorded: the provider's retry will do it).

Mount with ``app.include_router(router)``; ``get_registered_mail_webhook`` (the credentials
and the provider client, from ``RegisteredMailSettings``) is the dependency to override.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError, RPCStatusCode

from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.provider import RegisteredMailError, RegisteredMailProvider
from activities.registered_mail.settings import DEFAULT_WEBHOOK_LOGIN, RegisteredMailSettings
from activities.registered_mail.tracking import (
    LetterProblem,
    Report,
    Signal,
    SyncResult,
    sync_letter,
)
from schemas.case_events import (
    CaseEventEnvelope,
    RegisteredLetterProblem,
    RegisteredLetterStatus,
)
from services.api.deps import Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse
from storage.tables import cases, registered_letters, registered_mail_events

log = logging.getLogger("recouvre.api.registered_mail")

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class ProviderNotification(BaseModel):
    """A Maileva notification_center callback body (fields as documented; extra kept)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    """A notification id, if a sender adds one (notification_content_creation has none)."""
    source: str | None = None
    user_id: str | None = None
    client_id: str | None = None
    event_type: str
    resource_type: str
    event_date: str | None = None
    event_location: str | None = None
    resource_id: str
    resource_location: str | None = None
    resource_custom_id: str | None = None
    resource_custom_data: str | None = None

    @property
    def event_id(self) -> str:
        """The provider's id, else a digest of what identifies the event."""
        if self.id:
            return self.id[:200]
        identity = "|".join(
            [self.event_type, self.resource_type, self.resource_id, self.event_date or ""]
        )
        return "sha256:" + hashlib.sha256(identity.encode()).hexdigest()

    @property
    def sending_id(self) -> str | None:
        """The sending id in ``resource_location`` (.../sendings/<id>[/recipients/<rid>])."""
        parts = (self.resource_location or "").split("/")
        if "sendings" in parts:
            index = parts.index("sendings") + 1
            if index < len(parts) and parts[index]:
                return parts[index]
        return None


class LetterNotFound(LookupError):
    """No registered letter matches the notification (yet)."""


async def handle_notification(
    engine: AsyncEngine,
    provider: RegisteredMailProvider,
    signal: Signal,
    notification: ProviderNotification,
    report: Report | None = None,
) -> SyncResult:
    """Process one provider notification once per event id (raise LetterNotFound when no
    letter matches it: the provider retries later, e.g. while the letter is being posted)."""
    candidates = [notification.resource_id]
    if notification.sending_id:
        candidates.append(notification.sending_id)
    conditions: list[ColumnElement[bool]] = [
        registered_letters.c.provider_id.in_(candidates),
        registered_letters.c.provider_recipient_id.in_(candidates),
    ]
    if notification.resource_custom_data:
        conditions.append(registered_letters.c.idempotency_key == notification.resource_custom_data)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(registered_letters).where(or_(*conditions)).limit(1).with_for_update()
            )
        ).first()
        if row is None:
            raise LetterNotFound(
                f"no registered letter for {notification.resource_type} {notification.resource_id}"
            )
        fresh = (
            await conn.execute(
                insert(registered_mail_events)
                .values(
                    event_id=notification.event_id,
                    provider=provider.name,
                    idempotency_key=row.idempotency_key,
                    event_type=notification.event_type[:64],
                    resource_id=notification.resource_id[:100],
                    payload=notification.model_dump(mode="json"),
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(registered_mail_events.c.event_id)
            )
        ).first()
        if fresh is None:
            return SyncResult(row.idempotency_key, row.provider_id, row.status, duplicate=True)
        return await sync_letter(conn, provider, signal, row, report)


# --- the HTTP endpoint ---


@dataclass
class RegisteredMailWebhook:
    """What the endpoint needs: the subscriptions' Basic credentials (``login``, and
    ``secret`` the password) and a client of the provider's API."""

    secret: str
    provider: RegisteredMailProvider
    tolerance_s: float = 300.0
    """Unused (Basic credentials carry no timestamp); kept for existing callers."""
    login: str = DEFAULT_WEBHOOK_LOGIN
    report: Report | None = None
    """Told once per new anomaly of a letter (rejected, blocked...), when given."""


class CallbackRefused(Exception):
    """The callback does not carry the subscription's credentials: answer 401."""


def check_basic_credentials(header: str | None, login: str, password: str) -> None:
    """Raise CallbackRefused unless ``header`` is ``Basic base64(login:password)``."""
    if not password:
        raise CallbackRefused("no callback password is configured")
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise CallbackRefused("Basic credentials required")
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CallbackRefused("malformed Basic credentials") from None
    given_login, sep, given_password = given.partition(b":")
    ok_login = hmac.compare_digest(given_login, login.encode())
    ok_password = hmac.compare_digest(given_password, password.encode())
    if not (sep and ok_login and ok_password):
        raise CallbackRefused("wrong credentials")


def get_registered_mail_webhook(request: Request) -> RegisteredMailWebhook:
    """Built once per app from the environment (REGISTERED_MAIL_*); override in tests or
    when wiring settings from services/config.py."""
    cached: RegisteredMailWebhook | None = getattr(
        request.app.state, "registered_mail_webhook", None
    )
    if cached is None:
        settings = RegisteredMailSettings()
        if not settings.enabled or not settings.webhook_secret:
            raise ApiError(
                503,
                "unavailable",
                "registered mail is not configured (REGISTERED_MAIL_PROVIDER_URL and "
                "REGISTERED_MAIL_WEBHOOK_SECRET)",
            )
        cached = RegisteredMailWebhook(
            secret=settings.webhook_secret,
            provider=MailevaClient(settings),
            login=settings.webhook_login,
        )
        request.app.state.registered_mail_webhook = cached
    return cached


WebhookDep = Annotated[RegisteredMailWebhook, Depends(get_registered_mail_webhook)]


class WebhookAck(BaseModel):
    event_id: str
    duplicate: bool
    letter: str
    """The letter's idempotency key."""
    provider_id: str | None
    status: str
    signalled: list[str]
    proofs: list[str]


class SignalFailed(RuntimeError):
    """The case's workflow could not be told (Temporal unavailable)."""


async def _workflow_of(runtime: Runtime, case_id: str) -> str | None:
    async with runtime.engine.connect() as conn:
        found: str | None = (
            await conn.execute(select(cases.c.workflow_id).where(cases.c.case_id == case_id))
        ).scalar_one_or_none()
    return found


async def _tell_case(
    runtime: Runtime,
    workflow_id: str | None,
    case_id: str,
    event: RegisteredLetterStatus | RegisteredLetterProblem,
) -> None:
    """Send ``record_event`` to the case's workflow; a finished workflow (closed case) is
    not an error, an unreachable Temporal is (SignalFailed: the provider retries)."""
    target = workflow_id or await _workflow_of(runtime, case_id)
    if target is None:
        log.warning("registered letter of unknown case %s: %s not signalled", case_id, event.type)
        return
    handle = runtime.temporal.get_workflow_handle(target)
    try:
        await handle.signal(
            "record_event",
            CaseEventEnvelope(event=event),
            rpc_timeout=timedelta(seconds=runtime.settings.temporal_rpc_timeout_s),
        )
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            log.info("case %s is closed; %s not signalled", case_id, event.type)
            return
        raise SignalFailed(str(err)) from err
    except RuntimeError as err:  # lazy client that cannot connect
        raise SignalFailed(str(err)) from err


def temporal_signal(runtime: Runtime) -> Signal:
    """Each new delivery status, told to the case's workflow."""

    async def signal(workflow_id: str | None, case_id: str, event: RegisteredLetterStatus) -> None:
        await _tell_case(runtime, workflow_id, case_id, event)

    return signal


def temporal_report(runtime: Runtime, provider: str) -> Report:
    """Each new anomaly of a letter, told to its case: not delivered, the case goes back to
    its formal notice (blocked, with an operator task); held, the operator gets a task."""

    async def report(problem: LetterProblem) -> None:
        event = RegisteredLetterProblem(
            anomaly=problem.anomaly.value,
            reason=problem.reason[:300],
            detail=problem.detail[:500],
            provider_status=problem.provider_status[:40],
            letter_reference=problem.provider_id[:100],
            by=f"registered-mail:{provider}",
        )
        await _tell_case(runtime, problem.workflow_id, problem.case_id, event)

    return report


RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 422, 503)
}


@router.post(
    "/registered-mail",
    status_code=201,
    response_model=WebhookAck,
    responses=RESPONSES,
    summary="Notification from the registered-mail provider (Basic credentials)",
)
async def registered_mail_notification(
    request: Request, runtime: RuntimeDep, webhook: WebhookDep
) -> WebhookAck:
    """A Maileva notification_center callback (notification_content_creation), authenticated
    by the subscription's Basic credentials. 201 once processed; Maileva retries otherwise."""
    try:
        check_basic_credentials(request.headers.get("authorization"), webhook.login, webhook.secret)
    except CallbackRefused as err:
        raise ApiError(
            401,
            "unauthorized",
            f"notification refused: {err}",
            headers={"WWW-Authenticate": 'Basic realm="registered-mail notifications"'},
        ) from None
    raw = await request.body()
    try:
        notification = ProviderNotification.model_validate_json(raw)
    except ValidationError as err:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in err.errors()
        ]
        raise ApiError(422, "validation_error", "not a provider notification", details) from None
    try:
        result = await handle_notification(
            runtime.engine,
            webhook.provider,
            temporal_signal(runtime),
            notification,
            webhook.report or temporal_report(runtime, webhook.provider.name),
        )
    except LetterNotFound as err:
        raise ApiError(404, "not_found", str(err)) from None
    except RegisteredMailError as err:
        log.warning("provider unavailable for %s: %s", notification.event_id, err)
        raise ApiError(
            503, "provider_unavailable", f"the provider could not be read back: {err}"
        ) from None
    except SignalFailed as err:
        log.warning("Temporal unavailable for %s: %s", notification.event_id, err)
        raise ApiError(
            503, "temporal_unavailable", "the case could not be updated; retry later"
        ) from None
    return WebhookAck(
        event_id=notification.event_id,
        duplicate=result.duplicate,
        letter=result.idempotency_key,
        provider_id=result.provider_id,
        status=result.status,
        signalled=result.signalled,
        proofs=result.proofs,
    )
