"""The async SQLAlchemy engine, from a libpq-style or SQLAlchemy URL."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
"""admin_shutdown, crash_shutdown, cannot_connect_now (starting or stopping),
too_many_connections: the server is there but not serving; class 08 is "connection"."""


def asyncpg_url(url: str) -> str:
    """postgresql://... (as pgserver or a user gives it) -> postgresql+asyncpg://..."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.split(':', 1)[0]}://")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An engine with a small pool; pre-ping so a restarted database is noticed, not fatal.

    A database going away mid-statement surfaces as OperationalError whatever the driver
    said (see ``unavailable_as_operational``), so every caller that waits out an outage
    (API 503, projector back-off, activity retry) recognises it."""
    engine = create_async_engine(
        asyncpg_url(url), pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )
    event.listen(engine.sync_engine, "handle_error", unavailable_as_operational)
    return engine


def unavailable_as_operational(context: ExceptionContext) -> BaseException | None:
    """asyncpg reports a server shutting down under a running statement ("connection was
    closed in the middle of operation: terminating connection due to administrator
    command") or still starting ("the database system is starting up") as a bare
    DBAPIError; DB-API calls those OperationalError, and so does recouvre."""
    error = context.sqlalchemy_exception
    if context.is_pre_ping or not isinstance(error, DBAPIError):
        return None
    if isinstance(error, OperationalError | InterfaceError):
        return None
    sqlstate = str(getattr(context.original_exception, "sqlstate", None) or "")
    lost = context.is_disconnect or error.connection_invalidated or sqlstate.startswith("08")
    if not lost and sqlstate not in UNAVAILABLE_SQLSTATES:
        return None
    if lost or sqlstate in ("57P01", "57P02"):
        context.is_disconnect = True  # the pool drops this connection
    return OperationalError(
        error.statement,
        error.params,
        context.original_exception,
        hide_parameters=error.hide_parameters,
        connection_invalidated=context.is_disconnect,
    )
