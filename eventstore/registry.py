"""Stable event type names -> classes and current schema versions, plus their upcasters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from eventstore.errors import UnknownEventType
from eventstore.events import EVENT_CLASSES, DomainEvent
from eventstore.events.upcasters import UPCASTERS
from eventstore.upcasting import Upcaster, upcast


class EventRegistry:
    """Knows every event class by its stable name, and how to read older data."""

    def __init__(
        self,
        classes: Iterable[type[DomainEvent]],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        for cls in classes:
            if cls.event_type in self._classes:
                raise ValueError(f"two classes are registered as {cls.event_type!r}")
            self._classes[cls.event_type] = cls
        self._upcasters = dict(upcasters or {})
        self._check_upcasters()

    def _check_upcasters(self) -> None:
        # A class bumped without its upcaster would fail on the first old row, in production.
        for name, version in self._upcasters:
            cls = self.class_for(name)
            if not 1 <= version < cls.schema_version:
                raise ValueError(
                    f"upcaster from {name} v{version}, but {name} is at v{cls.schema_version}"
                )
        for name, cls in self._classes.items():
            for version in range(1, cls.schema_version):
                if (name, version) not in self._upcasters:
                    raise ValueError(
                        f"{name} is at v{cls.schema_version} with no upcaster from v{version}"
                    )

    def class_for(self, event_type: str) -> type[DomainEvent]:
        """The class registered under ``event_type``."""
        try:
            return self._classes[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def current_version(self, event_type: str) -> int:
        """The schema version new events of this type are written with."""
        return self.class_for(event_type).schema_version

    def load(self, event_type: str, schema_version: int, data: Mapping[str, Any]) -> DomainEvent:
        """The typed event for stored data of any known schema version (upcast, validated)."""
        cls = self.class_for(event_type)
        current = upcast(
            event_type,
            schema_version,
            data,
            current_version=cls.schema_version,
            upcasters=self._upcasters,
        )
        return cls.model_validate(current)


@cache
def default_registry() -> EventRegistry:
    """recouvre's registry: every class of ``eventstore.events`` and its upcasters."""
    return EventRegistry(EVENT_CLASSES, UPCASTERS)
