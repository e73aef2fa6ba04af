"""One error shape everywhere: {"error": {"code", "message", "details"}}; never a 500 for input."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger("recouvre.api")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """A deliberate, documented failure of a request."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


def field_error(field: str, message: str) -> ApiError:
    """A 422 naming one field."""
    return ApiError(
        422, "validation_error", f"{field}: {message}", [{"field": field, "message": message}]
    )


RETRY_AFTER_S = 5
"""What a 503 tells the client to wait before retrying (the ``Retry-After`` header)."""


def _retry_after(timeout_s: float | None = None) -> dict[str, str]:
    seconds = max(RETRY_AFTER_S, math.ceil(timeout_s or 0))
    return {"Retry-After": str(seconds)}


def no_worker(err: BaseException) -> bool:
    """Temporal's answer when nothing polls the case's task queue (no worker running)."""
    text = str(err).lower()
    return "poller" in text or "no worker" in text


def workflow_failing(err: BaseException) -> bool:
    """Temporal's answer to an update or query while the case's workflow task keeps
    failing (a bug or a poisoned history): the worker retries it, the case is stuck."""
    return "workflow task in failed state" in str(err).lower()


def temporal_error(err: BaseException, timeout_s: float | None = None) -> ApiError:
    """503 ``temporal_unavailable`` with ``Retry-After`` for any failure to reach the
    workflow engine or the case's worker; ``details.reason`` says which:

    - ``no_worker``: nothing polls the case's task queue; nothing was applied;
    - ``workflow_failing``: the case's workflow task keeps failing; nothing was applied;
    - ``timeout``: no answer in time; the outcome is unknown (an update may still be
      applied once a worker picks it up), so read the case before sending it again;
    - ``unreachable``: the engine refused or dropped the call; nothing was recorded.
    """
    cause = f"{type(err).__name__}: {str(err)[:200]}"
    headers = _retry_after(timeout_s)
    within = f" within {timeout_s:g} s" if timeout_s else ""
    if isinstance(err, RPCError) and no_worker(err):
        reason = "no_worker"
        message = "no worker is processing cases right now; nothing was applied, retry later"
    elif isinstance(err, RPCError) and workflow_failing(err):
        reason = "workflow_failing"
        message = (
            "the case cannot answer right now: its workflow is failing and being retried "
            "(an operator must look at it); nothing was applied, retry later"
        )
    elif isinstance(err, RPCTimeoutOrCancelledError | TimeoutError) or (
        isinstance(err, RPCError)
        and err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
    ):
        reason = "timeout"
        message = (
            f"the workflow engine did not answer{within} (no worker running, or overloaded); "
            "the request may still be applied later: read the case before sending it again"
        )
    else:
        reason = "unreachable"
        message = "the workflow engine is unavailable; nothing was recorded, retry later"
    return ApiError(
        503, "temporal_unavailable", message, {"reason": reason, "cause": cause}, headers
    )


def _data_error(exc: DBAPIError) -> bool:
    """A value PostgreSQL (or the driver) refused as data: SQLSTATE class 22, e.g. numeric
    field overflow (22003), or asyncpg's client-side "invalid input for query argument"."""
    seen: BaseException | None = exc.orig
    for _ in range(5):
        if seen is None:
            break
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str) and state.startswith("22"):
            return True
        if type(seen).__name__ == "DataError" and isinstance(seen, ValueError):
            return True  # asyncpg.exceptions._base.DataError: bad input for an argument
        seen = seen.__cause__ or seen.__context__
    return False


def _json(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def _field_of(error: dict[str, Any]) -> tuple[str, str]:
    """("debtor.siren", "not a valid SIREN") from one pydantic error."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        return "body", "is not valid JSON"
    match = _FIELD_PREFIX.match(message)
    if match:  # a model-level rule that names its field, e.g. "siren: required for ..."
        loc.append(match.group(1))
        message = match.group(2)
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return ".".join(loc) or "body", message


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the error shape with the right status."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        response = _json(exc.status, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": field, "message": message}
            for field, message in (_field_of(e) for e in exc.errors())
        ]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return _json(422, "validation_error", summary, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # FastAPI's answer to undecodable bytes: same shape as any invalid body.
            message = "is not valid JSON (UTF-8 expected)"
            return _json(
                422, "validation_error", f"body: {message}", [{"field": "body", "message": message}]
            )
        code = STATUS_CODES.get(exc.status_code, "error")
        response = _json(exc.status_code, code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(DBAPIError)
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(OSError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and _data_error(exc):
            # Bounds on every input should make this impossible; if one slipped through,
            # it is still the caller's value, not a fault of the service.
            log.warning("value refused by the database: %s", exc.orig)
            # The database does not say which field; the request is the best we can name.
            message = "a value is out of the range the service can store"
            return _json(
                422,
                "validation_error",
                f"request: {message}",
                [{"field": "request", "message": message}],
            )
        if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError | InterfaceError):
            return await _unexpected(request, exc)
        log.warning("database unavailable: %s", exc)
        response = _json(
            503,
            "database_unavailable",
            "the database is unavailable; nothing was recorded, retry later",
        )
        response.headers.update(_retry_after())
        return response

    @app.exception_handler(TimeoutError)  # asyncio.TimeoutError; before OSError's handler
    @app.exception_handler(RPCTimeoutOrCancelledError)
    @app.exception_handler(RPCError)
    async def _temporal(_: Request, exc: Exception) -> JSONResponse:
        # Last line of defence: case_access and intake map these where they happen.
        log.warning("workflow engine did not answer: %r", exc)
        err = temporal_error(exc)
        response = _json(err.status, err.code, err.message, err.details)
        response.headers.update(err.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return _json(500, "internal_error", "unexpected error; it has been logged")
