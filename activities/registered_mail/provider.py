"""What recouvre needs from a registered-mail (LRAR) provider, whoever the provider is.

A provider posts one letter with acknowledgement of receipt per idempotency key, reports
where the letter is (its delivery events, already mapped to the statuses a case knows, and
any anomaly an operator must handle), and hands over its proofs (deposit proof, content proof,
signed acknowledgement of receipt, scan of the returned letter) as bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

LetterOutcome = Literal["presented", "delivered", "not_collected", "refused", "wrong_address"]
"""The statuses of schemas.case_events.RegisteredLetterStatus, in the provider's words mapped."""

ProofKind = Literal[
    "deposit_proof", "content_proof", "acknowledgement_of_receipt", "undelivered_mail"
]
"""``undelivered_mail``: the provider's scan of the returned letter (PND)."""

FINAL_OUTCOMES: frozenset[str] = frozenset(
    {"delivered", "not_collected", "refused", "wrong_address"}
)


class RegisteredMailError(Exception):
    """The provider could not be reached or answered an error a retry may fix."""


class LetterRejected(RegisteredMailError):
    """The provider refused the letter itself (address, document): a retry cannot fix it."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class UnsupportedCountry(LetterRejected):
    """The recipient's country is one the provider does not deliver to (found before any
    call to the provider)."""

    def __init__(self, country_code: str, supported: frozenset[str]) -> None:
        super().__init__(
            f"unsupported country {country_code!r}: the provider delivers registered letters "
            f"only to {', '.join(sorted(supported))}",
            "UNSUPPORTED_COUNTRY",
        )
        self.country_code = country_code
        self.supported = supported


class LetterAnomaly(StrEnum):
    """A sending the provider will not (or not yet) deliver: each one is an operator's task."""

    REJECTED = "rejected"
    """The provider refused the sending (status REJECTED, event ON_STATUS_REJECTED)."""
    RECIPIENT_REJECTED = "recipient_rejected"
    """The sending was processed but its recipient was invalid (PROCESSED_WITH_ERRORS, or the
    recipient REJECTED / SENDING_REJECTED)."""
    CANCELED = "canceled"
    """The sending was canceled at the provider (status CANCELED)."""
    BLOCKED = "blocked"
    """The sending waits for a financial authorisation at the provider (status BLOCKED); it
    leaves once the account is put right."""

    @property
    def final(self) -> bool:
        """True when this letter will never be delivered (post it again another way)."""
        return self is not LetterAnomaly.BLOCKED

    @property
    def reason(self) -> str:
        """What an operator reads on the task."""
        return ANOMALY_REASONS[self]


ANOMALY_REASONS: dict[LetterAnomaly, str] = {
    LetterAnomaly.REJECTED: "le prestataire a rejeté l'envoi recommandé : il ne partira pas",
    LetterAnomaly.RECIPIENT_REJECTED: (
        "le prestataire a refusé le destinataire (adresse invalide) : la lettre ne partira pas"
    ),
    LetterAnomaly.CANCELED: "l'envoi recommandé a été annulé chez le prestataire",
    LetterAnomaly.BLOCKED: (
        "l'envoi recommandé attend une autorisation financière chez le prestataire "
        "(compte à approvisionner) : il partira une fois le compte régularisé"
    ),
}


@dataclass(frozen=True)
class PostalAddress:
    """A name and its postal address lines, the last one "<postal code> <city>"."""

    name: str
    lines: tuple[str, ...]
    country_code: str = "FR"
    person: bool = False
    """A private person (consumer debtor): the name goes where a person's name goes."""


@dataclass(frozen=True)
class Letter:
    """One registered letter with acknowledgement of receipt, ready to post."""

    idempotency_key: str
    """The case's key for this step (``<case>/<step>/registered_letter``)."""
    case_id: str
    title: str
    """The sending's name at the provider, e.g. "Mise en demeure F-2026-0001"."""
    recipient: PostalAddress
    sender: PostalAddress
    pdf: bytes
    document_name: str = "mise-en-demeure.pdf"

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


@dataclass(frozen=True)
class DeliveryEvent:
    """A step of the letter's delivery, mapped to a case status."""

    outcome: LetterOutcome
    on: date
    at: datetime
    code: str
    """The provider's own code (e.g. Maileva's LP09), kept for the record."""
    label: str = ""


@dataclass(frozen=True)
class LetterStatus:
    """Where a sending is, as the provider tells it now."""

    provider_id: str
    provider_status: str
    """The provider's status of the sending (e.g. DRAFT, ACCEPTED, PROCESSED)."""
    recipient_id: str | None = None
    registered_number: str | None = None
    deposited_at: datetime | None = None
    events: tuple[DeliveryEvent, ...] = ()
    """Mapped delivery events, oldest first."""
    proofs_available: tuple[ProofKind, ...] = ()
    anomaly: LetterAnomaly | None = None
    anomaly_detail: str = ""
    """The provider's own words (statuses, ``status_detail``), for the operator."""

    @property
    def rejected(self) -> bool:
        """The letter will never leave (a final anomaly)."""
        return self.anomaly is not None and self.anomaly.final

    @property
    def outcome(self) -> LetterOutcome | None:
        """The latest mapped event, if any."""
        return self.events[-1].outcome if self.events else None

    @property
    def first_presented_on(self) -> date | None:
        """The day the letter was first presented (refused and unclaimed count as presented;
        a wrong address does not)."""
        for event in self.events:
            if event.outcome != "wrong_address":
                return event.on
        return None


@dataclass(frozen=True)
class Proof:
    """A proof document as the provider serves it."""

    kind: ProofKind
    content: bytes
    media_type: str
    source: str
    """Where it came from (the provider's download path)."""
    sha256: str = field(default="")

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.content).hexdigest())


class SendJournal(Protocol):
    """Where ``send`` keeps the provider's id as soon as it exists, before the letter is
    submitted, so that a retry resumes that sending instead of looking for it."""

    @property
    def known_id(self) -> str | None:
        """The provider's id stored by an earlier attempt."""
        ...

    @property
    def maybe_created(self) -> bool:
        """An earlier attempt asked for a sending and may have died before storing its id."""
        ...

    async def creating(self) -> None:
        """Called (and durable) before asking the provider for a new sending."""
        ...

    async def created(self, provider_id: str) -> None:
        """Called (and durable) once the provider gave the sending's id, before anything
        else is done with it."""
        ...


@dataclass
class MemoryJournal:
    """A journal in memory (one process, e.g. a script or a test): a second ``send`` of the
    same letter through it resumes the first one's sending."""

    known_id: str | None = None
    maybe_created: bool = False

    async def creating(self) -> None:
        self.maybe_created = True

    async def created(self, provider_id: str) -> None:
        self.known_id = provider_id


@runtime_checkable
class RegisteredMailProvider(Protocol):
    """A registered-mail provider. ``send`` must be idempotent on ``letter.idempotency_key``:
    the same key never makes a second letter, whatever happened to the first call."""

    name: str

    async def send(self, letter: Letter, journal: SendJournal | None = None) -> str:
        """Post ``letter`` (create, upload, address, submit); return the provider's id.
        ``journal`` keeps that id durably from its creation on (none: nothing is kept, and
        the provider is searched for the letter's key before creating a sending)."""
        ...

    async def status(self, provider_id: str) -> LetterStatus:
        """The sending's current status and mapped delivery events."""
        ...

    async def proofs(self, provider_id: str) -> list[Proof]:
        """Every proof available now (none before the letter is deposited)."""
        ...
