"""Who the creditor is, as a court request must say it, and who its consumer mediator is.

Both come from the environment and are read by the channel activity just before it renders
(activities/channel_activities.py): the workflow never carries them, so Temporal's history
holds none of them and a correction reaches the next letter without a new workflow version.
The activity adds to a request's context only the keys its template uses (``TEMPLATE_KEYS``),
the settings' values winning over the context's, as the recipient keys do.

Creditor identity (CPC 1407, which requires the mentions of CPC 54 and 57):

- a legal person gives its form, registered office and the body that represents it
  (``CREDITOR_LEGAL_FORM``, ``CREDITOR_REGISTERED_OFFICE``, ``CREDITOR_REPRESENTATIVE``) and
  its registration (``CREDITOR_RCS``, e.g. "RCS Lyon 732 829 320");
- a natural person gives its first names, profession, domicile, nationality, date and place
  of birth (``CREDITOR_PERSON_FIRST_NAMES``, ``CREDITOR_PERSON_PROFESSION``,
  ``CREDITOR_PERSON_DOMICILE``, ``CREDITOR_PERSON_NATIONALITY``,
  ``CREDITOR_PERSON_BIRTH_DATE``, ``CREDITOR_PERSON_BIRTH_PLACE``); its surname is the
  creditor's name (``CREDITOR_NAME``). Setting any of these makes the creditor a natural
  person; setting them together with a legal person's form, office or representative is a
  configuration error.

Every value may be empty: the document then prints "à compléter" in its place (the request
is a draft its signatory completes), never a blank and never an error.

Consumer mediator (C. consommation L612-1, L616-1, L616-2): ``CONSUMER_MEDIATOR_NAME``,
``CONSUMER_MEDIATOR_ADDRESS``, ``CONSUMER_MEDIATOR_WEBSITE`` (activities/letter_layout/
settings.py, which also keeps the older one-line ``CONSUMER_MEDIATOR``). Empty: the letters
name no mediator, and the activity logs that a refused consumer complaint went without one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.letter_layout.settings import LetterheadSettings, one_line

CreditorKind = Literal["legal_person", "natural_person"]

LEGAL_PERSON_KEYS = frozenset(
    {"creditor_legal_form", "creditor_registered_office", "creditor_representative"}
)
NATURAL_PERSON_KEYS = frozenset(
    {
        "creditor_person_first_names",
        "creditor_person_profession",
        "creditor_person_domicile",
        "creditor_person_nationality",
        "creditor_person_birth_date",
        "creditor_person_birth_place",
    }
)
IDENTITY_KEYS = LEGAL_PERSON_KEYS | NATURAL_PERSON_KEYS | {"creditor_kind", "creditor_rcs"}
"""The creditor's identity in a court request: ``creditor_kind`` ("legal_person" or
"natural_person") and the values above, each on one line, "" when not configured."""
MEDIATOR_KEYS = frozenset(
    {"consumer_mediator_name", "consumer_mediator_address", "consumer_mediator_website"}
)
"""The consumer mediator, each value on one line, "" when not configured."""
CREDITOR_KEYS = IDENTITY_KEYS | MEDIATOR_KEYS
"""Every key the activity may add to a context from the settings."""


class CreditorSettingsError(ValueError):
    """The creditor settings contradict each other or cannot be read."""


class CreditorIdentity(BaseSettings):
    """The creditor as a court request names it (CPC 54, 57, 1407)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    legal_form: str = Field(default="", alias="CREDITOR_LEGAL_FORM")
    """e.g. "société par actions simplifiée (SAS) au capital de 10 000 euros"."""
    registered_office: str = Field(default="", alias="CREDITOR_REGISTERED_OFFICE")
    """The registered office's address (lines may be separated by newlines)."""
    representative: str = Field(default="", alias="CREDITOR_REPRESENTATIVE")
    """The body that legally represents it, e.g. "M. Paul Durand, président"."""
    rcs: str = Field(default="", alias="CREDITOR_RCS")
    """Its registration, e.g. "RCS Lyon 732 829 320"; optional for a natural person."""
    person_first_names: str = Field(default="", alias="CREDITOR_PERSON_FIRST_NAMES")
    person_profession: str = Field(default="", alias="CREDITOR_PERSON_PROFESSION")
    person_domicile: str = Field(default="", alias="CREDITOR_PERSON_DOMICILE")
    person_nationality: str = Field(default="", alias="CREDITOR_PERSON_NATIONALITY")
    person_birth_date: str = Field(default="", alias="CREDITOR_PERSON_BIRTH_DATE")
    """As printed, e.g. "12/03/1975"."""
    person_birth_place: str = Field(default="", alias="CREDITOR_PERSON_BIRTH_PLACE")

    @field_validator("*")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return one_line(value)

    @model_validator(mode="after")
    def _one_kind(self) -> CreditorIdentity:
        legal = [
            name
            for name, value in (
                ("CREDITOR_LEGAL_FORM", self.legal_form),
                ("CREDITOR_REGISTERED_OFFICE", self.registered_office),
                ("CREDITOR_REPRESENTATIVE", self.representative),
            )
            if value
        ]
        if legal and self.kind == "natural_person":
            raise ValueError(
                "CREDITOR_PERSON_* describe a creditor who is a natural person, "
                f"{', '.join(legal)} a legal person: set one or the other"
            )
        return self

    @property
    def kind(self) -> CreditorKind:
        person = (
            self.person_first_names,
            self.person_profession,
            self.person_domicile,
            self.person_nationality,
            self.person_birth_date,
            self.person_birth_place,
        )
        return "natural_person" if any(person) else "legal_person"

    def context(self) -> dict[str, str]:
        """Every identity key (``IDENTITY_KEYS``) with its value."""
        return {
            "creditor_kind": self.kind,
            "creditor_legal_form": self.legal_form,
            "creditor_registered_office": self.registered_office,
            "creditor_representative": self.representative,
            "creditor_rcs": self.rcs,
            "creditor_person_first_names": self.person_first_names,
            "creditor_person_profession": self.person_profession,
            "creditor_person_domicile": self.person_domicile,
            "creditor_person_nationality": self.person_nationality,
            "creditor_person_birth_date": self.person_birth_date,
            "creditor_person_birth_place": self.person_birth_place,
        }


def mediator_context(letterhead: LetterheadSettings) -> dict[str, str]:
    """Every mediator key (``MEDIATOR_KEYS``) with its value."""
    name, address, website = letterhead.mediator_parts()
    return {
        "consumer_mediator_name": name,
        "consumer_mediator_address": address,
        "consumer_mediator_website": website,
    }


def creditor_context(
    keys: Collection[str],
    *,
    identity: CreditorIdentity | None = None,
    letterhead: LetterheadSettings | None = None,
) -> dict[str, str]:
    """The creditor keys among ``keys`` (a template's), from the settings (read from the
    environment unless given); {} for a template that uses none. Raises
    ``CreditorSettingsError`` for settings that cannot be read."""
    wanted = CREDITOR_KEYS.intersection(keys)
    if not wanted:
        return {}
    values: dict[str, str] = {}
    try:
        if wanted & IDENTITY_KEYS:
            values |= (identity or CreditorIdentity()).context()
        if wanted & MEDIATOR_KEYS:
            values |= mediator_context(letterhead or LetterheadSettings())
    except ValidationError as err:
        raise CreditorSettingsError(f"creditor settings: {err}") from err
    return {key: values[key] for key in sorted(wanted)}


def mediator_missing(context: Mapping[str, str]) -> bool:
    """True when a consumer's complaint was refused (``complaint_refused`` "yes") and the
    letter has no mediator to name (C. consommation L616-2): a configuration to fix."""
    return (
        context.get("debtor_kind") == "consumer"
        and context.get("complaint_refused") == "yes"
        and context.keys() >= MEDIATOR_KEYS
        and not any(context[key] for key in MEDIATOR_KEYS)
    )
