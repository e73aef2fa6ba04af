"""The async SQLAlchemy engine, from a libpq-style or SQLAlchemy URL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def asyncpg_url(url: str) -> str:
    """postgresql://... (as pgserver or a user gives it) -> postgresql+asyncpg://..."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.split(':', 1)[0]}://")


def make_engine(url: str) -> AsyncEngine:
    """An engine with a small pool; pre-ping so a restarted database is noticed, not fatal."""
    return create_async_engine(asyncpg_url(url), pool_size=10, max_overflow=10, pool_pre_ping=True)
