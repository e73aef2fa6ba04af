"""A client for Maileva's mail API (simple post, "mail" v2.9; copy in tests/contracts/maileva/).

The operations it uses, as the published document names them:

- ``POST /sendings``: a DRAFT sending (``sending_creation``) whose ``custom_id`` (at most 36
  characters) is derived from the letter's idempotency key, with the configured
  ``postage_type`` (FAST, ECONOMIC or URGENT);
- ``POST /sendings/{sending_id}/documents``: multipart ``document`` + ``metadata``
  (``priority``, ``name``);
- ``POST /sendings/{sending_id}/recipients``: ``recipient_creation``, six address lines of at
  most 38 characters, a ``custom_id`` of at most 36, a ``country_code`` of its list;
- ``POST /sendings/{sending_id}/submit``;
- ``GET /sendings`` (``start_index``, ``count``), ``GET /sendings/{sending_id}``,
  ``GET /sendings/{sending_id}/documents`` and ``GET /sendings/{sending_id}/recipients``:
  to resume a sending and to read its status.

Logging in and calling are the registered-mail client's: a ``MailevaClient`` whose API path
is the mail API's does the OAuth2 password grant, renews the token on a 401, maps 4xx to
``LetterRejected`` and the rest to ``RegisteredMailError``; its generic operations (search
by ``custom_id``, read a sending, list its documents and recipients, submit) have the same
paths in both APIs and are used as they are.

``send`` keeps the sending's id in a ``SendJournal`` as soon as Maileva gives it, before the
document, the recipient and the submission: a retry resumes that sending by id. Only when an
attempt died between asking for a sending and storing its id are the sendings searched for
the key's ``custom_id``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import httpx

from activities.postal_mail.provider import (
    PostalLetterStatus,
    SimpleLetter,
    UnsupportedPostalCountry,
)
from activities.postal_mail.settings import PostalMailSettings
from activities.registered_mail.maileva_client import MailevaClient, parse_instant
from activities.registered_mail.provider import (
    LetterRejected,
    MemoryJournal,
    PostalAddress,
    SendJournal,
)

MAX_LINE = 38  # recipient_creation: each address line at most 38 characters
SENDING_CUSTOM_ID_MAX = 36  # sending_update.custom_id maxLength
RECIPIENT_CUSTOM_ID_MAX = 36  # recipient_creation.custom_id maxLength
CUSTOM_DATA_MAX = 255  # custom_data maxLength (sending and recipient)
NAME_MAX = 256  # sending_update.name maxLength
_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AN AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CS CU CV CW CX CY CZ
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM
    GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
    MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ
    SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TP TR TT TV TW TZ
    UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT YU ZA ZM ZR ZW
"""
MAIL_COUNTRIES = frozenset(_COUNTRY_CODES.split())
"""mail v2.9, schema ``country_code`` (254 codes). The document writes Norway's ``NO``
unquoted, which a YAML 1.1 reader takes for ``false``: it is a country code here."""
_POSTAL_LINE = re.compile(r"^\d{5} \S.*$")
"""recipient_creation: in France, line 6 is a five-digit postal code, a space, the city."""
PAGE_SIZE = 500  # paging_count: at most 500

SENDING_REFUSED = frozenset({"REJECTED", "PROCESSED_WITH_ERRORS"})
RECIPIENT_REFUSED = frozenset({"REJECTED"})
"""sending_status and recipient_status values after which the letter never leaves (a
sending of one recipient processed with errors is that recipient refused)."""


def mail_custom_id(idempotency_key: str) -> str:
    """The sending's and the recipient's ``custom_id`` for the key: ``rcv-`` and 32 hex
    digits (36 characters, the documented maximum of both), the same for every attempt."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return ("rcv-" + digest)[: min(SENDING_CUSTOM_ID_MAX, RECIPIENT_CUSTOM_ID_MAX)]


def check_country(address: PostalAddress) -> str:
    """The address's country code, or ``UnsupportedPostalCountry``."""
    country = address.country_code.strip().upper()
    if country not in MAIL_COUNTRIES:
        raise UnsupportedPostalCountry(country, MAIL_COUNTRIES)
    return country


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _name_lines(name: str, code_prefix: str) -> list[str]:
    """An organisation's name on one or two lines of at most 38 characters, cut between
    words."""
    name = _one_line(name)
    if len(name) <= MAX_LINE:
        return [name]
    cut = name.rfind(" ", 0, MAX_LINE + 1)
    first, rest = (name[:cut], name[cut + 1 :]) if cut > 0 else (name[:MAX_LINE], name[MAX_LINE:])
    if len(rest) > MAX_LINE:
        raise LetterRejected(
            f"the name does not fit two address lines of {MAX_LINE} characters",
            f"{code_prefix}ADDRESS_LINE_2_TOO_LONG",
        )
    return [first, rest]


def mail_address_lines(address: PostalAddress, prefix: str = "") -> dict[str, str]:
    """The six address lines of ``recipient_creation`` (``sender_address_line_*`` and
    ``sender_country_code`` with ``prefix`` "sender_"): 1 company, 2 person, 3 building,
    4 street, 5 locality or PO box, 6 postal code and city.

    An organisation's name is on line 1 (its end on line 2 when longer than 38 characters);
    a private person's name is on line 2 alone. Refusals carry the document's error codes
    (``SENDER_`` first for the sender) and never the address itself."""
    code_prefix = prefix.upper()
    who = "sender" if prefix else "recipient"
    country = check_country(address)
    lines = [_one_line(line) for line in address.lines if line.strip()]
    if not lines:
        raise LetterRejected(f"{who}: no postal address", f"{code_prefix}EMPTY_ADDRESS_LINE_6")
    if not _one_line(address.name):
        raise LetterRejected(
            f"{who}: no name for address line 1 or 2",
            f"{code_prefix}EMPTY_ADDRESS_LINE_1_OR_ADDRESS_LINE_2",
        )
    *street, city = lines
    if len(street) > 3:
        raise LetterRejected(
            f"{who}: {len(street)} street lines, at most 3 fit", f"{code_prefix}ADDRESS_TOO_LONG"
        )
    fields: dict[str, str] = {}
    if address.person:
        fields["address_line_2"] = _one_line(address.name)
    else:
        for number, text in enumerate(_name_lines(address.name, code_prefix), start=1):
            fields[f"address_line_{number}"] = text
    slots = [4, 5] if len(street) <= 2 else [3, 4, 5]
    for number, text in zip(slots, street, strict=False):
        fields[f"address_line_{number}"] = text
    fields["address_line_6"] = city
    for key, text in fields.items():
        if len(text) > MAX_LINE:
            raise LetterRejected(
                f"{who}: {key} is longer than {MAX_LINE} characters",
                f"{code_prefix}{key.upper()}_TOO_LONG",
            )
    if country == "FR" and not _POSTAL_LINE.match(city):
        raise LetterRejected(
            f"{who}: the last address line must be '<5-digit postal code> <city>' in France",
            f"{code_prefix}ADDRESS_LINE_6_WRONG_FORMAT",
        )
    fields["country_code"] = country
    return {f"{prefix}{key}": value for key, value in sorted(fields.items())}


def _first(items: Any) -> dict[str, Any] | None:
    return dict(items[0]) if isinstance(items, list) and items else None


class MailevaMailClient:
    """``PostalMailProvider`` for Maileva's mail API, over one long-lived
    ``httpx.AsyncClient`` (given, or its own)."""

    name = "maileva"

    def __init__(
        self, settings: PostalMailSettings, *, http: httpx.AsyncClient | None = None
    ) -> None:
        if not settings.provider_url:
            raise ValueError(
                "POSTAL_MAIL_PROVIDER_URL (or REGISTERED_MAIL_PROVIDER_URL) is required for "
                "the Maileva mail client"
            )
        self._settings = settings
        self._session = MailevaClient(settings.session_settings(), http=http)

    @property
    def settings(self) -> PostalMailSettings:
        return self._settings

    @property
    def session(self) -> MailevaClient:
        """The authenticated session on the mail API (``call`` takes paths under it)."""
        return self._session

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> MailevaMailClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # ---- the mail-specific calls ------------------------------------------------------

    async def create_sending(self, letter: SimpleLetter) -> dict[str, Any]:
        s = self._settings
        body: dict[str, Any] = {
            "name": _one_line(letter.title)[:NAME_MAX] or letter.document_name,
            "custom_id": mail_custom_id(letter.idempotency_key),
            "custom_data": letter.idempotency_key[:CUSTOM_DATA_MAX],
            "color_printing": s.color_printing,
            "duplex_printing": s.duplex_printing,
            "optional_address_sheet": s.optional_address_sheet,
            "print_sender_address": bool(letter.sender.lines),
            "archiving_duration": s.archiving_duration,
            "postage_type": s.postage_type,
            "treat_undelivered_mail": s.treat_undelivered_mail,
        }
        if letter.sender.lines:  # else the account's own sender address applies
            body.update(mail_address_lines(letter.sender, prefix="sender_"))
        response = await self._session.call("POST", "/sendings", ok=(201,), json=body)
        return dict(response.json())

    async def upload_document(self, sending_id: str, letter: SimpleLetter) -> dict[str, Any]:
        metadata = json.dumps({"priority": 1, "name": letter.document_name})
        response = await self._session.call(
            "POST",
            f"/sendings/{sending_id}/documents",
            ok=(201,),
            files={
                "document": (letter.document_name, letter.pdf, "application/pdf"),
                "metadata": (None, metadata, "application/json"),
            },
        )
        return dict(response.json())

    async def add_recipient(self, sending_id: str, letter: SimpleLetter) -> dict[str, Any]:
        body = {
            "custom_id": mail_custom_id(letter.idempotency_key),
            "custom_data": letter.idempotency_key[:CUSTOM_DATA_MAX],
            **mail_address_lines(letter.recipient),
        }
        response = await self._session.call(
            "POST", f"/sendings/{sending_id}/recipients", ok=(201,), json=body
        )
        return dict(response.json())

    # ---- PostalMailProvider -----------------------------------------------------------

    def check(self, letter: SimpleLetter) -> None:
        """Refuse, before any call, what Maileva would refuse: a country outside its list
        (``UnsupportedPostalCountry``), address lines that do not fit (``LetterRejected``)."""
        mail_address_lines(letter.recipient)
        if letter.sender.lines:
            try:
                mail_address_lines(letter.sender, prefix="sender_")
            except UnsupportedPostalCountry as err:  # the creditor's to fix, not the debtor's
                raise LetterRejected(f"sender: {err}", "SENDER_INVALID_COUNTRY_CODE") from err

    async def send(self, letter: SimpleLetter, journal: SendJournal | None = None) -> str:
        """Create (or resume) the sending for the letter's key, complete it, submit it."""
        self.check(letter)
        if journal is None:  # nothing durable: behave as after a crash, look first
            journal = MemoryJournal(maybe_created=True)
        session = self._session
        sending_id = journal.known_id
        sending: dict[str, Any] | None = None
        if sending_id is None and journal.maybe_created and self._settings.lookup_before_create:
            sending = await session.find_sending(mail_custom_id(letter.idempotency_key))
            if sending is not None:
                sending_id = str(sending["id"])
                await journal.created(sending_id)
        if sending_id is None:
            await journal.creating()
            sending = await self.create_sending(letter)
            sending_id = str(sending["id"])
            await journal.created(sending_id)
        elif sending is None:
            sending = await session.get_sending(sending_id)
        if sending.get("status", "DRAFT") != "DRAFT":
            return sending_id  # an earlier attempt submitted it
        if not await session.list_documents(sending_id):
            await self.upload_document(sending_id, letter)
        if not await session.list_recipients(sending_id):
            await self.add_recipient(sending_id, letter)
        await session.submit(sending_id)
        return sending_id

    async def status(self, provider_id: str) -> PostalLetterStatus:
        sending = await self._session.get_sending(provider_id)
        recipient = _first(await self._session.list_recipients(provider_id))
        sending_status = str(sending.get("status", "DRAFT"))
        recipient_status = str(recipient["status"]) if recipient and "status" in recipient else None
        rejected = sending_status in SENDING_REFUSED or recipient_status in RECIPIENT_REFUSED
        detail = ""
        if rejected:
            words = [f"sending {sending_status}"]
            if sending.get("status_detail"):
                words.append(str(sending["status_detail"]))
            if recipient is not None:
                words.append(f"recipient {recipient_status}")
                if recipient.get("status_detail"):
                    words.append(str(recipient["status_detail"]))
            detail = "; ".join(words)
        processed = (
            sending.get("processed_date") if sending_status.startswith("PROCESSED") else None
        )
        undelivered = (recipient or {}).get("undelivered_mail_date")
        return PostalLetterStatus(
            provider_id=provider_id,
            provider_status=sending_status,
            recipient_id=str(recipient["id"]) if recipient and recipient.get("id") else None,
            recipient_status=recipient_status,
            rejected=rejected,
            detail=detail,
            processed_at=parse_instant(str(processed)) if processed else None,
            undelivered_at=parse_instant(str(undelivered)) if undelivered else None,
        )
