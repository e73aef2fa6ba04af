"""The event store on the session's PostgreSQL; each test brings its own tenant."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from tests.projections.builders import Books, new_tenant


@pytest.fixture
def store(engine: AsyncEngine) -> EventStore:
    return EventStore(engine)


@pytest.fixture
def books(engine: AsyncEngine, store: EventStore) -> Books:
    """A fresh tenant's books: register invoices, record facts, project them."""
    return Books(engine, store, new_tenant())
