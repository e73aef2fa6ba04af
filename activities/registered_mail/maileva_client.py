"""A client for Maileva's registered-mail API (La Poste group's "Lettre Recommandée En Ligne").

The subset recouvre needs, as Maileva's OpenAPI documents describe it (registered_mail v4.9,
authentication v2.1; copies in tests/contracts/maileva/):

- ``POST {connexion host}/auth/realms/services/protocol/openid-connect/token``: password
  grant, ``grant_type``, ``username``, ``password``, ``client_id``, ``client_secret`` in the
  form (authentication: ``/token``); then ``Authorization: Bearer <access_token>``;
- ``POST /sendings`` (post-sending): a DRAFT sending with acknowledgement of receipt, whose
  ``custom_id`` (at most 38 characters) is derived from the letter's idempotency key;
- ``POST /sendings/{id}/documents`` (post-document-of-sending: multipart ``document`` +
  ``metadata``);
- ``POST /sendings/{id}/recipients`` (create-recipient-of-sending: six address lines of at most
  38 characters, ``custom_id`` of at most 36, a country Maileva accepts);
- ``POST /sendings/{id}/submit`` (submit-sending);
- ``GET /sendings/{id}`` and ``GET /sendings/{id}/recipients`` (status, main delivery
  statuses, proof URLs);
- the proofs: ``.../recipients/{rid}/download_deposit_proof``, ``download_content_proof``,
  ``download_acknowledgement_of_receipt``, ``download_undelivered_mail``.

``send`` keeps the sending's id in a ``SendJournal`` as soon as Maileva gives it, before the
document, the recipient and the submission: a retry resumes that sending by id. Only when an
attempt died between asking for a sending and storing its id is the sendings list searched
for the key's ``custom_id`` (get-all-sendings documents only ``start_index`` and ``count``, so
every page is read and the order of the list does not matter).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from activities.registered_mail.provider import (
    DeliveryEvent,
    Letter,
    LetterAnomaly,
    LetterOutcome,
    LetterRejected,
    LetterStatus,
    MemoryJournal,
    PostalAddress,
    Proof,
    ProofKind,
    RegisteredMailError,
    SendJournal,
    UnsupportedCountry,
)
from activities.registered_mail.settings import RegisteredMailSettings

log = logging.getLogger("recouvre.registered_mail")

MAX_LINE = 38
SENDING_CUSTOM_ID_MAX = 38  # sending_creation.custom_id maxLength
RECIPIENT_CUSTOM_ID_MAX = 36  # recipient_creation.custom_id maxLength
CUSTOM_DATA_MAX = 255
SUPPORTED_COUNTRIES = frozenset({"FR", "MC", "RE", "YT", "MQ", "GP", "MF", "BL", "GF"})
"""registered_mail v4.9, schema ``country_code``: "Codes autorisés FR, MC, RE, YT, MQ, GP, MF,
BL, GF" (France, Monaco and the overseas departments and collectivities La Poste serves)."""
_POSTAL_LINE = re.compile(r"^\d{5} \S.*$")
PAGE_SIZE = 500  # paging_count maximum

PROOF_DOWNLOADS: tuple[tuple[ProofKind, str, str], ...] = (
    # (kind, recipient_response field saying it is there, operation path suffix)
    ("deposit_proof", "deposit_proof_url", "download_deposit_proof"),
    ("content_proof", "content_proof_url", "download_content_proof"),
    (
        "acknowledgement_of_receipt",
        "acknowledgement_of_receipt_url",
        "download_acknowledgement_of_receipt",
    ),
    ("undelivered_mail", "undelivered_mail_url", "download_undelivered_mail"),
)

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

SENDING_ANOMALIES: dict[str, LetterAnomaly] = {
    "REJECTED": LetterAnomaly.REJECTED,
    "CANCELED": LetterAnomaly.CANCELED,
    "BLOCKED": LetterAnomaly.BLOCKED,
    "PROCESSED_WITH_ERRORS": LetterAnomaly.RECIPIENT_REJECTED,
}
RECIPIENT_ANOMALIES: dict[str, LetterAnomaly] = {
    "REJECTED": LetterAnomaly.RECIPIENT_REJECTED,
    "SENDING_REJECTED": LetterAnomaly.REJECTED,
    "CANCELED": LetterAnomaly.CANCELED,
    "BLOCKED": LetterAnomaly.BLOCKED,
}


def _digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def sending_custom_id(idempotency_key: str) -> str:
    """The sending's ``custom_id`` for the key: ``rcv-`` and 34 hex digits (38 characters,
    the documented maximum), the same for every attempt of the same case step."""
    return ("rcv-" + _digest(idempotency_key))[:SENDING_CUSTOM_ID_MAX]


def recipient_custom_id(idempotency_key: str) -> str:
    """The recipient's ``custom_id`` for the key: ``rcv-`` and 32 hex digits (36 characters,
    the documented maximum)."""
    return ("rcv-" + _digest(idempotency_key))[:RECIPIENT_CUSTOM_ID_MAX]


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


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _split_name(name: str) -> list[str]:
    """An organisation's name on one or two lines of at most 38 characters, cut between
    words."""
    name = _one_line(name)
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


def check_country(address: PostalAddress) -> None:
    """Raise ``UnsupportedCountry`` unless Maileva delivers to the address's country."""
    if address.country_code.upper() not in SUPPORTED_COUNTRIES:
        raise UnsupportedCountry(address.country_code, SUPPORTED_COUNTRIES)


def address_lines(address: PostalAddress, prefix: str = "") -> dict[str, str]:
    """The six Maileva address lines, as recipient_creation describes them: 1 "Société",
    2 "Civilité, Prénom, Nom", 3 building, 4 street, 5 lieu-dit / BP, 6 postcode and city.

    An organisation's name is on line 1 (its end on line 2 when longer than 38 characters);
    a private person's name is on line 2 alone."""
    check_country(address)
    lines = [_one_line(line) for line in address.lines if line.strip()]
    if not lines:
        raise LetterRejected(f"no postal address for {address.name!r}", "EMPTY_ADDRESS_LINE_6")
    *street, city = lines
    if len(street) > 3:
        raise LetterRejected(
            f"address of {address.name!r} has {len(street)} street lines; at most 3 fit",
            "ADDRESS_TOO_LONG",
        )
    fields: dict[str, str] = {}
    if address.person:
        fields["address_line_2"] = _one_line(address.name)
    else:
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
    country = address.country_code.upper()
    if country == "FR" and not _POSTAL_LINE.match(city):
        raise LetterRejected(
            f"last address line {city!r} must be '<5-digit postal code> <city>'",
            "INVALID_ADDRESS_LINE_6",
        )
    fields["country_code"] = country
    return {f"{prefix}{key}": value for key, value in sorted(fields.items())}


def sender_lines(sender: PostalAddress) -> dict[str, str]:
    """The ``sender_address_line_*`` fields (codes prefixed ``SENDER_`` when refused)."""
    try:
        return address_lines(sender, prefix="sender_")
    except LetterRejected as err:  # an unsupported country too: the creditor's to fix
        raise LetterRejected(f"sender: {err}", "SENDER_" + err.code) from err


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
        self._token_url = settings.token_url  # fails now, not at the first letter
        self._api = settings.provider_url.rstrip("/") + "/" + settings.api_path.strip("/")
        self._http = http or httpx.AsyncClient(timeout=settings.timeout_s)
        self._owns_http = http is None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    @property
    def settings(self) -> RegisteredMailSettings:
        return self._settings

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
                    self._token_url,
                    data={
                        "grant_type": "password",
                        "username": s.username,
                        "password": s.password,
                        "client_id": s.client_id,
                        "client_secret": s.client_secret,
                    },
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

    async def call(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One authenticated call to ``url`` (absolute, or a path under the registered-mail
        API); a 401 renews the token once. 4xx raise LetterRejected (except 401 and 404, and
        409/429 which a retry may fix), 5xx and transport errors RegisteredMailError."""
        full = url if url.startswith("http") else self._api + url
        for attempt in (0, 1):
            token = await self._access_token(renew=attempt == 1)
            sent = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            sent.update(headers or {})
            try:
                response = await self._http.request(method, full, headers=sent, **kwargs)
            except httpx.HTTPError as err:
                raise RegisteredMailError(f"{method} {url}: {err}") from err
            if response.status_code != 401:
                break
        if response.status_code in ok:
            return response
        code, message = _errors(response)
        status = response.status_code
        text = f"{method} {url} answered {status} {code}: {message}".rstrip(": ")
        if 400 <= status < 500 and status not in (401, 404, 408, 409, 425, 429):
            raise LetterRejected(text, code)
        raise RegisteredMailError(text)

    # ---- the API, one call each -------------------------------------------------------

    async def list_sendings(self, start_index: int, count: int = PAGE_SIZE) -> dict[str, Any]:
        """One page of get-all-sendings (its only parameters: ``start_index``, ``count``)."""
        response = await self.call(
            "GET", "/sendings", params={"start_index": start_index, "count": count}
        )
        return dict(response.json())

    async def find_sending(
        self, custom_id: str, *, page_size: int = PAGE_SIZE
    ) -> dict[str, Any] | None:
        """The sending with this ``custom_id``, if any. Every page is read: the list's order
        is not documented, so nothing is assumed about where a sending appears."""
        found: list[dict[str, Any]] = []
        start = 1
        for _ in range(self._settings.lookup_max_pages):
            page = await self.list_sendings(start, page_size)
            sendings = list(page.get("sendings", []))
            found.extend(dict(s) for s in sendings if s.get("custom_id") == custom_id)
            total = page.get("paging", {}).get("total_results")
            start += len(sendings)
            if len(sendings) < page_size or (total is not None and start > int(total)):
                break
        else:
            if not found:
                raise LetterRejected(
                    f"more than {self._settings.lookup_max_pages * page_size} sendings to "
                    f"search for custom_id {custom_id!r}: an operator must check at Maileva "
                    "whether the letter was created before posting it again",
                    "SENDING_LOOKUP_INCONCLUSIVE",
                )
        if len(found) > 1:
            log.warning("%d sendings carry custom_id %s", len(found), custom_id)
        # a sending already submitted wins over a leftover draft
        found.sort(key=lambda s: (s.get("status") == "DRAFT", str(s.get("creation_date", ""))))
        return found[0] if found else None

    async def create_sending(self, letter: Letter) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": letter.title[:256],
            "custom_id": sending_custom_id(letter.idempotency_key),
            "custom_data": letter.idempotency_key[:CUSTOM_DATA_MAX],
            "acknowledgement_of_receipt": True,
            "color_printing": False,
            "duplex_printing": False,
            "optional_address_sheet": False,
            "print_sender_address": bool(letter.sender.lines),
            "returned_mail_scanning": self._settings.returned_mail_scanning,
            "archiving_duration": 6,
            "postage_type": "FAST",
        }
        if letter.sender.lines:  # else the account's own sender address applies
            body.update(sender_lines(letter.sender))
        response = await self.call("POST", "/sendings", ok=(201,), json=body)
        return dict(response.json())

    async def get_sending(self, sending_id: str) -> dict[str, Any]:
        return dict((await self.call("GET", f"/sendings/{sending_id}")).json())

    async def list_documents(self, sending_id: str) -> list[dict[str, Any]]:
        response = await self.call("GET", f"/sendings/{sending_id}/documents")
        return list(response.json().get("documents", []))

    async def upload_document(self, sending_id: str, letter: Letter) -> dict[str, Any]:
        metadata = json.dumps({"priority": 1, "name": letter.document_name})
        response = await self.call(
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
        response = await self.call("GET", f"/sendings/{sending_id}/recipients")
        return list(response.json().get("recipients", []))

    async def add_recipient(self, sending_id: str, letter: Letter) -> dict[str, Any]:
        body = {
            "custom_id": recipient_custom_id(letter.idempotency_key),
            "custom_data": letter.idempotency_key[:CUSTOM_DATA_MAX],
            **address_lines(letter.recipient),
        }
        response = await self.call(
            "POST", f"/sendings/{sending_id}/recipients", ok=(201,), json=body
        )
        return dict(response.json())

    async def submit(self, sending_id: str) -> None:
        try:
            await self.call("POST", f"/sendings/{sending_id}/submit", ok=(200,))
        except LetterRejected as err:
            if err.code != "SENDING_STATUS_IS_NOT_DRAFT":
                raise
            # submitted by an earlier attempt: that is what we wanted

    async def download(self, path: str) -> tuple[bytes, str]:
        response = await self.call("GET", path, headers={"Accept": "application/pdf"})
        media_type = response.headers.get("content-type", "application/pdf").split(";")[0]
        return response.content, media_type

    # ---- RegisteredMailProvider -------------------------------------------------------

    def check(self, letter: Letter) -> None:
        """Refuse, before any call, what Maileva would refuse: an unsupported country
        (``UnsupportedCountry``), address lines that do not fit (``LetterRejected``)."""
        address_lines(letter.recipient)
        if letter.sender.lines:
            sender_lines(letter.sender)

    async def send(self, letter: Letter, journal: SendJournal | None = None) -> str:
        """Create (or resume) the sending for the letter's key, complete it, submit it."""
        self.check(letter)
        if journal is None:  # nothing durable: behave as after a crash, look first
            journal = MemoryJournal(maybe_created=True)
        sending_id = journal.known_id
        sending: dict[str, Any] | None = None
        if sending_id is None and journal.maybe_created and self._settings.lookup_before_create:
            sending = await self.find_sending(sending_custom_id(letter.idempotency_key))
            if sending is not None:
                sending_id = str(sending["id"])
                await journal.created(sending_id)
        if sending_id is None:
            await journal.creating()
            sending = await self.create_sending(letter)
            sending_id = str(sending["id"])
            await journal.created(sending_id)
        elif sending is None:
            sending = await self.get_sending(sending_id)
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
        anomaly, detail = classify(sending, recipient)
        if recipient is None:
            return LetterStatus(
                provider_id=provider_id,
                provider_status=provider_status,
                anomaly=anomaly,
                anomaly_detail=detail,
            )
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
        available = tuple(kind for kind, field, _ in PROOF_DOWNLOADS if recipient.get(field))
        deposited = recipient.get("deposit_proof_date")
        return LetterStatus(
            provider_id=provider_id,
            provider_status=provider_status,
            recipient_id=str(recipient.get("id")) if recipient.get("id") else None,
            registered_number=recipient.get("registered_number"),
            deposited_at=parse_instant(str(deposited)) if deposited else None,
            events=tuple(events),
            proofs_available=available,
            anomaly=anomaly,
            anomaly_detail=detail,
        )

    async def proofs(self, provider_id: str) -> list[Proof]:
        recipient = await self._recipient(provider_id)
        if recipient is None or not recipient.get("id"):
            return []
        base = f"/sendings/{provider_id}/recipients/{recipient['id']}"
        found: list[Proof] = []
        for kind, field, operation in PROOF_DOWNLOADS:
            if not recipient.get(field):
                continue  # "attendre que cet attribut soit renseigné"
            path = f"{base}/{operation}"
            content, media_type = await self.download(path)
            found.append(Proof(kind=kind, content=content, media_type=media_type, source=path))
        return found


def classify(
    sending: dict[str, Any], recipient: dict[str, Any] | None
) -> tuple[LetterAnomaly | None, str]:
    """The anomaly of a sending (sending_status, then recipient_status), with the provider's
    words for the operator; (None, "") when all is well."""
    sending_status = str(sending.get("status", ""))
    recipient_status = str((recipient or {}).get("status", ""))
    anomaly = SENDING_ANOMALIES.get(sending_status) or RECIPIENT_ANOMALIES.get(recipient_status)
    if anomaly is None:
        return None, ""
    words = [f"sending {sending_status}"]
    if sending.get("status_detail"):
        words.append(str(sending["status_detail"]))
    if recipient is not None:
        words.append(f"recipient {recipient_status}")
        if recipient.get("status_detail"):
            words.append(str(recipient["status_detail"]))
    return anomaly, "; ".join(words)
