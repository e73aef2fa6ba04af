"""Record real HTTP exchanges (httpx event hooks) and check them against OpenAPI documents.

``Recorder.hooks()`` goes into any ``httpx.AsyncClient(event_hooks=...)``: every request and
its response, bodies included, are kept as ``Exchange``s. ``Contract`` holds one
``openapi_core.OpenAPI`` per published document (their ``servers`` pointed at the local
addresses) and says, for each exchange, which document it belongs to and what is wrong with it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPECS = Path(__file__).parent / "maileva"
REGISTERED_MAIL = SPECS / "api-registered_mail-v4-9.yaml"
NOTIFICATION_CENTER = SPECS / "api-notification_center-v2-8.yaml"
AUTHENTICATION = SPECS / "api-authentication-v2-1b.yaml"

_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Exchange:
    """One request as sent and the response as received."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    by: str
    """Who sent it: "client" (recouvre) or "sandbox" (its callbacks)."""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def shape(self) -> str:
        """ "METHOD /path" with ids replaced by {id}, to see which operations were used."""
        return f"{self.method} {_ID.sub('/{id}', self.path)}"


@dataclass
class Recorder:
    """Keeps every exchange of the clients it hooks into (thread-safe: the sandbox's client
    runs on the sandbox's own thread)."""

    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hooks(self, by: str) -> dict[str, list[Any]]:
        async def on_request(request: httpx.Request) -> None:
            await request.aread()

        async def on_response(response: httpx.Response) -> None:
            await response.aread()
            request = response.request
            exchange = Exchange(
                method=request.method,
                url=str(request.url),
                request_headers=dict(request.headers),
                request_body=request.content,
                status=response.status_code,
                response_headers=dict(response.headers),
                response_body=response.content,
                by=by,
            )
            with self._lock:
                self.exchanges.append(exchange)

        return {"request": [on_request], "response": [on_response]}


class _Request:
    """openapi-core's Request protocol over a recorded exchange."""

    def __init__(self, exchange: Exchange) -> None:
        parts = urlsplit(exchange.url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.method = exchange.method.lower()
        self.body: bytes | None = exchange.request_body or None
        self.content_type = exchange.request_headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(parts.query)),
            header=Headers(exchange.request_headers),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    """openapi-core's Response protocol over a recorded exchange."""

    def __init__(self, exchange: Exchange) -> None:
        self.status_code = exchange.status
        self.headers = Headers(exchange.response_headers)
        self.content_type = exchange.response_headers.get("content-type", "")
        self.data: bytes | None = exchange.response_body or None


def _string_keys(value: Any) -> Any:
    """YAML reads unquoted response codes (``200:``) as integers; OpenAPI means strings."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def load(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = _string_keys(yaml.safe_load(path.read_text(encoding="utf-8")))
    return spec


def _document(path: Path, server: str) -> dict[str, Any]:
    spec = load(path)
    spec["servers"] = [{"url": server}]
    return spec


def callback_document(callback_url: str) -> dict[str, Any]:
    """notification_center's callback (``POST /subscriptions`` -> callbacks ->
    ``notifications``) as a document of its own, served at ``callback_url``. The callback
    declares no security of its own: the subscription's Basic credentials are checked apart."""
    center = load(NOTIFICATION_CENTER)
    callback = center["paths"]["/subscriptions"]["post"]["callbacks"]["notifications"]
    (operation,) = callback.values()
    parts = urlsplit(callback_url)
    return {
        "openapi": center["openapi"],
        "info": {"title": "notification_center callback", "version": center["info"]["version"]},
        "servers": [{"url": f"{parts.scheme}://{parts.netloc}"}],
        "security": [],
        "paths": {parts.path: operation},
        "components": center["components"],
    }


@dataclass
class Contract:
    """The published documents, each at the address the tests serve it."""

    api_url: str
    auth_url: str
    callback_url: str

    def __post_init__(self) -> None:
        token_server = self.auth_url.removesuffix("/token")
        self.documents: dict[str, OpenAPI] = {
            "authentication": OpenAPI.from_dict(_document(AUTHENTICATION, token_server)),
            "registered_mail": OpenAPI.from_dict(
                _document(REGISTERED_MAIL, self.api_url + "/registered_mail/v4")
            ),
            "notification_center": OpenAPI.from_dict(
                _document(NOTIFICATION_CENTER, self.api_url + "/notification_center/v2")
            ),
            "callback": OpenAPI.from_dict(callback_document(self.callback_url)),
        }

    def document_of(self, exchange: Exchange) -> str | None:
        if exchange.url.split("?")[0] == self.auth_url:
            return "authentication"
        if exchange.url.split("?")[0] == self.callback_url:
            return "callback"
        if exchange.url.startswith(self.api_url + "/registered_mail/v4/"):
            return "registered_mail"
        if exchange.url.startswith(self.api_url + "/notification_center/v2/"):
            return "notification_center"
        return None

    def problems(self, exchange: Exchange) -> list[str]:
        """What the documents say is wrong with the request and the response (empty: none)."""
        name = self.document_of(exchange)
        if name is None:
            return [f"{exchange.shape}: no published document covers this address"]
        api = self.documents[name]
        request, response = _Request(exchange), _Response(exchange)
        found: list[str] = []
        for what, check in (
            ("request", lambda: api.validate_request(request)),
            ("response", lambda: api.validate_response(request, response)),
        ):
            try:
                check()
            except Exception as err:  # openapi-core raises one error type per problem
                causes = [str(err), *(str(c) for c in getattr(err, "schema_errors", []))]
                cause = err.__cause__
                while cause is not None:
                    causes.append(f"{type(cause).__name__}: {cause}")
                    causes.extend(str(c) for c in getattr(cause, "schema_errors", []))
                    cause = cause.__cause__
                found.append(
                    f"{exchange.by} {exchange.shape} -> {exchange.status}: {name} {what}: "
                    + " / ".join(causes)
                )
        return found
