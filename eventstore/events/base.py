"""The base of every domain event: an immutable, named, versioned fact."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class DomainEvent(BaseModel):
    """A fact about a case, named in the past tense.

    Each subclass declares ``event_type``, the stable name stored with the event (never
    a Python import path, so classes can move), and ``schema_version``, bumped with an
    upcaster from the previous version whenever the stored shape changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("event_type")
        if not isinstance(name, str) or not _TYPE_NAME.match(name):
            raise TypeError(f"{cls.__qualname__} must declare event_type, e.g. 'ReminderSent'")
        if cls.schema_version < 1:
            raise TypeError(f"{cls.__qualname__}: schema_version starts at 1")
