"""Merci Facteur's webhooks: ``POST /v1/webhooks/merci-facteur``.

As Merci Facteur's repository describes them (README.md "Les webhooks"): the account's
endpoint URL receives a POST whose ``event`` field is a JSON object (``name_event``, ``id_user``,
``date_event``) and whose ``detail`` field is a JSON array with one object per letter (the
recipient's address, ``ref_courrier``, ``id_envoi``, ``statut_courrier``,
``statut_description``, ``tracking_number``, ``ref_interne``, and in events ``pdd`` and ``are``
the deposit proof / the scanned AR in base64). The same content as one JSON document is
accepted too (the README's examples show it so). The origin is checked with the
``X-Mf-Webhook-Secret-Key`` header, which must equal ``MERCI_FACTEUR_WEBHOOK_SECRET``
(constant-time); without it: 401.

Each letter of the webhook is processed in its own transaction, once per event
(``registered_mail_events``, id ``mf:`` + SHA-256 of event, envoi, letter, status and date): it
must be a letter recouvre posted through Merci Facteur (``provider_id`` = ``id_envoi``) whose
internal reference is the one derived from its key; its status is read back from the API
(``getSuiviEnvoi``) and merged with the webhook's own status (the API's tracking shape is not
published); the proofs the webhook carries are stored (the description has no download
operation); then ``activities.registered_mail.tracking.sync_letter`` signals the case's
workflow and stores the rest. What is kept of the webhook has no names, no addresses and no
proof bytes.

Answers: 200 (with at most 500 characters, as Merci Facteur asks) once processed or already
processed; 404 when no letter of the webhook is recouvre's (yet); 503 when the API or Temporal
cannot be reached (nothing recorded for that letter: Merci Facteur tries again after 60
minutes, then 24 hours; the polling of ``sync_open_letters`` remains the safety net).

Mount with ``app.include_router(router)``; override ``get_merci_facteur_webhook`` to build
``MerciFacteurWebhook`` from your own settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.registered_mail.merci_facteur_client import (
    PROVIDER_NAME,
    MerciFacteurClient,
    internal_reference,
    merged_status,
    proofs_in,
)
from activities.registered_mail.merci_facteur_settings import (
    WEBHOOK_SECRET_HEADER,
    MerciFacteurSettings,
)
from activities.registered_mail.provider import (
    Letter,
    LetterStatus,
    Proof,
    RegisteredMailError,
    RegisteredMailProvider,
    SendJournal,
)
from activities.registered_mail.tracking import Report, Signal, SyncResult, sync_letter
from inbound.registered_mail_notifications import SignalFailed, temporal_report, temporal_signal
from services.api.deps import RuntimeDep
from services.api.errors import ApiError, ErrorResponse
from storage.tables import registered_letters, registered_mail_events

log = logging.getLogger("recouvre.api.merci_facteur")

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

KEPT_DETAIL_FIELDS = (
    "ref_courrier",
    "mode_envoi",
    "id_envoi",
    "statut_courrier",
    "statut_description",
    "tracking_number",
    "ref_interne",
)
"""What is stored of a ``detail[]`` item: no name, no address, no e-mail, no proof bytes."""


class WebhookRefused(ValueError):
    """The body is not a Merci Facteur webhook."""


def _json_text(value: str, what: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise WebhookRefused(f"{what} is not JSON") from None


def parse_json_webhook(raw: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(event, details) from one JSON document ``{"event": ..., "detail": [...]}``."""
    body = _json_text(raw.decode("utf-8", "replace"), "the body")
    if not isinstance(body, dict):
        raise WebhookRefused("the body is not an object")
    return _checked(body.get("event"), body.get("detail"))


def parse_form_webhook(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(event, details) from form fields ``event`` and ``detail`` (JSON texts; ``detail`` an
    array, or repeated ``detail[]`` / ``detail[N]`` objects)."""
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    if "event" not in fields:
        raise WebhookRefused("no event field")
    event = _json_text(fields["event"][0], "event")
    details: Any
    if "detail" in fields:
        details = _json_text(fields["detail"][0], "detail")
    else:
        items = [v for k, vs in fields.items() if k.startswith("detail[") for v in vs]
        details = [_json_text(item, "detail[]") for item in items]
    return _checked(event, details)


def _checked(event: Any, details: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if isinstance(details, dict):
        details = [details]
    if not isinstance(event, dict) or not isinstance(details, list) or not details:
        raise WebhookRefused("event must be an object and detail a non-empty array")
    if not all(isinstance(item, dict) for item in details):
        raise WebhookRefused("every detail must be an object")
    return event, details


async def read_webhook(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The webhook in the request, whichever of the accepted forms it takes."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return parse_json_webhook(await request.body())
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form(max_part_size=64 * 1024 * 1024)
        return parse_form_webhook(
            (name, value) for name, value in form.multi_items() if isinstance(value, str)
        )
    raise WebhookRefused(f"unexpected content type {kind!r}")


def event_id(event: dict[str, Any], detail: dict[str, Any]) -> str:
    identity = "|".join(
        str(value or "")
        for value in (
            event.get("name_event"),
            detail.get("id_envoi"),
            detail.get("ref_courrier"),
            detail.get("statut_courrier"),
            event.get("date_event"),
        )
    )
    return "mf:" + hashlib.sha256(identity.encode()).hexdigest()


def redacted(event: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """What is stored of one letter's notification (no personal data, no proof bytes)."""
    kept: dict[str, Any] = {k: detail[k] for k in KEPT_DETAIL_FIELDS if k in detail}
    for field in ("pdd_base64_pdf", "are_base64_jpeg"):
        if isinstance(detail.get(field), str):
            kept[field + "_chars"] = len(detail[field])
    return {
        "event": {k: event.get(k) for k in ("name_event", "id_user", "date_event")},
        "detail": kept,
    }


class NotifiedLetter:
    """The provider as one webhook sees it: its API read-back, plus the status and the
    proofs the webhook itself carries (``merged_status``, ``proofs_in``)."""

    def __init__(
        self, provider: RegisteredMailProvider, detail: dict[str, Any], event: dict[str, Any]
    ) -> None:
        self.name = provider.name
        self._provider = provider
        self._detail = detail
        self._event = event

    async def send(self, letter: Letter, journal: SendJournal | None = None) -> str:
        return await self._provider.send(letter, journal)

    async def status(self, provider_id: str) -> LetterStatus:
        return merged_status(await self._provider.status(provider_id), self._detail, self._event)

    async def proofs(self, provider_id: str) -> list[Proof]:
        found = list(await self._provider.proofs(provider_id))
        kinds = {proof.kind for proof in found}
        name = str(self._event.get("name_event") or "")
        found.extend(p for p in proofs_in(self._detail, name) if p.kind not in kinds)
        return found


class LetterNotFound(LookupError):
    """No letter of recouvre's matches the detail (yet)."""


async def handle_detail(
    engine: AsyncEngine,
    provider: RegisteredMailProvider,
    signal: Signal,
    event: dict[str, Any],
    detail: dict[str, Any],
    report: Report | None = None,
) -> SyncResult:
    """Process one letter of a webhook once (``LetterNotFound`` when it is not one of
    recouvre's letters posted through Merci Facteur)."""
    envoi_id = str(detail.get("id_envoi") or "").strip()
    if not envoi_id:
        raise LetterNotFound("detail without id_envoi")
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(registered_letters)
                .where(
                    registered_letters.c.provider == PROVIDER_NAME,
                    registered_letters.c.provider_id == envoi_id,
                )
                .with_for_update()
            )
        ).first()
        if row is None:
            raise LetterNotFound(f"no Merci Facteur letter with envoi {envoi_id}")
        reference = detail.get("ref_interne")
        if reference and reference != internal_reference(row.idempotency_key):
            log.warning("envoi %s: ref_interne is not the letter's; ignored", envoi_id)
            raise LetterNotFound(f"envoi {envoi_id} does not carry the letter's reference")
        identity = event_id(event, detail)
        fresh = (
            await conn.execute(
                insert(registered_mail_events)
                .values(
                    event_id=identity,
                    provider=PROVIDER_NAME,
                    idempotency_key=row.idempotency_key,
                    event_type=str(event.get("name_event") or "")[:64],
                    resource_id=envoi_id[:100],
                    payload=redacted(event, detail),
                )
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(registered_mail_events.c.event_id)
            )
        ).first()
        if fresh is None:
            return SyncResult(row.idempotency_key, row.provider_id, row.status, duplicate=True)
        view = NotifiedLetter(provider, detail, event)
        return await sync_letter(conn, view, signal, row, report)


@dataclass
class MerciFacteurWebhook:
    """What the endpoint needs: the account's webhook secret key and the API client."""

    secret: str
    provider: RegisteredMailProvider
    report: Report | None = None
    """Told once per new anomaly of a letter, when given."""


def get_merci_facteur_webhook(request: Request) -> MerciFacteurWebhook:
    """Built once per app from MERCI_FACTEUR_*; override to wire your own settings."""
    cached: MerciFacteurWebhook | None = getattr(request.app.state, "merci_facteur_webhook", None)
    if cached is None:
        settings = MerciFacteurSettings()
        secret = settings.webhook_secret.get_secret_value()
        if not settings.enabled or not secret:
            raise ApiError(
                503,
                "unavailable",
                "Merci Facteur is not configured (MERCI_FACTEUR_SERVICE_ID, _SECRET_KEY, "
                "_USER_ID and _WEBHOOK_SECRET)",
            )
        cached = MerciFacteurWebhook(secret=secret, provider=MerciFacteurClient(settings))
        request.app.state.merci_facteur_webhook = cached
    return cached


MerciFacteurWebhookDep = Annotated[MerciFacteurWebhook, Depends(get_merci_facteur_webhook)]


class MerciFacteurAck(BaseModel):
    """Short on purpose: Merci Facteur wants at most 500 characters back."""

    processed: int
    duplicates: int
    unknown: int


RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 422, 503)
}


def check_secret(given: str | None, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


@router.post(
    "/merci-facteur",
    status_code=200,
    response_model=MerciFacteurAck,
    responses=RESPONSES,
    summary="Webhook from Merci Facteur (X-Mf-Webhook-Secret-Key)",
)
async def merci_facteur_notification(
    request: Request, runtime: RuntimeDep, webhook: MerciFacteurWebhookDep
) -> MerciFacteurAck:
    """One Merci Facteur webhook (one event, one or more letters); 200 once processed."""
    if not check_secret(request.headers.get(WEBHOOK_SECRET_HEADER), webhook.secret):
        raise ApiError(401, "unauthorized", f"missing or wrong {WEBHOOK_SECRET_HEADER}")
    try:
        event, details = await read_webhook(request)
    except WebhookRefused as err:
        raise ApiError(422, "validation_error", f"not a Merci Facteur webhook: {err}") from None
    ack = MerciFacteurAck(processed=0, duplicates=0, unknown=0)
    signal = temporal_signal(runtime)
    for detail in details:
        try:
            result = await handle_detail(
                runtime.engine,
                webhook.provider,
                signal,
                event,
                detail,
                webhook.report or temporal_report(runtime, webhook.provider.name),
            )
        except LetterNotFound:
            ack.unknown += 1
            continue
        except RegisteredMailError as err:
            log.warning(
                "merci facteur read-back failed for envoi %s: %s", detail.get("id_envoi"), err
            )
            raise ApiError(
                503, "provider_unavailable", "Merci Facteur could not be read back"
            ) from None
        except SignalFailed:
            log.warning("Temporal unavailable for envoi %s", detail.get("id_envoi"))
            raise ApiError(503, "temporal_unavailable", "the case could not be updated") from None
        if result.duplicate:
            ack.duplicates += 1
        else:
            ack.processed += 1
    if ack.processed == 0 and ack.duplicates == 0:
        raise ApiError(404, "not_found", "no letter of this webhook is known here (yet)")
    return ack
