"""One error shape everywhere: {"error": {"code", "message", "details"}}; never a 500 for input."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(OSError)
    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return _json(
            503,
            "database_unavailable",
            "the database is unavailable; nothing was recorded, retry later",
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return _json(500, "internal_error", "unexpected error; it has been logged")
