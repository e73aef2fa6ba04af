"""The creditor's letterhead beyond its name and address (which the context carries).

Read from the environment like the other channel settings; every value may be empty.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from stdnum.fr import siren as siren_number

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
MAX_LOGO_BYTES = 512 * 1024


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
    consumer letters (C. consommation L616-2); empty: not printed."""

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
