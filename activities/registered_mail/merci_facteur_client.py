"""A client for Merci Facteur's mail API (registered letters with acknowledgement of receipt).

Merci Facteur publishes no OpenAPI document; what this client does comes from its public
repository MerciFacteur/Merci-facteur-API (commit 85a97187, README.md "Version 1.2.7",
hash-secret-key/README.md, php-class/apiMf.class.php), transcribed for the contract test in
tests/contracts/merci_facteur/. Every call goes to ``{MERCI_FACTEUR_BASE_URL}/<operation>``:

- ``GET getToken`` with ``ww-service-id``, ``ww-timestamp``, ``ww-service-signature`` (lowercase
  hex HMAC-SHA256 of service id + timestamp, keyed by the secret key) and ``ww-authorized-ip``;
  answers ``token`` and ``expire`` (a timestamp); then ``ww-access-token`` + ``ww-service-id``
  on every call. The token is kept until its ``expire``;
- ``GET getCountry?zone[]=fr&zone[]=om1``: the service's spelling of the country (``pays``);
- ``POST sendCourrier`` (multipart form, as the PHP sample sends it): ``idUser``, ``adress``
  (JSON: ``exp`` and ``dest`` address objects), ``content`` (JSON: ``letter.base64files``,
  ``letter.final_filename``), ``modeEnvoi`` (``lrare`` or ``lrar``), ``antidoublon`` (derived
  from the letter's key; Merci Facteur refuses a second sending with the same value within 30
  days), optionally ``anonymize``; the recipient carries ``reference`` (the letter's internal
  reference, at most 30 characters, printed on the AR and sent back in every webhook as
  ``ref_interne``). One call creates *and* validates the sending: there is no draft;
- ``GET listEnvois?idUser=`` (the user's 50 latest sendings) and ``GET getEnvoi?idEnvoi=``
  (its letters' recipients): the search after a crash (below);
- ``GET getSuiviEnvoi?idEnvoi=``: the letters' statuses (``statut_courrier`` codes of the
  README's status tables). The shape of its ``suiviCourrier`` is not published: the client
  reads every object in it that carries ``statut_courrier`` (see ``tracking_entries``).

Idempotency: ``send`` keeps the sending's id in the ``SendJournal`` as soon as Merci Facteur
answers. A retry with a stored id does nothing. After an attempt that may have created the
sending without storing its id, the client sends again *with the same antidoublon*: if the
first attempt never arrived, this is the only sending; if it did, Merci Facteur refuses the
duplicate and the client looks for the sending among the user's latest ones (same mode, one
recipient, within 30 days, same recipient address in ``getEnvoi``); exactly one match is
adopted, anything else is refused as ``SENDING_LOOKUP_INCONCLUSIVE`` for an operator.

Proofs: the published description has no download operation. The deposit proof
(``pdd_base64_pdf``, event ``pdd``) and the scanned AR (``are_base64_jpeg``, event ``are``,
mode ``lrare``) come only inside webhooks; ``proofs_in`` turns them into ``Proof``s
(inbound/merci_facteur_notifications.py hands them to ``sync_letter``), and ``proofs`` (a
pull) has nothing to return.

Names and addresses never go to the logs: only ids, codes and statuses.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from activities.registered_mail.merci_facteur_settings import MerciFacteurSettings
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

log = logging.getLogger("recouvre.registered_mail.merci_facteur")

PROVIDER_NAME = "merci_facteur"

# README.md, "Limites du nombre de caractères"
LIMITS: dict[str, int] = {
    "civilite": 12,
    "societe": 90,
    "nom": 70,
    "prenom": 70,
    "adresse1": 90,
    "adresse2": 90,
    "adresse3": 90,
    "cp": 12,
    "ville": 70,
    "pays": 70,
}
REFERENCE_MAX = 30  # README.md "Ajouter des références internes": at most 30 characters
_REFERENCE = re.compile(r"^[A-Za-z0-9 _-]*$")  # "chiffres, lettres, espaces, et caractères -_"
ANTIDOUBLON_MAX = 200  # README.md "Anti-doublon": at most 200 characters, 30 days
MAX_FILE_BYTES = 50 * 1024 * 1024  # README.md "API d'envoi de lettres": 50 Mo per file

COUNTRY_NAMES: dict[str, str] = {
    # The spellings php-class/apiMf.class.php's getCountry docblock gives for zones "fr"
    # (metropolitan France) and "om1" (the overseas departments and collectivities).
    "FR": "FRANCE",
    "GP": "GUADELOUPE",
    "GF": "GUYANE FRANCAISE",
    "MQ": "MARTINIQUE",
    "YT": "MAYOTTE",
    "RE": "REUNION",
    "BL": "SAINT BARTHELEMY",
    "MF": "SAINT MARTIN",
    "PM": "ST-PIERRE-MIQUELON",
}
SUPPORTED_COUNTRIES = frozenset(COUNTRY_NAMES)
"""Countries whose spelling the published description gives and whose postal codes are
French (five digits). Anything else is refused before any call (``UnsupportedCountry``)."""
COUNTRY_ZONES = ("fr", "om1")
_POSTAL_LINE = re.compile(r"^(\d{5})\s+(\S.*)$")

# README.md, "Les différents statuts de courrier (courriers papier)" then "(courriers
# électroniques)": what each status code means for a case.
PRESENTED = frozenset({"attente_au_guichet"})  # avisé: waiting at the post office
DELIVERED = frozenset({"distribue", "accepted", "accepted_downloaded"})
RETURNED = frozenset({"retour_expediteur", "distribue_expediteur", "archivage_pnd"})
UNDELIVERABLE = frozenset({"non_distribuable"})
ELECTRONIC_REFUSED = frozenset({"refused"})
ELECTRONIC_EXPIRED = frozenset({"expired"})
UNDELIVERED_OUTCOMES = frozenset({"refused", "not_collected", "wrong_address"})
DEPOSITED = frozenset({"pris_en_charge", "scan_pdd"})
"""Handed to La Poste (the deposit proof's status counts too)."""
KNOWN_STATUSES = frozenset(
    {
        "wait",
        "imprime",
        "pris_en_charge",
        "prix_en_charge_pays_destinataire",
        "traitement",
        "traitement_pays_destination",
        "transit_pays_intermediaire",
        "attente_presentation",
        "entree_douane",
        "sortie_douane",
        "retenu_douane",
        "probleme_resolu",
        "distribution_en_cours",
        "attente_au_guichet",
        "probleme_en_cours",
        "non_distribuable",
        "retour_expediteur",
        "distribue",
        "distribue_expediteur",
        "archivage_pnd",
        "retour_are",
        "scan_pdd",
        "envoye",
        "accept_wait",
        "accept_lock",
        "accept_notification_error",
        "accepted",
        "accepted_downloaded",
        "expired",
        "refused",
    }
)
STATUS_ANOMALIES: dict[str, LetterAnomaly] = {
    # The only published status that says the recipient itself is unusable and the letter
    # will not reach them: the electronic letter's notification failed (wrong e-mail).
    # Merci Facteur publishes no status for a sending refused, canceled or held after
    # sendCourrier accepted it (sendCourrier refuses synchronously).
    "accept_notification_error": LetterAnomaly.RECIPIENT_REJECTED,
}
# The reason of a return is only in statut_description, e.g. "Courrier retourné à
# l'expéditeur (adresse incomplète)" in the README's example of event "error".
_REFUSED_WORDS = ("refus",)
_UNCLAIMED_WORDS = ("non reclame", "non-reclame", "instance", "delai de garde")
_DAY = re.compile(r"^\s*(\d{2})/(\d{2})/(\d{4})")
# Proofs inside webhooks (README.md, events "pdd" and "are").
PROOF_FIELDS: tuple[tuple[ProofKind, str], ...] = (
    ("deposit_proof", "pdd_base64_pdf"),
    ("acknowledgement_of_receipt", "are_base64_jpeg"),
)

try:
    PARIS: ZoneInfo | None = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # no tz database: dates stay in UTC
    PARIS = None


class ProviderRefusal(RegisteredMailError):
    """Merci Facteur answered ``success: false`` (its ``error`` code in ``code``)."""

    def __init__(self, message: str, code: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status

    @property
    def auth_trouble(self) -> bool:
        """A 401/403 or a code naming the token: credentials, not the letter, are at fault."""
        return self.http_status in (401, 403) or "TOKEN" in self.code.upper()


# ---- identifiers derived from the letter's key ------------------------------------------------


def _digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def internal_reference(idempotency_key: str) -> str:
    """The recipient's ``reference`` (webhooks' ``ref_interne``): ``rcv-`` and 26 hex digits,
    30 characters, the published maximum and alphabet."""
    return ("rcv-" + _digest(idempotency_key))[:REFERENCE_MAX]


def antidoublon(idempotency_key: str) -> str:
    """``sendCourrier``'s ``antidoublon``: ``rcv-`` and the key's SHA-256 (68 characters of
    at most 200), the same for every attempt of the same case step."""
    value = "rcv-" + _digest(idempotency_key)
    assert len(value) <= ANTIDOUBLON_MAX
    return value


# ---- addresses --------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    """Upper case, no accents, single spaces: to compare spellings and addresses."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").upper().split())


def check_country(address: PostalAddress) -> str:
    """The published spelling of the address's country; ``UnsupportedCountry`` otherwise."""
    code = address.country_code.upper()
    if code not in COUNTRY_NAMES:
        raise UnsupportedCountry(address.country_code, SUPPORTED_COUNTRIES)
    return COUNTRY_NAMES[code]


def address_object(address: PostalAddress, prefix: str = "") -> dict[str, str]:
    """The address object of ``adress.exp`` / ``adress.dest`` (README.md "Format des
    adresses"): a private person's name in ``nom``, an organisation's in ``societe``; up to
    three street lines in ``adresse1..3``; the last line "<postal code> <city>" split into
    ``cp`` and ``ville``; ``pays`` spelled as published. Lengths as the README's table.
    ``LetterRejected`` codes start with ``prefix`` (``SENDER_`` for the creditor)."""
    pays = check_country(address)
    lines = [_one_line(line) for line in address.lines if line.strip()]
    if not lines:
        raise LetterRejected("no postal address", prefix + "ADDRESS_EMPTY")
    *street, last = lines
    if len(street) > 3:
        raise LetterRejected(
            f"{len(street)} street lines; at most 3 fit", prefix + "ADDRESS_TOO_LONG"
        )
    postal = _POSTAL_LINE.match(last)
    if postal is None:
        raise LetterRejected(
            "the last address line must be '<5-digit postal code> <city>'",
            prefix + "ADDRESS_POSTAL_LINE_INVALID",
        )
    name = _one_line(address.name)
    if not name:
        raise LetterRejected("no name", prefix + "ADDRESS_NAME_EMPTY")
    fields: dict[str, str] = {
        "civilite": "",
        "nom": name if address.person else "",
        "prenom": "",
        "societe": "" if address.person else name,
        "adresse1": "",
        "adresse2": "",
        "adresse3": "",
        "cp": postal.group(1),
        "ville": postal.group(2),
        "pays": pays,
    }
    for number, text in enumerate(street, start=1):
        fields[f"adresse{number}"] = text
    for key, text in fields.items():
        if len(text) > LIMITS[key]:
            raise LetterRejected(
                f"{key} is longer than {LIMITS[key]} characters",
                f"{prefix}ADDRESS_{key.upper()}_TOO_LONG",
            )
    return fields


def same_address(ours: dict[str, Any], theirs: Any) -> bool:
    """Whether ``getEnvoi``'s ``dest`` (the recipient's full address) is the address we
    sent: name, first street line, postal code and city, compared without case or accents.
    A ``reference`` there, if Merci Facteur echoes it, must be ours."""
    if not isinstance(theirs, dict):
        return False
    if theirs.get("reference") and ours.get("reference"):
        return str(theirs["reference"]) == str(ours["reference"])
    keys = ("nom", "societe", "adresse1", "cp", "ville")
    return all(_fold(str(ours.get(k) or "")) == _fold(str(theirs.get(k) or "")) for k in keys)


# ---- statuses ---------------------------------------------------------------------------------


def local_day(moment: datetime) -> date:
    """The French calendar day of an instant."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS).date() if PARIS is not None else moment.date()


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in Paris (a status dated to the day only)."""
    zone = PARIS if PARIS is not None else UTC
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def status_day(description: str) -> date | None:
    """The "DD/MM/YYYY" every published ``statut_description`` starts with."""
    found = _DAY.match(description or "")
    if found is None:
        return None
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def return_reason(description: str) -> LetterOutcome | None:
    """Why a letter came back, from its description: "refus..." refused, "non réclamé" (or
    the hold period, "instance") not collected; None when it does not say."""
    words = _fold(description).lower()
    if any(word in words for word in _REFUSED_WORDS):
        return "refused"
    if any(word in words for word in _UNCLAIMED_WORDS):
        return "not_collected"
    return None


def map_status(code: str, description: str = "") -> LetterOutcome | None:
    """A ``statut_courrier`` -> the case's letter status (None: nothing to tell the case).

    A return (``retour_expediteur``, ``distribue_expediteur``, ``archivage_pnd``) and
    ``non_distribuable`` say why only in their description (``return_reason``); one that
    does not say is a wrong address, which never starts the formal notice's deadline (the
    safe side for the creditor). ``delivery_events`` lets a later, unexplained step of the
    same return keep the reason an earlier one gave."""
    if code in PRESENTED:
        return "presented"
    if code in DELIVERED:
        return "delivered"
    if code in ELECTRONIC_REFUSED:
        return "refused"
    if code in ELECTRONIC_EXPIRED:
        return "not_collected"
    if code in RETURNED or code in UNDELIVERABLE:
        return return_reason(description) or "wrong_address"
    return None


def tracking_entries(value: Any) -> list[dict[str, Any]]:
    """The objects carrying ``statut_courrier`` in ``getSuiviEnvoi``'s ``suiviCourrier``,
    whose shape is not published: a list of them, a mapping of them, or either one level
    deeper (e.g. lists by letter). Order kept."""

    def walk(node: Any, depth: int) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if "statut_courrier" in node:
                yield node
            elif depth < 2:
                for child in node.values():
                    yield from walk(child, depth + 1)
        elif isinstance(node, list) and depth < 2:
            for child in node:
                yield from walk(child, depth + 1)

    return list(walk(value, 0))


def delivery_events(
    entries: Iterable[dict[str, Any]], dated: dict[int, datetime] | None = None
) -> list[DeliveryEvent]:
    """Mapped events, oldest first, one per (outcome, day). An entry's day is its
    description's date (``dated`` gives the instant of entries that have one, e.g. a
    webhook's ``date_event``); an entry with neither is skipped, never dated "today"."""
    found: list[tuple[datetime, int, DeliveryEvent]] = []
    returned = False
    for index, entry in enumerate(entries):
        code = str(entry.get("statut_courrier") or "")
        description = str(entry.get("statut_description") or "")
        outcome = map_status(code, description)
        if code in RETURNED or code in UNDELIVERABLE:
            if returned and return_reason(description) is None:
                continue  # a later step of a return already explained (or not) before
            returned = True
        if outcome is None:
            if code and code not in KNOWN_STATUSES:
                log.warning("merci facteur status %r is not in the published tables", code)
            continue
        day = status_day(description)
        instant = (dated or {}).get(index)
        if day is None and instant is not None:
            day = local_day(instant)
        if day is None:
            log.warning("merci facteur status %s has no date: not recorded", code)
            continue
        at = instant if instant is not None and local_day(instant) == day else day_start(day)
        label = description.split(":", 1)[1].strip() if ":" in description else description
        found.append(
            (at, index, DeliveryEvent(outcome=outcome, on=day, at=at, code=code, label=label))
        )
    found.sort(key=lambda item: (item[2].on, item[1]))
    events: list[DeliveryEvent] = []
    seen: set[tuple[str, date]] = set()
    for _, _, event in found:
        if (event.outcome, event.on) in seen:
            continue
        seen.add((event.outcome, event.on))
        events.append(event)
    return events


def letter_status(provider_id: str, body: dict[str, Any]) -> LetterStatus:
    """``LetterStatus`` from a ``getSuiviEnvoi`` answer."""
    entries = tracking_entries(body.get("suiviCourrier"))
    codes = [str(e.get("statut_courrier") or "") for e in entries]
    provider_status = next(
        (code for code in reversed(codes) if code),
        str(body.get("statutPrintEnvoi") or "unknown"),
    )
    registered = next(
        (str(e["tracking_number"]) for e in reversed(entries) if e.get("tracking_number")),
        None,
    )
    deposited: datetime | None = None
    for entry in entries:
        if entry.get("statut_courrier") in DEPOSITED:
            day = status_day(str(entry.get("statut_description") or ""))
            if day is not None:
                deposited = day_start(day)
                break
    anomaly: LetterAnomaly | None = None
    detail = ""
    for entry in entries:
        found = STATUS_ANOMALIES.get(str(entry.get("statut_courrier") or ""))
        if found is not None:
            anomaly = found
            detail = f"{entry['statut_courrier']}: {entry.get('statut_description') or ''}"
    return LetterStatus(
        provider_id=provider_id,
        provider_status=provider_status[:32],
        recipient_id=next((str(e["ref_courrier"]) for e in entries if e.get("ref_courrier")), None),
        registered_number=registered,
        deposited_at=deposited,
        events=tuple(delivery_events(entries)),
        anomaly=anomaly,
        anomaly_detail=detail.strip(),
    )


# ---- proofs -----------------------------------------------------------------------------------


def sniff_media_type(content: bytes) -> str:
    """What the bytes are: the field is named ``are_base64_jpeg`` but the README's example
    value is a PDF (``JVBERi0``), so the name is not trusted."""
    if content.startswith(b"%PDF"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return "application/octet-stream"


def proofs_in(detail: dict[str, Any], event_name: str = "") -> list[Proof]:
    """The proofs a webhook's ``detail[]`` item carries (``pdd_base64_pdf``: the deposit
    proof; ``are_base64_jpeg``: the scanned signed AR), decoded."""
    found: list[Proof] = []
    for kind, field in PROOF_FIELDS:
        value = detail.get(field)
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            content = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            log.warning("merci facteur %s of %s is not base64", field, detail.get("id_envoi"))
            continue
        if not content:
            continue
        source = f"webhook:{event_name or '?'}:{field}:{detail.get('ref_courrier') or ''}"
        found.append(
            Proof(kind=kind, content=content, media_type=sniff_media_type(content), source=source)
        )
    return found


def webhook_instant(event: dict[str, Any]) -> datetime | None:
    """``event.date_event`` (a Unix timestamp) as an instant."""
    try:
        return datetime.fromtimestamp(int(event["date_event"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None


# ---- the client -------------------------------------------------------------------------------


def _error_code(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # not in the repository's description; seen in the wild?
        for key in ("code", "error", "message"):
            if error.get(key):
                return str(error[key])[:200]
        return json.dumps(error, ensure_ascii=False)[:200]
    return str(error or "UNKNOWN_ERROR")[:200]


def _as_id(value: Any) -> str | None:
    """``envoi_id``: an integer, its text, or a list of one ("null|[int]")."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text if text.isdigit() else None


class MerciFacteurClient:
    """``RegisteredMailProvider`` for Merci Facteur, over one long-lived ``httpx.AsyncClient``."""

    name = PROVIDER_NAME

    def __init__(
        self, settings: MerciFacteurSettings, *, http: httpx.AsyncClient | None = None
    ) -> None:
        if not settings.enabled:
            raise ValueError(
                "MERCI_FACTEUR_SERVICE_ID, MERCI_FACTEUR_SECRET_KEY and MERCI_FACTEUR_USER_ID "
                "are required for the Merci Facteur client"
            )
        self._settings = settings
        self._base = settings.base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=settings.timeout_s)
        self._owns_http = http is None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._countries: dict[str, str] | None = None

    @property
    def settings(self) -> MerciFacteurSettings:
        return self._settings

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> MerciFacteurClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # ---- authentication ---------------------------------------------------------------

    def signature(self, timestamp: int) -> str:
        """hash-secret-key/README.md: HMAC-SHA256, key the secret key, data the service id
        followed by the timestamp, lowercase hexadecimal."""
        key = self._settings.secret_key.get_secret_value().encode()
        data = f"{self._settings.service_id}{timestamp}".encode()
        return hmac.new(key, data, hashlib.sha256).hexdigest()

    async def _access_token(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            if not renew and self._token and time.time() < self._token_expires:
                return self._token
            timestamp = int(time.time())
            headers = {
                "ww-service-signature": self.signature(timestamp),
                "ww-timestamp": str(timestamp),
                "ww-service-id": self._settings.service_id,
                "Accept": "application/json",
            }
            if self._settings.ips:
                headers["ww-authorized-ip"] = ";".join(self._settings.ips)
            try:
                response = await self._http.get(f"{self._base}/getToken", headers=headers)
            except httpx.HTTPError as err:
                raise RegisteredMailError(f"getToken unreachable: {err}") from err
            body = self._json(response, "getToken")
            if response.status_code != 200 or body.get("success") is not True:
                raise RegisteredMailError(
                    f"getToken answered {response.status_code} {_error_code(body)}"
                )
            if not body.get("token"):
                raise RegisteredMailError("getToken answered no token")
            self._token = str(body["token"])
            try:
                expires = float(body.get("expire") or 0)
            except (TypeError, ValueError):
                expires = 0.0
            if expires <= time.time():
                expires = time.time() + 24 * 3600  # the published default lifetime
            self._token_expires = expires - 60.0
            return self._token

    @staticmethod
    def _json(response: httpx.Response, operation: str) -> dict[str, Any]:
        if response.status_code >= 500:
            raise RegisteredMailError(f"{operation} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise RegisteredMailError(
                f"{operation} answered {response.status_code} without JSON"
            ) from None
        if not isinstance(body, dict):
            raise RegisteredMailError(f"{operation} answered {response.status_code}: not an object")
        return body

    async def call(
        self,
        method: str,
        operation: str,
        *,
        params: list[tuple[str, str]] | None = None,
        files: dict[str, tuple[None, str]] | None = None,
    ) -> dict[str, Any]:
        """One authenticated operation; its JSON answer when ``success`` is true.

        ``ProviderRefusal`` (a ``RegisteredMailError``) when it is false; a 401 or 403, or an
        error code that names the token, renews the token once first (the description lists
        no error codes). 5xx, 408, 429, transport errors and non-JSON answers:
        ``RegisteredMailError``."""
        url = f"{self._base}/{operation}"
        for attempt in (0, 1):
            token = await self._access_token(renew=attempt == 1)
            headers = {
                "ww-access-token": token,
                "ww-service-id": self._settings.service_id,
                "Accept": "application/json",
            }
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=tuple(params or ()),
                    files=files,
                    headers=headers,
                )
            except httpx.HTTPError as err:
                raise RegisteredMailError(f"{operation}: {err}") from err
            if response.status_code in (408, 425, 429):
                raise RegisteredMailError(f"{operation} answered {response.status_code}")
            body = self._json(response, operation)
            if body.get("success") is True and response.status_code < 300:
                return body
            code = _error_code(body)
            refusal = ProviderRefusal(
                f"{operation} answered {response.status_code} {code}", code, response.status_code
            )
            if attempt == 0 and refusal.auth_trouble:
                continue
            raise refusal
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- the operations, one call each ------------------------------------------------

    async def countries(self) -> dict[str, str]:
        """getCountry for zones fr and om1: folded spelling -> the service's spelling
        (asked once per client)."""
        if self._countries is None:
            body = await self.call(
                "GET", "getCountry", params=[("zone[]", z) for z in COUNTRY_ZONES]
            )
            names = body.get("country") or []
            self._countries = {_fold(str(n)): str(n) for n in names if isinstance(n, str)}
        return self._countries

    async def spelling(self, country_code: str) -> str:
        """The service's own spelling of a supported country (its getCountry list wins over
        the published one when they differ only in case, accents or dashes)."""
        ours = COUNTRY_NAMES[country_code.upper()]
        listed = await self.countries()
        if not listed:  # an answer we cannot read: the published spelling stands
            log.warning("getCountry listed no country name; sending %r as published", ours)
            return ours
        if _fold(ours) in listed:
            return listed[_fold(ours)]
        raise LetterRejected(
            f"Merci Facteur's getCountry does not list {ours!r}", "ADDRESS_COUNTRY_NOT_LISTED"
        )

    async def list_envois(self) -> list[dict[str, Any]]:
        """listEnvois: the user's 50 latest sendings."""
        body = await self.call(
            "GET", "listEnvois", params=[("idUser", str(self._settings.user_id))]
        )
        return [dict(e) for e in body.get("envois") or [] if isinstance(e, dict)]

    async def get_envoi(self, envoi_id: str) -> dict[str, Any]:
        body = await self.call("GET", "getEnvoi", params=[("idEnvoi", envoi_id)])
        envoi = body.get("envoi")
        return dict(envoi) if isinstance(envoi, dict) else {}

    async def get_suivi(self, envoi_id: str) -> dict[str, Any]:
        return await self.call("GET", "getSuiviEnvoi", params=[("idEnvoi", envoi_id)])

    def payload(self, letter: Letter, pays: str | None = None) -> dict[str, str]:
        """sendCourrier's form fields for ``letter`` (refusals raised here, before any call)."""
        recipient = address_object(letter.recipient)
        if pays is not None:
            recipient["pays"] = pays
        recipient["reference"] = internal_reference(letter.idempotency_key)
        sender: dict[str, str] | int
        if letter.sender.lines:
            try:
                sender = address_object(letter.sender, prefix="SENDER_")
            except UnsupportedCountry as err:
                raise LetterRejected(f"sender: {err}", "SENDER_" + err.code) from err
        elif self._settings.sender_address_id is not None:
            sender = self._settings.sender_address_id
        else:
            raise LetterRejected(
                "the creditor has no postal address and MERCI_FACTEUR_SENDER_ADDRESS_ID is not set",
                "SENDER_ADDRESS_EMPTY",
            )
        if len(letter.pdf) > MAX_FILE_BYTES:
            raise LetterRejected("the letter's PDF is larger than 50 MB", "DOCUMENT_TOO_LARGE")
        content = {
            "letter": {
                "base64files": [base64.b64encode(letter.pdf).decode()],
                "final_filename": letter.document_name,
            }
        }
        fields = {
            "idUser": str(self._settings.user_id),
            "adress": json.dumps({"exp": sender, "dest": [recipient]}, ensure_ascii=False),
            "content": json.dumps(content),
            "modeEnvoi": self._settings.mode_envoi,
            "antidoublon": antidoublon(letter.idempotency_key),
        }
        if self._settings.anonymize_after_days is not None:
            fields["anonymize"] = json.dumps(
                {
                    "delay": self._settings.anonymize_after_days,
                    "target": ["content", "exp", "dest"],
                }
            )
        return fields

    async def send_courrier(self, letter: Letter, pays: str | None = None) -> str:
        """sendCourrier: the letter is created, validated and will be posted; its envoi id.
        ``pays``: the recipient's country as getCountry spells it (``spelling``)."""
        fields = self.payload(letter, pays)
        body = await self.call(
            "POST", "sendCourrier", files={k: (None, v) for k, v in fields.items()}
        )
        envoi_id = _as_id(body.get("envoi_id"))
        if envoi_id is None:
            raise RegisteredMailError("sendCourrier answered success without an envoi_id")
        return envoi_id

    async def find_envoi(self, letter: Letter) -> list[str]:
        """The sendings among the user's 50 latest that may be this letter: the same mode,
        one recipient, at most ``lookup_days`` old, and a recipient at this address."""
        ours = address_object(letter.recipient)
        ours["reference"] = internal_reference(letter.idempotency_key)
        since = time.time() - self._settings.lookup_days * 86400
        matches: list[str] = []
        for envoi in await self.list_envois():
            envoi_id = _as_id(envoi.get("idEnvoi"))
            if envoi_id is None or str(envoi.get("modeEnvoi", "")) != self._settings.mode_envoi:
                continue
            if envoi.get("nbDest") not in (None, 1, "1"):
                continue
            try:
                if float(envoi.get("date") or since) < since:
                    continue
            except (TypeError, ValueError):
                pass
            detail = (await self.get_envoi(envoi_id)).get("detail") or []
            if any(isinstance(d, dict) and same_address(ours, d.get("dest")) for d in detail):
                matches.append(envoi_id)
        return matches

    # ---- RegisteredMailProvider -------------------------------------------------------

    def check(self, letter: Letter) -> None:
        """Refuse, before any call, what Merci Facteur would refuse: an unsupported country
        (``UnsupportedCountry``), an address that does not fit (``LetterRejected``)."""
        self.payload(letter)

    async def send(self, letter: Letter, journal: SendJournal | None = None) -> str:
        """Post the letter once for its key (see the module's docstring)."""
        self.check(letter)
        if journal is None:  # nothing durable: behave as after a crash
            journal = MemoryJournal(maybe_created=True)
        if journal.known_id is not None:
            return journal.known_id  # sendCourrier validated it: nothing left to do
        recovering = journal.maybe_created
        pays = await self.spelling(letter.recipient.country_code)
        await journal.creating()
        try:
            envoi_id = await self.send_courrier(letter, pays)
        except ProviderRefusal as err:
            if err.auth_trouble:
                raise RegisteredMailError(f"Merci Facteur refused our credentials: {err}") from err
            if not recovering:
                raise LetterRejected(f"Merci Facteur refused the letter: {err}", err.code) from err
            matches = await self.find_envoi(letter)
            if len(matches) == 1:
                log.info(
                    "letter %s resumed as envoi %s (refused again: %s)",
                    internal_reference(letter.idempotency_key),
                    matches[0],
                    err.code,
                )
                await journal.created(matches[0])
                return matches[0]
            raise LetterRejected(
                f"an earlier attempt may have posted this letter, Merci Facteur refused it "
                f"again ({err.code}) and {len(matches)} of the user's latest sendings match "
                f"it: an operator must look for internal reference "
                f"{internal_reference(letter.idempotency_key)!r} at Merci Facteur",
                "SENDING_LOOKUP_INCONCLUSIVE",
            ) from err
        await journal.created(envoi_id)
        return envoi_id

    async def status(self, provider_id: str) -> LetterStatus:
        """getSuiviEnvoi, mapped (``letter_status``)."""
        return letter_status(provider_id, await self.get_suivi(provider_id))

    async def proofs(self, provider_id: str) -> list[Proof]:
        """Nothing: the published description has no download operation; the deposit proof
        and the scanned AR arrive in webhooks (``proofs_in``)."""
        return []


def event_entries(
    detail: dict[str, Any], event: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[int, datetime]]:
    """A webhook's ``detail[]`` item as a tracking entry, with its ``date_event``."""
    instant = webhook_instant(event)
    return [detail], ({0: instant} if instant is not None else {})


def merged_status(
    current: LetterStatus, detail: dict[str, Any], event: dict[str, Any]
) -> LetterStatus:
    """``current`` (read back from the API) with the webhook's own status added: its event
    (dated by its description, else ``date_event``), tracking number and proofs."""
    entries, dated = event_entries(detail, event)
    extra = delivery_events(entries, dated)
    code = str(detail.get("statut_courrier") or "")
    explained = return_reason(str(detail.get("statut_description") or "")) is not None
    already_returned = any(e.outcome in UNDELIVERED_OUTCOMES for e in current.events)
    if (code in RETURNED or code in UNDELIVERABLE) and not explained and already_returned:
        extra = []  # a later step of a return the API already told
    known = {(e.outcome, e.on) for e in current.events}
    events = list(current.events) + [e for e in extra if (e.outcome, e.on) not in known]
    events.sort(key=lambda e: e.on)
    kinds = list(current.proofs_available)
    for proof in proofs_in(detail, str(event.get("name_event") or "")):
        if proof.kind not in kinds:
            kinds.append(proof.kind)
    anomaly, anomaly_detail = current.anomaly, current.anomaly_detail
    extra_anomaly = STATUS_ANOMALIES.get(str(detail.get("statut_courrier") or ""))
    if anomaly is None and extra_anomaly is not None:
        anomaly = extra_anomaly
        anomaly_detail = f"{detail['statut_courrier']}: {detail.get('statut_description') or ''}"
    deposited = current.deposited_at
    if deposited is None and detail.get("statut_courrier") in DEPOSITED:
        day = status_day(str(detail.get("statut_description") or ""))
        instant = webhook_instant(event)
        deposited = day_start(day) if day else instant
    return LetterStatus(
        provider_id=current.provider_id,
        provider_status=current.provider_status,
        recipient_id=current.recipient_id or (str(detail.get("ref_courrier") or "") or None),
        registered_number=current.registered_number or (detail.get("tracking_number") or None),
        deposited_at=deposited,
        events=tuple(events),
        proofs_available=tuple(kinds),
        anomaly=anomaly,
        anomaly_detail=anomaly_detail.strip(),
    )
