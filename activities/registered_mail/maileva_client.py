"""A client for Maileva's registered-mail API (La Poste group's "Lettre Recommandée En Ligne").

The subset recouvre needs, on the API's resource paths under ``/registered_mail/v4``:

- OAuth2 password grant at the Keycloak token endpoint (client id/secret + user/password),
  then ``Authorization: Bearer <access_token>``;
- ``POST /sendings`` (a DRAFT sending with acknowledgement of receipt), carrying the letter's
  idempotency key as ``custom_id`` and as an ``Idempotency-Key`` header;
- ``POST /sendings/{id}/documents`` (multipart: ``document`` + ``metadata`` JSON);
- ``POST /sendings/{id}/recipients`` (six address lines of at most 38 characters);
- ``POST /sendings/{id}/submit``;
- ``GET /sendings/{id}`` and ``GET /sendings/{id}/recipients`` (status, main delivery
  statuses, proof URLs);
- the proofs: ``.../recipients/{rid}/download_deposit_proof`` and
  ``.../recipients/{rid}/download_acknowledgement_of_receipt``.

``send`` resumes a half-made sending: the same key finds the same sending (header, or
``custom_id`` lookup), then only the missing steps (document, recipient, submit) are done.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from activities.registered_mail.provider import (
    DeliveryEvent,
    Letter,
    LetterOutcome,
    LetterRejected,
    LetterStatus,
    PostalAddress,
    Proof,
    ProofKind,
    RegisteredMailError,
)
from activities.registered_mail.settings import RegisteredMailSettings

MAX_LINE = 38
_POSTAL_LINE = re.compile(r"^\d{5} \S.*$")
IDEMPOTENCY_HEADER = "Idempotency-Key"
LOOKUP_PAGES = 5
PAGE_SIZE = 100

try:
    PARIS: ZoneInfo | None = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # no tz database: dates stay in UTC
    PARIS = None

# Maileva's "main delivery status" of an undelivered letter, by code then by the
# undelivered-mail reason. Anything else undelivered counts as a wrong address: it never
# starts the formal notice's deadline, which is the safe side for the creditor's case.
UNDELIVERED_BY_CODE: dict[str, LetterOutcome] = {
    "LP19": "not_collected",  # retour: délai d'instance expiré
    "LP25": "not_collected",  # renvoi après délai de garde expiré
    "LP22": "refused",  # retour: pli refusé
    "LP20": "wrong_address",  # retour: adresse incorrecte/incomplète
    "LP21": "wrong_address",  # retour: destinataire inconnu à l'adresse
}
UNDELIVERED_BY_REASON: dict[str, LetterOutcome] = {
    "N03": "not_collected",  # pli avisé et non réclamé
    "N05": "refused",  # pli refusé par le destinataire
    "N02": "wrong_address",  # destinataire inconnu à l'adresse
    "N07": "wrong_address",  # défaut d'accès ou d'adressage
}
RETURNED_TO_SENDER = "LP17"  # "distribué à l'expéditeur": a return, not a delivery


def custom_id_for(idempotency_key: str) -> str:
    """A provider-safe token for the key (letters, digits and dashes only)."""
    return "rcv-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def map_main_delivery_status(
    category: str, code: str = "", undelivered_reason: str = ""
) -> LetterOutcome | None:
    """Maileva's main delivery status -> the case's letter status (None: nothing to say)."""
    if category == "FIRST_PRESENTATION":
        return "presented"
    if category == "DELIVERED":
        return None if code == RETURNED_TO_SENDER else "delivered"
    if category == "UNDELIVERED":
        return (
            UNDELIVERED_BY_CODE.get(code)
            or UNDELIVERED_BY_REASON.get(undelivered_reason)
            or "wrong_address"
        )
    return None  # DELIVERING: on its way


def local_day(moment: datetime) -> date:
    """The French calendar day of an instant (a presentation at 23:30 UTC is the next day)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS).date() if PARIS is not None else moment.date()


def parse_instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _split_name(name: str) -> list[str]:
    """A name on one or two lines of at most 38 characters, cut between words."""
    name = " ".join(name.split())
    if len(name) <= MAX_LINE:
        return [name]
    cut = name.rfind(" ", 0, MAX_LINE + 1)
    first, rest = (name[:cut], name[cut + 1 :]) if cut > 0 else (name[:MAX_LINE], name[MAX_LINE:])
    if len(rest) > MAX_LINE:
        raise LetterRejected(
            f"name {name!r} does not fit two address lines of {MAX_LINE} characters",
            "ADDRESS_LINE_2_TOO_LONG",
        )
    return [first, rest]


def address_lines(address: PostalAddress, prefix: str = "") -> dict[str, str]:
    """The six Maileva address lines: name on 1 (and 2), street parts on 3-5, city on 6."""
    lines = [" ".join(line.split()) for line in address.lines if line.strip()]
    if not lines:
        raise LetterRejected(f"no postal address for {address.name!r}", "EMPTY_ADDRESS_LINE_6")
    *street, city = lines
    if len(street) > 3:
        raise LetterRejected(
            f"address of {address.name!r} has {len(street)} street lines; at most 3 fit",
            "ADDRESS_TOO_LONG",
        )
    fields: dict[str, str] = {}
    for number, text in enumerate(_split_name(address.name), start=1):
        fields[f"address_line_{number}"] = text
    slots = [4, 5] if len(street) <= 2 else [3, 4, 5]
    for number, text in zip(slots, street, strict=False):
        fields[f"address_line_{number}"] = text
    fields["address_line_6"] = city
    for key, text in fields.items():
        if len(text) > MAX_LINE:
            raise LetterRejected(
                f"{key} {text!r} is longer than {MAX_LINE} characters",
                f"{key.upper()}_TOO_LONG",
            )
    if address.country_code == "FR" and not _POSTAL_LINE.match(city):
        raise LetterRejected(
            f"last address line {city!r} must be '<5-digit postal code> <city>'",
            "INVALID_ADDRESS_LINE_6",
        )
    fields["country_code"] = address.country_code
    return {f"{prefix}{key}": value for key, value in fields.items()}


def _errors(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of a Maileva error body: {"errors": [...]} or {"code", "message"}."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("code", "")), str(first.get("message", ""))
        return str(body.get("code", "")), str(body.get("message", ""))
    return "", str(body)[:200]


class MailevaClient:
    """``RegisteredMailProvider`` for Maileva, over one long-lived ``httpx.AsyncClient``."""

    name = "maileva"

    def __init__(
        self, settings: RegisteredMailSettings, *, http: httpx.AsyncClient | None = None
    ) -> None:
        if not settings.provider_url:
            raise ValueError("REGISTERED_MAIL_PROVIDER_URL is required for the Maileva client")
        self._settings = settings
        self._api = settings.provider_url.rstrip("/") + "/" + settings.api_path.strip("/")
        self._http = http or httpx.AsyncClient(timeout=settings.timeout_s)
        self._owns_http = http is None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> MailevaClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # ---- authentication ---------------------------------------------------------------

    async def _access_token(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            if not renew and self._token and time.monotonic() < self._token_expires:
                return self._token
            s = self._settings
            try:
                response = await self._http.post(
                    s.token_url,
                    data={
                        "grant_type": "password",
                        "username": s.username,
                        "password": s.password,
                    },
                    auth=(s.client_id, s.client_secret),
                    headers={"Accept": "application/json"},
                )
            except httpx.HTTPError as err:
                raise RegisteredMailError(f"token endpoint unreachable: {err}") from err
            if response.status_code != 200:
                raise RegisteredMailError(
                    f"token endpoint answered {response.status_code}: {response.text[:200]}"
                )
            body = response.json()
            self._token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 300))
            self._token_expires = time.monotonic() + max(lifetime - 30.0, lifetime / 2)
            return self._token

    async def _call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One API call; a 401 renews the token once. 4xx raise LetterRejected (except 401
        and 404, and 409/429 which a retry may fix), 5xx and transport errors
        RegisteredMailError."""
        url = path if path.startswith("http") else self._api + path
        for attempt in (0, 1):
            token = await self._access_token(renew=attempt == 1)
            sent = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            sent.update(headers or {})
            try:
                response = await self._http.request(method, url, headers=sent, **kwargs)
            except httpx.HTTPError as err:
                raise RegisteredMailError(f"{method} {path}: {err}") from err
            if response.status_code != 401:
                break
        if response.status_code in ok:
            return response
        code, message = _errors(response)
        status = response.status_code
        text = f"{method} {path} answered {status} {code}: {message}".rstrip(": ")
        if 400 <= status < 500 and status not in (401, 404, 408, 409, 425, 429):
            raise LetterRejected(text, code)
        raise RegisteredMailError(text)

    # ---- the API, one call each -------------------------------------------------------

    async def find_sending(self, custom_id: str) -> dict[str, Any] | None:
        """The most recent sending with this ``custom_id``, if any (bounded listing)."""
        for page in range(LOOKUP_PAGES):
            response = await self._call(
                "GET",
                "/sendings",
                params={
                    "start_index": page * PAGE_SIZE + 1,
                    "count": PAGE_SIZE,
                    "sort": "creation_date",
                    "desc": "true",
                },
            )
            sendings = response.json().get("sendings", [])
            for sending in sendings:
                if sending.get("custom_id") == custom_id:
                    return dict(sending)
            if len(sendings) < PAGE_SIZE:
                return None
        return None

    async def create_sending(self, letter: Letter) -> dict[str, Any]:
        custom_id = custom_id_for(letter.idempotency_key)
        body: dict[str, Any] = {
            "name": letter.title[:256],
            "custom_id": custom_id,
            "custom_data": letter.idempotency_key[:200],
            "acknowledgement_of_receipt": True,
            "color_printing": False,
            "duplex_printing": False,
            "optional_address_sheet": False,
            "print_sender_address": bool(letter.sender.lines),
            "archiving_duration": 6,
            "postage_type": "FAST",
        }
        if letter.sender.lines:  # else the account's own sender address applies
            try:
                body.update(address_lines(letter.sender, prefix="sender_"))
            except LetterRejected as err:
                raise LetterRejected(f"sender: {err}", "SENDER_" + err.code) from err
        response = await self._call(
            "POST",
            "/sendings",
            ok=(200, 201),
            json=body,
            headers={IDEMPOTENCY_HEADER: custom_id},
        )
        return dict(response.json())

    async def get_sending(self, sending_id: str) -> dict[str, Any]:
        return dict((await self._call("GET", f"/sendings/{sending_id}")).json())

    async def list_documents(self, sending_id: str) -> list[dict[str, Any]]:
        response = await self._call("GET", f"/sendings/{sending_id}/documents")
        return list(response.json().get("documents", []))

    async def upload_document(self, sending_id: str, letter: Letter) -> dict[str, Any]:
        metadata = json.dumps({"priority": 1, "name": letter.document_name})
        response = await self._call(
            "POST",
            f"/sendings/{sending_id}/documents",
            ok=(201,),
            files={
                "document": (letter.document_name, letter.pdf, "application/pdf"),
                "metadata": (None, metadata, "application/json"),
            },
        )
        return dict(response.json())

    async def list_recipients(self, sending_id: str) -> list[dict[str, Any]]:
        response = await self._call("GET", f"/sendings/{sending_id}/recipients")
        return list(response.json().get("recipients", []))

    async def add_recipient(self, sending_id: str, letter: Letter) -> dict[str, Any]:
        body = {
            "custom_id": custom_id_for(letter.idempotency_key),
            "custom_data": letter.idempotency_key[:200],
            **address_lines(letter.recipient),
        }
        response = await self._call(
            "POST", f"/sendings/{sending_id}/recipients", ok=(201,), json=body
        )
        return dict(response.json())

    async def submit(self, sending_id: str) -> None:
        try:
            await self._call("POST", f"/sendings/{sending_id}/submit", ok=(200, 201, 204))
        except LetterRejected as err:
            if err.code != "SENDING_STATUS_IS_NOT_DRAFT":
                raise
            # submitted by an earlier attempt: that is what we wanted

    async def download(self, path: str) -> tuple[bytes, str]:
        response = await self._call("GET", path, headers={"Accept": "application/pdf"})
        media_type = response.headers.get("content-type", "application/pdf").split(";")[0]
        return response.content, media_type

    # ---- RegisteredMailProvider -------------------------------------------------------

    async def send(self, letter: Letter) -> str:
        """Create (or find) the sending for the letter's key, complete it, submit it."""
        address_lines(letter.recipient)  # refuse unusable addresses before any sending
        if letter.sender.lines:
            try:
                address_lines(letter.sender)
            except LetterRejected as err:
                raise LetterRejected(f"sender: {err}", "SENDER_" + err.code) from err
        sending: dict[str, Any] | None = None
        if self._settings.lookup_before_create:
            sending = await self.find_sending(custom_id_for(letter.idempotency_key))
        if sending is None:
            sending = await self.create_sending(letter)
        sending_id = str(sending["id"])
        if sending.get("status", "DRAFT") != "DRAFT":
            return sending_id  # an earlier attempt submitted it
        if not await self.list_documents(sending_id):
            await self.upload_document(sending_id, letter)
        if not await self.list_recipients(sending_id):
            await self.add_recipient(sending_id, letter)
        await self.submit(sending_id)
        return sending_id

    async def _recipient(self, sending_id: str) -> dict[str, Any] | None:
        recipients = await self.list_recipients(sending_id)
        return recipients[0] if recipients else None

    async def status(self, provider_id: str) -> LetterStatus:
        sending = await self.get_sending(provider_id)
        recipient = await self._recipient(provider_id)
        provider_status = str(sending.get("status", "DRAFT"))
        if recipient is None:
            return LetterStatus(provider_id=provider_id, provider_status=provider_status)
        reason = str(recipient.get("undelivered_mail_reason") or "")
        events: list[DeliveryEvent] = []
        seen: set[tuple[str, date]] = set()
        history = recipient.get("main_delivery_statuses") or []
        for item in sorted(history, key=lambda s: str(s.get("date", ""))):
            outcome = map_main_delivery_status(
                str(item.get("category", "")), str(item.get("code", "")), reason
            )
            if outcome is None or not item.get("date"):
                continue
            at = parse_instant(str(item["date"]))
            key = (outcome, local_day(at))
            if key in seen:
                continue
            seen.add(key)
            events.append(
                DeliveryEvent(
                    outcome=outcome,
                    on=local_day(at),
                    at=at,
                    code=str(item.get("code", "")),
                    label=str(item.get("label", "")),
                )
            )
        available: list[ProofKind] = []
        if recipient.get("deposit_proof_url"):
            available.append("deposit_proof")
        if recipient.get("acknowledgement_of_receipt_url"):
            available.append("acknowledgement_of_receipt")
        deposited = recipient.get("deposit_proof_date")
        recipient_status = str(recipient.get("status", ""))
        return LetterStatus(
            provider_id=provider_id,
            provider_status=provider_status,
            recipient_id=str(recipient.get("id")) if recipient.get("id") else None,
            registered_number=recipient.get("registered_number"),
            deposited_at=parse_instant(str(deposited)) if deposited else None,
            events=tuple(events),
            proofs_available=tuple(available),
            rejected=provider_status in ("REJECTED", "CANCELED")
            or recipient_status in ("REJECTED", "SENDING_REJECTED", "CANCELED"),
        )

    async def proofs(self, provider_id: str) -> list[Proof]:
        recipient = await self._recipient(provider_id)
        if recipient is None:
            return []
        found: list[Proof] = []
        wanted: list[tuple[ProofKind, str]] = [
            ("deposit_proof", "deposit_proof_url"),
            ("acknowledgement_of_receipt", "acknowledgement_of_receipt_url"),
        ]
        for kind, field_name in wanted:
            path = recipient.get(field_name)
            if path:
                content, media_type = await self.download(str(path))
                found.append(
                    Proof(kind=kind, content=content, media_type=media_type, source=str(path))
                )
        return found
