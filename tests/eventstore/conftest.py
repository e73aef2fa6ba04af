"""An EventStore on the session's migrated PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore


@pytest.fixture
def store(engine: AsyncEngine) -> EventStore:
    return EventStore(engine)
