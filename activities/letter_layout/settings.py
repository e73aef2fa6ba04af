"""The creditor's letterhead beyond its name and address (which the context carries).

Read from the environment like the other channel settings; every value may be empty.
The consumer mediator is read here too: ``CONSUMER_MEDIATOR`` (one free text, printed by the
first versions of the consumer letters) or, more precisely, ``CONSUMER_MEDIATOR_NAME``,
``CONSUMER_MEDIATOR_ADDRESS`` and ``CONSUMER_MEDIATOR_WEBSITE``, which the channel activity
also gives the templates that name the mediator (activities/creditor_identity.py).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from stdnum.fr import siren as siren_number

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
MAX_LOGO_BYTES = 512 * 1024


def one_line(text: str) -> str:
    """A multi-line setting (an address) as one line: its non-empty lines joined by ", "."""
    return ", ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


class LetterheadSettings(BaseSettings):
    """What the letters print in the creditor's letterhead and footer."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    siren: str = Field(default="", alias="CREDITOR_SIREN")
    """The creditor's SIREN (9 digits, spaces allowed); a context's ``creditor_siren``
    overrides it."""
    logo_path: Path | None = Field(default=None, alias="CREDITOR_LOGO")
    """A PNG or JPEG drawn at the top left of the first page (at most 512 KiB)."""
    place: str = Field(default="", alias="LETTER_PLACE")
    """The place in "Paris, le 2 décembre 2026"; empty: the city of the creditor's
    address (its last line, after the postal code)."""
    consumer_mediator: str = Field(default="", alias="CONSUMER_MEDIATOR")
    """The consumer mediator's name and coordinates (website or address), printed in
    consumer letters (C. consommation L616-2); empty: not printed. Superseded by the three
    settings below, which it stands in for when they are empty."""
    consumer_mediator_name: str = Field(default="", alias="CONSUMER_MEDIATOR_NAME")
    """The consumer mediator's name, e.g. "Médiateur de la consommation CM2C"."""
    consumer_mediator_address: str = Field(default="", alias="CONSUMER_MEDIATOR_ADDRESS")
    """Its postal address (lines may be separated by newlines)."""
    consumer_mediator_website: str = Field(default="", alias="CONSUMER_MEDIATOR_WEBSITE")
    """Its website, where a consumer files a complaint online."""

    def mediator_parts(self) -> tuple[str, str, str]:
        """(name, address on one line, website); the name falls back on ``CONSUMER_MEDIATOR``."""
        name = " ".join(self.consumer_mediator_name.split()) or " ".join(
            self.consumer_mediator.split()
        )
        return (
            name,
            one_line(self.consumer_mediator_address),
            self.consumer_mediator_website.strip(),
        )

    def mediator_text(self) -> str:
        """The mediator as one line ("" when none is configured)."""
        return ", ".join(part for part in self.mediator_parts() if part)

    @field_validator("siren")
    @classmethod
    def _valid_siren(cls, value: str) -> str:
        compact = "".join(value.split())
        if compact and not siren_number.is_valid(compact):
            raise ValueError(f"CREDITOR_SIREN {value!r} is not a valid SIREN")
        return compact

    @field_validator("logo_path", mode="before")
    @classmethod
    def _empty_logo(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("logo_path")
    @classmethod
    def _readable_logo(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if value.suffix.lower() not in LOGO_TYPES:
            raise ValueError(f"CREDITOR_LOGO {value}: only PNG or JPEG files are supported")
        if not value.is_file():
            raise ValueError(f"CREDITOR_LOGO {value}: no such file")
        if value.stat().st_size > MAX_LOGO_BYTES:
            raise ValueError(f"CREDITOR_LOGO {value}: larger than {MAX_LOGO_BYTES} bytes")
        return value
