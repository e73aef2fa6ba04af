"""Check recorded HTTP exchanges against the transcription of Merci Facteur's description.

Composes tests/contracts/openapi_traffic.py (its ``Recorder``, ``Exchange`` and the
openapi-core adapters) with the document in tests/contracts/merci_facteur/: the operations
under the service base (``servers`` pointed at the sandbox) and the webhook (its
``webhooks.courrierEvent`` served at recouvre's endpoint URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openapi_core import OpenAPI

from tests.contracts.openapi_traffic import Exchange, _Request, _Response, load

SPEC = Path(__file__).parent / "merci_facteur" / "merci-facteur-api-1.2-transcription.yaml"
WEBHOOK_RESPONSE_MAX = 500  # README.md "Les webhooks": the answer must not exceed 500 chars


def api_document(api_url: str) -> dict[str, Any]:
    spec = load(SPEC)
    spec.pop("webhooks", None)
    spec["servers"] = [{"url": api_url}]
    return spec


def webhook_document(webhook_url: str) -> dict[str, Any]:
    """``webhooks.courrierEvent`` as the one path of a document served at ``webhook_url``."""
    spec = load(SPEC)
    parts = urlsplit(webhook_url)
    return {
        "openapi": spec["openapi"],
        "info": {"title": "Merci Facteur webhook", "version": spec["info"]["version"]},
        "servers": [{"url": f"{parts.scheme}://{parts.netloc}"}],
        "security": [],
        "paths": {parts.path: spec["webhooks"]["courrierEvent"]},
        "components": spec["components"],
    }


@dataclass
class MerciFacteurContract:
    """The transcription, at the addresses the test serves it."""

    api_url: str
    """The service base, e.g. http://127.0.0.1:<port>/api/1.2/prod/service."""
    webhook_url: str

    def __post_init__(self) -> None:
        self.documents: dict[str, OpenAPI] = {
            "api": OpenAPI.from_dict(api_document(self.api_url)),
            "webhook": OpenAPI.from_dict(webhook_document(self.webhook_url)),
        }

    def document_of(self, exchange: Exchange) -> str | None:
        url = exchange.url.split("?")[0]
        if url == self.webhook_url:
            return "webhook"
        if url.startswith(self.api_url + "/"):
            return "api"
        return None

    def problems(self, exchange: Exchange) -> list[str]:
        """What the transcription says is wrong with the request and the response."""
        name = self.document_of(exchange)
        if name is None:
            return [f"{exchange.shape}: the transcription does not cover this address"]
        api = self.documents[name]
        request, response = _Request(exchange), _Response(exchange)
        found: list[str] = []
        for what in ("request", "response"):
            try:
                if what == "request":
                    api.validate_request(request)
                else:
                    api.validate_response(request, response)
            except Exception as err:  # openapi-core raises one error type per problem
                found.append(
                    f"{exchange.by} {exchange.shape} -> {exchange.status}: {name} {what}: "
                    + " / ".join(_causes(err))[:2000]
                )
        if name == "webhook" and len(exchange.response_body) > WEBHOOK_RESPONSE_MAX:
            found.append(
                f"webhook answer of {len(exchange.response_body)} characters "
                f"(at most {WEBHOOK_RESPONSE_MAX})"
            )
        return found


def _causes(err: BaseException) -> list[str]:
    """The error, its schema errors, and its chain of causes, as text."""
    causes = [str(err), *(str(c) for c in getattr(err, "schema_errors", []))]
    cause = err.__cause__
    while cause is not None:
        causes.append(f"{type(cause).__name__}: {cause}")
        causes.extend(str(c) for c in getattr(cause, "schema_errors", []))
        cause = cause.__cause__
    return causes
