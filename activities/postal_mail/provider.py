"""What recouvre needs from a simple-post provider (letters without acknowledgement of receipt).

A provider posts one letter per idempotency key, whatever happens to the calls that ask it
to, and says later where the letter is. The value types and errors are the registered-mail
channel's (``activities.registered_mail.provider``): an address is a ``PostalAddress``, the
sending's id is kept in a ``SendJournal`` as soon as it exists, a refusal is a
``LetterRejected`` (``UnsupportedCountry`` when found before any call), and anything a retry
may fix is a ``RegisteredMailError``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from activities.registered_mail.provider import PostalAddress, SendJournal, UnsupportedCountry


class UnsupportedPostalCountry(UnsupportedCountry):
    """The recipient's country is not one the provider posts simple letters to (found
    before any call). An ``UnsupportedCountry``, so whatever handles the registered-mail
    refusal handles this one too; only its wording is about simple letters."""

    def __init__(self, country_code: str, supported: frozenset[str]) -> None:
        super().__init__(country_code, supported)
        self.args = (
            f"unsupported country {country_code!r}: not in the provider's list of "
            f"{len(supported)} destination countries for simple letters",
        )


@dataclass(frozen=True)
class SimpleLetter:
    """One letter by simple post, ready to post."""

    idempotency_key: str
    """The case's key for this step (``<case>/<step>/letter``)."""
    case_id: str
    tenant: str
    title: str
    """The sending's name at the provider, e.g. "Dernière relance F-2026-0001"."""
    recipient: PostalAddress
    sender: PostalAddress
    pdf: bytes
    document_name: str = "lettre.pdf"

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


@dataclass(frozen=True)
class PostalLetterStatus:
    """Where a sending is, as the provider tells it now."""

    provider_id: str
    provider_status: str
    """The provider's status of the sending (e.g. DRAFT, PENDING, ACCEPTED, PROCESSED)."""
    recipient_id: str | None = None
    recipient_status: str | None = None
    rejected: bool = False
    """The letter will never leave: the sending was refused, or processed without its
    recipient."""
    detail: str = ""
    """The provider's own words about a refusal (statuses, ``status_detail``), for the
    operator."""
    processed_at: datetime | None = None
    """When the provider printed and enveloped the letter for the post."""
    undelivered_at: datetime | None = None
    """When the post returned the letter as undeliverable, if the provider was asked to
    report returns."""

    @property
    def posted(self) -> bool:
        """The letter was handed over for posting (it may still come back undelivered)."""
        return self.processed_at is not None and not self.rejected


@runtime_checkable
class PostalMailProvider(Protocol):
    """A simple-post provider. ``send`` must be idempotent on ``letter.idempotency_key``: the
    same key never makes a second letter, whatever happened to the first call."""

    name: str

    async def send(self, letter: SimpleLetter, journal: SendJournal | None = None) -> str:
        """Post ``letter`` (create, upload, address, submit); return the provider's id.
        ``journal`` keeps that id durably from its creation on (none: nothing is kept, and
        the provider is searched for the letter's key before creating a sending). Raises
        ``LetterRejected`` for what a retry cannot fix (``UnsupportedCountry`` before any
        call), ``RegisteredMailError`` for what it may."""
        ...

    async def status(self, provider_id: str) -> PostalLetterStatus:
        """The sending's current status."""
        ...
