"""What recouvre needs from a registered-mail (LRAR) provider, whoever the provider is.

A provider posts one letter with acknowledgement of receipt per idempotency key, reports
where the letter is (its delivery events, already mapped to the statuses a case knows), and
hands over its proofs (deposit proof, signed acknowledgement of receipt) as bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

LetterOutcome = Literal["presented", "delivered", "not_collected", "refused", "wrong_address"]
"""The statuses of schemas.case_events.RegisteredLetterStatus, in the provider's words mapped."""

ProofKind = Literal["deposit_proof", "acknowledgement_of_receipt"]

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


@dataclass(frozen=True)
class PostalAddress:
    """A name and its postal address lines, the last one "<postal code> <city>"."""

    name: str
    lines: tuple[str, ...]
    country_code: str = "FR"


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
    rejected: bool = False

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


@runtime_checkable
class RegisteredMailProvider(Protocol):
    """A registered-mail provider. ``send`` must be idempotent on ``letter.idempotency_key``:
    the same key never makes a second letter, whatever happened to the first call."""

    name: str

    async def send(self, letter: Letter) -> str:
        """Post ``letter`` (create, upload, address, submit); return the provider's id."""
        ...

    async def status(self, provider_id: str) -> LetterStatus:
        """The sending's current status and mapped delivery events."""
        ...

    async def proofs(self, provider_id: str) -> list[Proof]:
        """Every proof available now (none before the letter is deposited)."""
        ...
