"""A local stand-in for Maileva's registered-mail API, for tests, demos and `recouvre run`.

It speaks the API of Maileva's published OpenAPI documents (copies in tests/contracts/maileva/,
and tests/contracts checks every exchange against them):

- authentication v2.1, on a host of its own (its own port, like Maileva's "connexion" host):
  ``POST /auth/realms/services/protocol/openid-connect/token``, password grant, client
  credentials in the form (or HTTP Basic); then Bearer tokens on the API;
- registered_mail v4.9 under ``/registered_mail/v4``: sendings, documents, recipients,
  submit, and the proofs (deposit proof, content proof, acknowledgement of receipt, scan of
  the returned letter), with the documented error bodies and codes;
- notification_center v2.8 under ``/notification_center/v2``: subscriptions (create, list,
  read, patch, delete) and the notifications sent; each event is posted to every matching
  subscription's ``callback_url`` with its ``authentication`` (Basic, or an OAuth2
  client-credentials token), retried until the receiver answers 201.

It keeps its state in memory (and, given a folder, in a JSON file there, so a restart resumes
it) and moves each submitted letter along a schedule measured in seconds from submission:

    ACCEPTED -> PROCESSED (deposit proof, content proof, LP01)
             -> first presentation (FIRST_PRESENTATION, LP09 "destinataire absent avisé")
             -> the outcome

The outcome follows the last word of the recipient's name (address lines 1-2): ``REFUSE``
refused (LP22), ``ABSENT`` not collected (LP19), ``NPAI`` wrong address (LP20, never
presented; the returned letter is scanned), ``REJET`` the sending is REJECTED, ``BLOQUE`` it
stays BLOCKED, ``ERREUR`` it is PROCESSED_WITH_ERRORS with its recipient REJECTED; anything
else is delivered (LP15, with a signed acknowledgement of receipt).
``SandboxSchedule.outcome_for`` can replace the rule.

`start_sandbox_registered_mail` runs both hosts under uvicorn in a thread of its own (with its
own event loop), so synchronous code, pytest's event loop and `recouvre run` can all use it.
Given ``webhook_url``, the sandbox account starts with recouvre's subscriptions already made
(as if by hand), with Basic credentials ``webhook_login`` / ``secret``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from activities.registered_mail.settings import (
    DEFAULT_WEBHOOK_LOGIN,
    TOKEN_PATH,
    RegisteredMailSettings,
)
from activities.registered_mail.subscriptions import wanted_subscriptions
from sandboxes.registered_mail_proofs import (
    acknowledgement_pdf,
    content_proof_pdf,
    deposit_proof_pdf,
    undelivered_mail_pdf,
)

log = logging.getLogger("recouvre.sandbox.registered_mail")

EventHooks = dict[str, list[Callable[..., Any]]]
"""httpx event hooks for the sandbox's own outgoing calls (callbacks, OAuth2 tokens)."""

API_PATH = "/registered_mail/v4"
NOTIFICATION_PATH = "/notification_center/v2"
SENDINGS_RESOURCE = "registered_mail/v4/sendings"
RECIPIENTS_RESOURCE = "registered_mail/v4/recipients"
STATE_FILE = "registered-mail-sandbox.json"
MAX_LINE = 38
SENDING_CUSTOM_ID_MAX = 38
RECIPIENT_CUSTOM_ID_MAX = 36
COUNTRIES = frozenset({"FR", "MC", "RE", "YT", "MQ", "GP", "MF", "BL", "GF"})
TOKEN_LIFETIME_S = 600
EVENT_TYPES = frozenset(
    {
        "ON_STATUS_ACCEPTED",
        "ON_STATUS_REJECTED",
        "ON_STATUS_PROCESSED",
        "ON_STATUS_PROCESSED_WITH_ERRORS",
        "ON_DEPOSIT_PROOF_RECEIVED",
        "ON_GLOBAL_DEPOSIT_PROOF_RECEIVED",
        "ON_CONTENT_PROOF_RECEIVED",
        "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED",
        "ON_STATUS_ARCHIVED",
        "ON_UNDELIVERED_MAIL_RECEIVED",
        "ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION",
        "ON_MAIN_DELIVERY_STATUS_DELIVERED",
        "ON_MAIN_DELIVERY_STATUS_UNDELIVERED",
    }
)
"""The registered-mail and generic values of notification_center's ``event_type``."""
RESOURCE_TYPES = frozenset(
    {
        "mail/v2/sendings",
        "mail/v2/recipients",
        "registered_mail/v4/sendings",
        "registered_mail/v4/recipients",
        "registered_mail/v2/sendings",
        "registered_mail/v2/recipients",
        "invoices/v1/sendings",
        "invoices/v1/recipients",
    }
)
OUTCOMES_BY_WORD = {
    "REFUSE": "refused",
    "ABSENT": "not_collected",
    "NPAI": "wrong_address",
    "REJET": "rejected",
    "BLOQUE": "blocked",
    "ERREUR": "processed_with_errors",
}


@dataclass(frozen=True)
class SandboxCredentials:
    """What the sandbox accepts at its token endpoint."""

    client_id: str = "recouvre-sandbox"
    client_secret: str = "sandbox-client-secret"
    username: str = "sandbox@recouvre.example"
    password: str = "sandbox-password"


@dataclass(frozen=True)
class SandboxSchedule:
    """Seconds after submission of each step, and how notifications are retried."""

    accept_after: float = 0.0
    deposit_after: float = 1.0
    present_after: float = 2.0
    outcome_after: float = 3.0
    webhook_attempts: int = 8
    webhook_backoff: float = 0.25
    """First retry delay; it doubles at each attempt."""
    outcome_for: Callable[[dict[str, Any]], str] | None = None
    """recipient (API fields) -> delivered | not_collected | refused | wrong_address |
    rejected | blocked | processed_with_errors."""


def outcome_by_name(recipient: dict[str, Any]) -> str:
    """The documented rule: the last word of the recipient's name lines."""
    name = " ".join(str(recipient.get(k) or "") for k in ("address_line_1", "address_line_2"))
    words = name.upper().split()
    return OUTCOMES_BY_WORD.get(words[-1] if words else "", "delivered")


def _iso(moment: float | None = None) -> str:
    value = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, code: str, message: str) -> JSONResponse:
    """400: errors_response ({"errors": [...]}); 401 and 404: error_response."""
    if status == 400:
        return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=400)
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _page(request: Request, default_count: int = 50, maximum: int = 500) -> tuple[int, int] | None:
    """(start_index, count) from the documented paging parameters; None if invalid."""
    try:
        start = int(request.query_params.get("start_index", "1"))
        count = int(float(request.query_params.get("count", str(default_count))))
    except ValueError:
        return None
    if start < 1 or not 1 <= count <= maximum:
        return None
    return start, count


def _paged(items: list[dict[str, Any]], start: int, count: int) -> list[dict[str, Any]]:
    return items[start - 1 : start - 1 + count]


@dataclass
class SandboxState:
    """Everything the sandbox knows; mutated only on the server's event loop."""

    credentials: SandboxCredentials
    schedule: SandboxSchedule
    state_dir: Path | None = None
    base_url: str = ""
    auth_url: str = ""
    sendings: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    recipients: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    """sending id -> {"submitted": epoch seconds, "stage": steps done, "outcome": str}."""
    tokens: dict[str, float] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    """Every notification with its delivery attempts (for tests and demos)."""

    # ---- persistence ------------------------------------------------------------------

    def save(self) -> None:
        if self.state_dir is None:
            return
        documents = {
            sid: [{**doc, "content": base64.b64encode(doc["content"]).decode()} for doc in docs]
            for sid, docs in self.documents.items()
        }
        data = {
            "sendings": self.sendings,
            "documents": documents,
            "recipients": self.recipients,
            "subscriptions": self.subscriptions,
            "progress": self.progress,
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        target = self.state_dir / STATE_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(target)

    def load(self) -> None:
        if self.state_dir is None or not (self.state_dir / STATE_FILE).exists():
            return
        data = json.loads((self.state_dir / STATE_FILE).read_text(encoding="utf-8"))
        self.sendings = data["sendings"]
        self.recipients = data["recipients"]
        self.progress = data["progress"]
        self.subscriptions = data.get("subscriptions", {})
        self.documents = {
            sid: [{**doc, "content": base64.b64decode(doc["content"])} for doc in docs]
            for sid, docs in data["documents"].items()
        }


class RegisteredMailSandbox:
    """The sandbox's two applications (API host, authentication host) and its background
    work (timers, notifications)."""

    def __init__(self, state: SandboxState, event_hooks: EventHooks | None = None) -> None:
        self.state = state
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._event_hooks = event_hooks or {}
        self.app = self._build_app()
        self.auth_app = self._build_auth_app()

    # ---- applications -----------------------------------------------------------------

    def _build_auth_app(self) -> FastAPI:
        app = FastAPI(title="registered-mail sandbox: authentication (Maileva connexion)")
        app.add_api_route(TOKEN_PATH, self.token, methods=["POST"])
        return app

    def _build_app(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            self._http = httpx.AsyncClient(timeout=10, event_hooks=self._event_hooks)
            for sending_id, progress in self.state.progress.items():
                if progress["stage"] < 4:
                    self._spawn(self._advance(sending_id))
            try:
                yield
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                await self._http.aclose()

        app = FastAPI(title="registered-mail sandbox (Maileva API)", lifespan=lifespan)
        api = APIRouter(prefix=API_PATH)
        api.add_api_route("/sendings", self.create_sending, methods=["POST"])
        api.add_api_route("/sendings", self.list_sendings, methods=["GET"])
        api.add_api_route("/sendings/{sending_id}", self.get_sending, methods=["GET"])
        api.add_api_route("/sendings/{sending_id}", self.delete_sending, methods=["DELETE"])
        api.add_api_route("/sendings/{sending_id}/submit", self.submit, methods=["POST"])
        api.add_api_route("/sendings/{sending_id}/documents", self.add_document, methods=["POST"])
        api.add_api_route("/sendings/{sending_id}/documents", self.list_documents, methods=["GET"])
        api.add_api_route("/sendings/{sending_id}/recipients", self.add_recipient, methods=["POST"])
        api.add_api_route(
            "/sendings/{sending_id}/recipients", self.list_recipients, methods=["GET"]
        )
        api.add_api_route(
            "/sendings/{sending_id}/recipients/{recipient_id}",
            self.get_recipient,
            methods=["GET"],
        )
        api.add_api_route(
            "/sendings/{sending_id}/recipients/{recipient_id}/{operation}",
            self.download,
            methods=["GET"],
        )
        app.include_router(api)
        center = APIRouter(prefix=NOTIFICATION_PATH)
        center.add_api_route("/subscriptions", self.create_subscription, methods=["POST"])
        center.add_api_route("/subscriptions", self.list_subscriptions, methods=["GET"])
        center.add_api_route(
            "/subscriptions/{subscription_id}", self.get_subscription, methods=["GET"]
        )
        center.add_api_route(
            "/subscriptions/{subscription_id}", self.patch_subscription, methods=["PATCH"]
        )
        center.add_api_route(
            "/subscriptions/{subscription_id}", self.delete_subscription, methods=["DELETE"]
        )
        center.add_api_route("/notifications", self.list_notifications, methods=["GET"])
        center.add_api_route(
            "/notifications/{notification_id}", self.get_notification, methods=["GET"]
        )
        app.include_router(center)
        app.add_api_route("/_sandbox/notifications", self.notifications, methods=["GET"])
        return app

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- authentication ---------------------------------------------------------------

    async def token(self, request: Request) -> JSONResponse:
        """Password grant; the client's credentials in the form (as the authentication
        document lists them) or by HTTP Basic."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(header[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
        expected = self.state.credentials
        if "grant_type" not in form:
            return JSONResponse(
                {"errors": [{"code": "invalid_request", "message": "grant_type is missing"}]},
                status_code=400,
            )
        if (client_id, client_secret) != (expected.client_id, expected.client_secret):
            return JSONResponse(
                {"errors": [{"code": "invalid_client", "message": "Invalid client credentials"}]},
                status_code=401,
            )
        if form.get("grant_type") != "password" or (
            form.get("username"),
            form.get("password"),
        ) != (expected.username, expected.password):
            return JSONResponse(
                {"errors": [{"code": "invalid_grant", "message": "Invalid user credentials"}]},
                status_code=401,
            )
        token = secrets.token_urlsafe(32)
        self.state.tokens[token] = time.time() + TOKEN_LIFETIME_S
        return JSONResponse(
            {"access_token": token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"}
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return False
        expires = self.state.tokens.get(header[7:].strip())
        return expires is not None and expires > time.time()

    def _denied(self) -> JSONResponse:
        return _error(401, "UNAUTHORIZED", "missing, unknown or expired access token")

    # ---- sendings ---------------------------------------------------------------------

    def _sending_view(self, sending_id: str) -> dict[str, Any]:
        sending = dict(self.state.sendings[sending_id])
        recipients = self.state.recipients.get(sending_id, [])
        counts: dict[str, int] = {"total": len(recipients)}
        for recipient in recipients:
            key = str(recipient["status"]).lower()
            counts[key] = counts.get(key, 0) + 1
        documents = self.state.documents.get(sending_id, [])
        sending["documents_count"] = len(documents)
        sending["documents_weight"] = sum(doc["size"] for doc in documents)
        sending["recipients_counts"] = counts
        return sending

    async def create_sending(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        name = str(body.get("name") or "").strip()
        if not name:
            return _error(400, "EMPTY_NAME", "Aucun nom d'envoi n'a été transmis")
        if len(name) > 256:
            return _error(400, "NAME_TOO_LONG", "Le nom de l'envoi est trop long")
        if len(str(body.get("custom_id") or "")) > SENDING_CUSTOM_ID_MAX:
            return _error(400, "CUSTOM_ID_WRONG_FORMAT", "Le custom id n'est pas au bon format")
        for number in range(1, 7):
            line = str(body.get(f"sender_address_line_{number}") or "")
            if len(line) > MAX_LINE:
                return _error(
                    400,
                    f"SENDER_ADDRESS_LINE_{number}_TOO_LONG",
                    f"La ligne d'adresse n°{number} de l'expéditeur dépasse 38 caractères",
                )
        sender_country = body.get("sender_country_code")
        if sender_country is not None and sender_country not in COUNTRIES:
            return _error(400, "INVALID_COUNTRY_CODE", "Le code pays n'est pas autorisé")
        if int(body.get("archiving_duration", 3)) not in (3, 6, 10):
            return _error(400, "INVALID_ARCHIVING_DURATION", "Durées autorisées : 3, 6, 10")
        sending_id = str(uuid.uuid4())
        sending: dict[str, Any] = {
            "id": sending_id,
            "name": name,
            "status": "DRAFT",
            "statuses": [{"code": "DRAFT", "date": _iso()}],
            "creation_date": _iso(),
            "acknowledgement_of_receipt": bool(body.get("acknowledgement_of_receipt", True)),
            "color_printing": bool(body.get("color_printing", True)),
            "duplex_printing": bool(body.get("duplex_printing", True)),
            "optional_address_sheet": bool(body.get("optional_address_sheet", False)),
            "print_sender_address": bool(body.get("print_sender_address", False)),
            "returned_mail_scanning": bool(body.get("returned_mail_scanning", False)),
            "archiving_duration": int(body.get("archiving_duration", 3)),
            "postage_type": str(body.get("postage_type", "FAST")),
            "reference": "S" + secrets.token_hex(5).upper(),
        }
        for optional in ("custom_id", "custom_data", "sender_country_code"):
            if body.get(optional) is not None:
                sending[optional] = str(body[optional])
        for number in range(1, 7):
            sender_line = body.get(f"sender_address_line_{number}")
            if sender_line:
                sending[f"sender_address_line_{number}"] = sender_line
        self.state.sendings[sending_id] = sending
        self.state.documents[sending_id] = []
        self.state.recipients[sending_id] = []
        self.state.save()
        return JSONResponse(
            self._sending_view(sending_id),
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}"},
        )

    async def list_sendings(self, request: Request) -> Response:
        """get-all-sendings: ``start_index`` and ``count`` only, in no documented order (here,
        by id: a client must not rely on any order)."""
        if not self._authorized(request):
            return self._denied()
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1, 1 <= count <= 500")
        ordered = sorted(self.state.sendings.values(), key=lambda s: str(s["id"]))
        page = _paged(ordered, *paging)
        return JSONResponse(
            {
                "sendings": [self._sending_view(s["id"]) for s in page],
                "paging": {"total_results": len(ordered)},
            }
        )

    async def get_sending(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        if sending_id not in self.state.sendings:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        return JSONResponse(self._sending_view(sending_id))

    async def delete_sending(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        sending = self.state.sendings.get(sending_id)
        if sending is None:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        if sending["status"] != "DRAFT":
            return _error(400, "SENDING_STATUS_IS_NOT_DRAFT", "L'envoi n'est pas au statut DRAFT")
        del self.state.sendings[sending_id]
        self.state.documents.pop(sending_id, None)
        self.state.recipients.pop(sending_id, None)
        self.state.save()
        return Response(status_code=204)

    def _draft(self, sending_id: str) -> JSONResponse | None:
        sending = self.state.sendings.get(sending_id)
        if sending is None:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        if sending["status"] != "DRAFT":
            return _error(400, "SENDING_STATUS_IS_NOT_DRAFT", "L'envoi n'est pas au statut DRAFT")
        return None

    # ---- documents --------------------------------------------------------------------

    async def add_document(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        refused = self._draft(sending_id)
        if refused is not None:
            return refused
        parts = _multipart(request.headers.get("content-type", ""), await request.body())
        document = parts.get("document")
        if document is None or not document[1]:
            return _error(400, "EMPTY_DOCUMENT", "Le document est vide")
        filename, content = document
        if not content.startswith(b"%PDF") and not filename.lower().endswith(
            (".pdf", ".doc", ".docx", ".rtf", ".txt", ".xls", ".xlsx")
        ):
            return _error(
                400, "DOCUMENT_TYPE_NOT_ACCEPTED", "Le type de document n'est pas accepté"
            )
        if len(content) > 20 * 1024 * 1024:
            return _error(400, "INVALID_DOCUMENT_SIZE", "Le document dépasse 20 Mo")
        metadata: dict[str, Any] = {}
        if "metadata" in parts:
            try:
                metadata = json.loads(parts["metadata"][1] or b"{}")
            except ValueError:
                metadata = {"invalid": True}
            if not isinstance(metadata, dict) or metadata.get("invalid"):
                return _error(400, "METADATA_WRONG_FORMAT", "Le paramètre metadata est incorrect")
        documents = self.state.documents[sending_id]
        if len(documents) >= 30:
            return _error(400, "INVALID_DOCUMENTS_COUNT", "30 documents au plus par envoi")
        priority = int(metadata.get("priority", len(documents) + 1))
        if priority < 1:
            return _error(400, "INVALID_PRIORITY", "priority doit être supérieure ou égale à 1")
        if any(doc["priority"] == priority for doc in documents):
            return _error(400, "DUPLICATE_PRIORITY", "Plusieurs documents ont la même priorité")
        entry = {
            "id": str(uuid.uuid4()),
            "priority": priority,
            "name": str(metadata.get("name") or filename or "document.pdf"),
            "type": "application/pdf" if content.startswith(b"%PDF") else "application/octet",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "content": content,
        }
        documents.append(entry)
        self.state.save()
        return JSONResponse(
            _public(entry),
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}/documents/{entry['id']}"},
        )

    async def list_documents(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        if sending_id not in self.state.sendings:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        paging = _page(request, default_count=30, maximum=30)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1, 1 <= count <= 30")
        documents = [_public(doc) for doc in self.state.documents[sending_id]]
        return JSONResponse(
            {"documents": _paged(documents, *paging), "paging": {"total_results": len(documents)}}
        )

    # ---- recipients -------------------------------------------------------------------

    async def add_recipient(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        refused = self._draft(sending_id)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "UNEXPECTED_NOT_VALID_ERROR", "the body is not JSON")
        problem = _address_problem(body)
        if problem is not None:
            return _error(400, *problem)
        recipient: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "country_code": body["country_code"],
            "status": "DRAFT",
            "statuses": [{"code": "DRAFT", "date": _iso()}],
            "delivery_statuses": [],
            "main_delivery_statuses": [],
        }
        for optional in ("custom_id", "custom_data"):
            if body.get(optional) is not None:
                recipient[optional] = str(body[optional])
        for number in range(1, 7):
            if body.get(f"address_line_{number}"):
                recipient[f"address_line_{number}"] = body[f"address_line_{number}"]
        self.state.recipients[sending_id].append(recipient)
        self.state.save()
        return JSONResponse(
            recipient,
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}/recipients/{recipient['id']}"},
        )

    async def list_recipients(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        if sending_id not in self.state.sendings:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1, 1 <= count <= 500")
        recipients = self.state.recipients[sending_id]
        return JSONResponse(
            {
                "recipients": _paged(recipients, *paging),
                "paging": {"total_results": len(recipients)},
            }
        )

    def _recipient(self, sending_id: str, recipient_id: str) -> dict[str, Any] | None:
        for recipient in self.state.recipients.get(sending_id, []):
            if recipient["id"] == recipient_id:
                return recipient
        return None

    async def get_recipient(self, request: Request, sending_id: str, recipient_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        recipient = self._recipient(sending_id, recipient_id)
        if recipient is None:
            return _error(404, "RECIPIENT_NOT_FOUND", "Ressource RECIPIENT introuvable")
        return JSONResponse(recipient)

    # ---- proofs -----------------------------------------------------------------------

    async def download(
        self, request: Request, sending_id: str, recipient_id: str, operation: str
    ) -> Response:
        """The four documented downloads, each once its ``*_url`` field is set."""
        if not self._authorized(request):
            return self._denied()
        proofs: dict[str, tuple[str, str, str]] = {
            "download_deposit_proof": (
                "deposit_proof_url",
                "DEPOSIT_PROOF_NOT_FOUND",
                "La preuve de dépôt n'est pas disponible",
            ),
            "download_content_proof": (
                "content_proof_url",
                "CONTENT_PROOF_NOT_FOUND",
                "La preuve de contenu n'est pas disponible",
            ),
            "download_acknowledgement_of_receipt": (
                "acknowledgement_of_receipt_url",
                "ACKNOWLEDGEMENT_OF_RECEIPT_NOT_FOUND",
                "L'avis de réception n'est pas disponible",
            ),
            "download_undelivered_mail": (
                "undelivered_mail_url",
                "UNDELIVERED_MAIL_NOT_FOUND",
                "L'image du pli retourné n'est pas disponible",
            ),
        }
        if operation not in proofs:
            return _error(404, "NOT_FOUND", "Ressource introuvable")
        url_field, code, message = proofs[operation]
        recipient = self._recipient(sending_id, recipient_id)
        if recipient is None:
            return _error(404, "RECIPIENT_NOT_FOUND", "Ressource RECIPIENT introuvable")
        if not recipient.get(url_field):
            return _error(404, code, message)
        sending = self.state.sendings[sending_id]
        document_sha256 = self.state.documents[sending_id][0]["sha256"]
        if operation == "download_deposit_proof":
            pdf = deposit_proof_pdf(sending, recipient, document_sha256)
        elif operation == "download_content_proof":
            pdf = content_proof_pdf(sending, recipient, document_sha256)
        elif operation == "download_acknowledgement_of_receipt":
            pdf = acknowledgement_pdf(sending, recipient)
        else:
            pdf = undelivered_mail_pdf(sending, recipient)
        return Response(pdf, media_type="application/pdf")

    async def notifications(self) -> JSONResponse:
        """Not part of Maileva's API: what the sandbox notified, for tests and demos."""
        return JSONResponse({"notifications": self.state.notifications})

    # ---- notification_center: subscriptions and notifications ---------------------------

    def subscribe(
        self,
        event_type: str,
        resource_type: str,
        callback_url: str,
        authentication: dict[str, Any] | None,
    ) -> dict[str, Any]:
        subscription: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "resource_type": resource_type,
            "callback_url": callback_url,
        }
        if authentication:
            subscription["authentication"] = authentication
        self.state.subscriptions[subscription["id"]] = subscription
        self.state.save()
        return subscription

    async def create_subscription(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        if body.get("event_type") not in EVENT_TYPES:
            return _error(400, "INVALID_EVENT_TYPE", "Type d'évènement inconnu")
        if body.get("resource_type") not in RESOURCE_TYPES:
            return _error(400, "INVALID_RESOURCE_TYPE", "Type de ressource inconnu")
        if not str(body.get("callback_url") or "").startswith(("http://", "https://")):
            return _error(400, "INVALID_CALLBACK_URL", "URL de callback invalide")
        authentication = body.get("authentication")
        if authentication is not None and not isinstance(authentication, dict):
            return _error(400, "INVALID_AUTHENTICATION", "authentication doit être un objet")
        subscription = self.subscribe(
            body["event_type"], body["resource_type"], body["callback_url"], authentication
        )
        return JSONResponse(
            subscription,
            status_code=201,
            headers={"Location": f"{NOTIFICATION_PATH}/subscriptions/{subscription['id']}"},
        )

    async def list_subscriptions(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1, 1 <= count <= 500")
        subscriptions = list(self.state.subscriptions.values())
        return JSONResponse(
            {
                "subscriptions": _paged(subscriptions, *paging),
                "paging": {"total_results": len(subscriptions)},
            }
        )

    async def get_subscription(self, request: Request, subscription_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        found = self.state.subscriptions.get(subscription_id)
        if found is None:
            return _error(404, "SUBSCRIPTION_NOT_FOUND", "Ressource SUBSCRIPTION introuvable")
        return JSONResponse(found)

    async def patch_subscription(self, request: Request, subscription_id: str) -> Response:
        """subscription_modification (``callback_url``, ``authentication``), merge-patch."""
        if not self._authorized(request):
            return self._denied()
        found = self.state.subscriptions.get(subscription_id)
        if found is None:
            return _error(404, "SUBSCRIPTION_NOT_FOUND", "Ressource SUBSCRIPTION introuvable")
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        for key in ("callback_url", "authentication"):
            if key in body:
                if body[key] is None:
                    found.pop(key, None)
                else:
                    found[key] = body[key]
        self.state.save()
        return JSONResponse(
            found, headers={"Location": f"{NOTIFICATION_PATH}/subscriptions/{subscription_id}"}
        )

    async def delete_subscription(self, request: Request, subscription_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        if self.state.subscriptions.pop(subscription_id, None) is None:
            return _error(404, "SUBSCRIPTION_NOT_FOUND", "Ressource SUBSCRIPTION introuvable")
        self.state.save()
        return Response(status_code=204)

    @staticmethod
    def _notification_view(record: dict[str, Any]) -> dict[str, Any]:
        attempts = record["attempts"]
        body = record["body"]
        view: dict[str, Any] = {
            "id": record["id"],
            "subscription_id": record["subscription_id"],
            "status": "SENT"
            if record["delivered"]
            else ("MAX_RETRY" if record.get("abandoned") else "PENDING"),
            "attempt_count": len(attempts),
            "resource_type": body["resource_type"],
            "resource_id": body["resource_id"],
        }
        if attempts:
            view["first_attempt_date"] = attempts[0]["at"]
            view["last_attempt_date"] = attempts[-1]["at"]
            if isinstance(attempts[-1]["result"], int):
                view["last_response_code"] = attempts[-1]["result"]
        for optional in ("resource_custom_id", "resource_custom_data"):
            if body.get(optional) is not None:
                view[optional] = body[optional]
        return view

    async def list_notifications(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1, 1 <= count <= 500")
        views = [self._notification_view(r) for r in self.state.notifications]
        return JSONResponse(
            {"notifications": _paged(views, *paging), "paging": {"total_results": len(views)}}
        )

    async def get_notification(self, request: Request, notification_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        for record in self.state.notifications:
            if record["id"] == notification_id:
                return JSONResponse(self._notification_view(record))
        return _error(404, "NOTIFICATION_NOT_FOUND", "Ressource NOTIFICATION introuvable")

    # ---- submission and the letter's life ---------------------------------------------

    async def submit(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        refused = self._draft(sending_id)
        if refused is not None:
            return refused
        if not self.state.documents[sending_id]:
            return _error(400, "EMPTY_DOCUMENT", "L'envoi ne contient aucun document")
        recipients = self.state.recipients[sending_id]
        if not recipients:
            return _error(400, "INVALID_RECIPIENTS_COUNT", "L'envoi n'a aucun destinataire")
        sending = self.state.sendings[sending_id]
        now = time.time()
        sending["submission_date"] = _iso(now)
        self._set_status(sending, "PENDING")
        for recipient in recipients:
            self._set_status(recipient, "PENDING")
        rule = self.state.schedule.outcome_for or outcome_by_name
        self.state.progress[sending_id] = {
            "submitted": now,
            "stage": 0,
            "outcome": rule(recipients[0]),
        }
        self.state.save()
        self._spawn(self._advance(sending_id))
        return Response(status_code=200)

    @staticmethod
    def _set_status(resource: dict[str, Any], status: str, detail: str = "") -> None:
        resource["status"] = status
        entry = {"code": status, "date": _iso()}
        if detail:
            resource["status_detail"] = detail
            entry["details"] = detail
        resource.setdefault("statuses", []).append(entry)

    async def _advance(self, sending_id: str) -> None:
        """Walk the sending through the remaining steps of its schedule."""
        schedule = self.state.schedule
        offsets = [
            schedule.accept_after,
            schedule.deposit_after,
            schedule.present_after,
            schedule.outcome_after,
        ]
        steps = [self._accept, self._deposit, self._present, self._conclude]
        progress = self.state.progress[sending_id]
        while progress["stage"] < len(steps):
            stage = progress["stage"]
            wait = progress["submitted"] + offsets[stage] - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if sending_id not in self.state.sendings:
                return
            go_on = steps[stage](sending_id)
            progress["stage"] = stage + 1 if go_on else len(steps)
            self.state.save()

    def _delivery(self, recipient: dict[str, Any], category: str, code: str, label: str) -> None:
        event = {
            "date": _iso(),
            "category": category,
            "location": "PLATEFORME SANDBOX",
            "code": code,
            "label": label,
            "source": "La Poste",
            "creation_date": _iso(),
        }
        recipient["delivery_statuses"].append({k: v for k, v in event.items() if k != "category"})
        recipient["main_delivery_statuses"].append(event)
        recipient["last_main_delivery_status"] = event
        recipient["last_delivery_status"] = code
        recipient["last_delivery_status_date"] = event["date"]

    def _accept(self, sending_id: str) -> bool:
        sending = self.state.sendings[sending_id]
        outcome = self.state.progress[sending_id]["outcome"]
        recipients = self.state.recipients[sending_id]
        if outcome == "rejected":
            self._set_status(sending, "REJECTED", "Document non conforme (bac à sable)")
            for recipient in recipients:
                self._set_status(recipient, "SENDING_REJECTED")
            self._notify("ON_STATUS_REJECTED", SENDINGS_RESOURCE, sending)
            return False
        if outcome == "blocked":  # no notification is documented for BLOCKED
            self._set_status(sending, "BLOCKED", "En attente d'autorisation financière")
            for recipient in recipients:
                self._set_status(recipient, "BLOCKED")
            return False
        self._set_status(sending, "ACCEPTED")
        for recipient in recipients:
            self._set_status(recipient, "ACCEPTED")
        self._notify("ON_STATUS_ACCEPTED", SENDINGS_RESOURCE, sending)
        return True

    def _deposit(self, sending_id: str) -> bool:
        sending = self.state.sendings[sending_id]
        sending["processed_date"] = _iso()
        if self.state.progress[sending_id]["outcome"] == "processed_with_errors":
            for recipient in self.state.recipients[sending_id]:
                self._set_status(recipient, "REJECTED", "Adresse non distribuable (bac à sable)")
            self._set_status(sending, "PROCESSED_WITH_ERRORS")
            self._notify("ON_STATUS_PROCESSED_WITH_ERRORS", SENDINGS_RESOURCE, sending)
            return False
        self._set_status(sending, "PROCESSED")
        self._notify("ON_STATUS_PROCESSED", SENDINGS_RESOURCE, sending)
        for recipient in self.state.recipients[sending_id]:
            self._set_status(recipient, "PROCESSED")
            base = f"/sendings/{sending_id}/recipients/{recipient['id']}"
            recipient["registered_number"] = "1A" + str(int(time.time() * 1000))[-11:]
            recipient["postage_class"] = "REGISTERED_MAIL_J3_AR"
            recipient["deposit_proof_date"] = _iso()
            recipient["deposit_proof_url"] = base + "/download_deposit_proof"
            self._delivery(recipient, "DELIVERING", "LP01", "Pris en charge")
            self._notify("ON_DEPOSIT_PROOF_RECEIVED", RECIPIENTS_RESOURCE, recipient, sending)
            recipient["content_proof_date"] = _iso()
            recipient["content_proof_url"] = base + "/download_content_proof"
            self._notify("ON_CONTENT_PROOF_RECEIVED", RECIPIENTS_RESOURCE, recipient, sending)
        return True

    def _present(self, sending_id: str) -> bool:
        outcome = self.state.progress[sending_id]["outcome"]
        if outcome == "wrong_address":
            return True  # never presented: returned as undeliverable
        sending = self.state.sendings[sending_id]
        for recipient in self.state.recipients[sending_id]:
            self._delivery(recipient, "FIRST_PRESENTATION", "LP09", "Destinataire absent avisé")
            self._notify(
                "ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION",
                RECIPIENTS_RESOURCE,
                recipient,
                sending,
            )
        return True

    def _conclude(self, sending_id: str) -> bool:
        outcome = self.state.progress[sending_id]["outcome"]
        sending = self.state.sendings[sending_id]
        for recipient in self.state.recipients[sending_id]:
            base = f"/sendings/{sending_id}/recipients/{recipient['id']}"
            if outcome == "delivered":
                self._delivery(recipient, "DELIVERED", "LP15", "Distribué")
                recipient["acknowledgement_of_receipt_date"] = _iso()
                recipient["acknowledgement_of_receipt_url"] = (
                    base + "/download_acknowledgement_of_receipt"
                )
                self._notify(
                    "ON_MAIN_DELIVERY_STATUS_DELIVERED", RECIPIENTS_RESOURCE, recipient, sending
                )
                self._notify(
                    "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED",
                    RECIPIENTS_RESOURCE,
                    recipient,
                    sending,
                )
                continue
            code, label, reason = {
                "not_collected": ("LP19", "Retour: délai d'instance expiré", "N03"),
                "refused": ("LP22", "Retour: pli refusé", "N05"),
            }.get(outcome, ("LP20", "Retour: adresse incorrecte/incomplète", "N07"))
            self._delivery(recipient, "UNDELIVERED", code, label)
            recipient["undelivered_mail_reason"] = reason
            recipient["undelivered_mail_date"] = _iso()
            self._notify(
                "ON_MAIN_DELIVERY_STATUS_UNDELIVERED", RECIPIENTS_RESOURCE, recipient, sending
            )
            if sending.get("returned_mail_scanning"):
                recipient["undelivered_mail_archive_date"] = _iso()
                recipient["undelivered_mail_url"] = base + "/download_undelivered_mail"
                self._notify(
                    "ON_UNDELIVERED_MAIL_RECEIVED", RECIPIENTS_RESOURCE, recipient, sending
                )
        return True

    # ---- notifications ----------------------------------------------------------------

    def _notify(
        self,
        event_type: str,
        resource_type: str,
        resource: dict[str, Any],
        sending: dict[str, Any] | None = None,
    ) -> None:
        """notification_content_creation, to every subscription of (event, resource type)."""
        location = f"{self.state.base_url}{API_PATH}/sendings/"
        if sending is None:
            location += resource["id"]
        else:
            location += f"{sending['id']}/recipients/{resource['id']}"
        body: dict[str, Any] = {
            "source": "sandbox.recouvre.local",
            "user_id": self.state.credentials.username,
            "client_id": self.state.credentials.client_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "event_date": _iso(),
            "event_location": "FR",
            "resource_id": resource["id"],
            "resource_location": location,
        }
        for source, target in (
            ("custom_id", "resource_custom_id"),
            ("custom_data", "resource_custom_data"),
        ):
            if resource.get(source) is not None:
                body[target] = resource[source]
        for subscription in list(self.state.subscriptions.values()):
            if (subscription["event_type"], subscription["resource_type"]) != (
                event_type,
                resource_type,
            ):
                continue
            record: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "subscription_id": subscription["id"],
                "callback_url": subscription["callback_url"],
                "body": body,
                "attempts": [],
                "delivered": False,
            }
            self.state.notifications.append(record)
            self._spawn(self._deliver(record, dict(subscription)))

    async def _authorization(self, authentication: dict[str, Any]) -> str | None:
        """The Authorization header the subscription's ``authentication`` asks for."""
        basic = authentication.get("basic")
        if isinstance(basic, dict):
            pair = f"{basic.get('login', '')}:{basic.get('password', '')}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        oauth2 = authentication.get("oauth2")
        if isinstance(oauth2, dict) and oauth2.get("oauth2_server"):
            assert self._http is not None
            answer = await self._http.post(
                str(oauth2["oauth2_server"]),
                data={
                    "grant_type": "client_credentials",
                    "client_id": str(oauth2.get("client_id", "")),
                    "client_secret": str(oauth2.get("client_secret", "")),
                },
            )
            answer.raise_for_status()
            return "Bearer " + str(answer.json()["access_token"])
        return None

    async def _deliver(self, record: dict[str, Any], subscription: dict[str, Any]) -> None:
        assert self._http is not None
        raw = json.dumps(record["body"], ensure_ascii=False).encode()
        delay = self.state.schedule.webhook_backoff
        for attempt in range(1, self.state.schedule.webhook_attempts + 1):
            headers = {"Content-Type": "application/json"}
            outcome: Any
            try:
                authorization = await self._authorization(subscription.get("authentication") or {})
                if authorization:
                    headers["Authorization"] = authorization
                response = await self._http.post(
                    subscription["callback_url"], content=raw, headers=headers
                )
                outcome = response.status_code
            except httpx.HTTPError as err:
                outcome = f"{type(err).__name__}: {err}"
            record["attempts"].append({"at": _iso(), "result": outcome})
            if outcome == 201:
                record["delivered"] = True
                return
            log.info("notification %s attempt %d: %s", record["id"], attempt, outcome)
            await asyncio.sleep(delay)
            delay *= 2
        record["abandoned"] = True
        log.warning("notification %s abandoned", record["id"])


def _public(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("content", "sha256")}


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """{field: (filename, bytes)} from a multipart/form-data body (no extra dependency)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(_class=EmailMessage, policy=HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str, bytes]] = {}
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        filename = part.get_filename() or ""
        fields[name] = (filename, payload if isinstance(payload, bytes) else b"")
    return fields


async def _json_object(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object body, or the provider's 400 for anything else (merge-patch
    bodies too: they are read as plain JSON whatever their media type)."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _error(400, "UNEXPECTED_NOT_VALID_ERROR", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "UNEXPECTED_NOT_VALID_ERROR", "the body is not an object")
    return body


_POSTAL = re.compile(r"^\d{5} \S.*$")


def _address_problem(body: Any) -> tuple[str, str] | None:
    """create-recipient-of-sending's rules: six lines of at most 38 characters, line 1 or 2,
    line 6, '<5 digits> <city>' in France, an allowed country, custom_id of at most 36."""
    if not isinstance(body, dict):
        return "UNEXPECTED_NOT_VALID_ERROR", "the body is not an object"
    if len(str(body.get("custom_id") or "")) > RECIPIENT_CUSTOM_ID_MAX:
        return "CUSTOM_ID_WRONG_FORMAT", "Le custom id n'est pas au bon format"
    for number in range(1, 7):
        line = str(body.get(f"address_line_{number}") or "")
        if len(line) > MAX_LINE:
            return (
                f"ADDRESS_LINE_{number}_TOO_LONG",
                f"La ligne d'adresse n°{number} est limitée à 38 caractères",
            )
    if not body.get("address_line_1") and not body.get("address_line_2"):
        return (
            "ADDRESS_LINE_1_OR_ADDRESS_LINE_2_MANDATORY",
            "La ligne d'adresse n°1 ou la ligne d'adresse n°2 doit être renseignée",
        )
    if not body.get("address_line_6"):
        return "EMPTY_ADDRESS_LINE_6", "La ligne d'adresse n°6 doit être renseignée"
    country = str(body.get("country_code") or "")
    if not country:
        return "COUNTRY_CODE_EMPTY", "Le code pays est vide"
    if len(country) > 2:
        return "COUNTRY_CODE_TOO_LONG", "Le code pays est limité à 2 caractères"
    if country not in COUNTRIES:
        return "INVALID_COUNTRY_CODE", "Le code pays n'est pas autorisé"
    if country == "FR" and not _POSTAL.match(str(body["address_line_6"])):
        return (
            "INVALID_ADDRESS_LINE_6",
            "Le champ address_line_6 doit avoir le format [CODE_POSTAL] [VILLE]",
        )
    return None


# ---- running it ---------------------------------------------------------------------------


@dataclass
class SandboxHandle:
    """A running sandbox: ``url`` is its API host, ``auth_url`` its token endpoint (on a port
    of its own); ``stop()`` ends both (idempotent)."""

    url: str
    auth_url: str
    credentials: SandboxCredentials
    secret: str
    webhook_login: str
    sandbox: RegisteredMailSandbox
    _servers: tuple[uvicorn.Server, ...]
    _thread: threading.Thread

    def settings(self) -> RegisteredMailSettings:
        """Client settings pointing at this sandbox."""
        c = self.credentials
        return RegisteredMailSettings(
            REGISTERED_MAIL_PROVIDER_URL=self.url,
            REGISTERED_MAIL_AUTH_URL=self.auth_url,
            REGISTERED_MAIL_CLIENT_ID=c.client_id,
            REGISTERED_MAIL_CLIENT_SECRET=c.client_secret,
            REGISTERED_MAIL_USERNAME=c.username,
            REGISTERED_MAIL_PASSWORD=c.password,
            REGISTERED_MAIL_WEBHOOK_LOGIN=self.webhook_login,
            REGISTERED_MAIL_WEBHOOK_SECRET=self.secret,
        )

    def set_webhook_url(self, url: str | None) -> None:
        """Replace the account's subscriptions by recouvre's, to ``url`` (none: no
        subscription), with this handle's Basic credentials."""
        state = self.sandbox.state
        state.subscriptions.clear()
        if url:
            presubscribe(self.sandbox, url, self.webhook_login, self.secret)
        state.save()

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout=10)


def presubscribe(sandbox: RegisteredMailSandbox, url: str, login: str, password: str) -> None:
    """The subscriptions ``ensure_subscriptions`` would make, made directly."""
    wanted = wanted_subscriptions(RegisteredMailSettings(REGISTERED_MAIL_API_PATH=API_PATH))
    authentication = {"basic": {"login": login, "password": password}}
    for event, resource, _ in wanted:
        sandbox.subscribe(event, resource, url, authentication)


def start_sandbox_registered_mail(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    secret: str = "",
    schedule: SandboxSchedule | None = None,
    *,
    credentials: SandboxCredentials | None = None,
    state_dir: Path | None = None,
    auth_port: int = 0,
    webhook_login: str = DEFAULT_WEBHOOK_LOGIN,
    event_hooks: EventHooks | None = None,
    startup_timeout_s: float = 10.0,
) -> SandboxHandle:
    """Start the sandbox's API host on ``port`` and its authentication host on ``auth_port``
    (0: a free port each) under uvicorn in a daemon thread (one event loop for both); return
    once both accept connections. ``webhook_url`` (with ``secret``, the Basic password of
    ``webhook_login``) replaces the account's subscriptions by recouvre's callback.
    ``event_hooks`` are given to the httpx client the callbacks go out with (to record them,
    as tests/contracts does)."""
    state = SandboxState(
        credentials=credentials or SandboxCredentials(),
        schedule=schedule or SandboxSchedule(),
        state_dir=state_dir,
    )
    state.load()
    sandbox = RegisteredMailSandbox(state, event_hooks)
    if webhook_url:
        state.subscriptions.clear()
        presubscribe(sandbox, webhook_url, webhook_login, secret)
    servers = (
        uvicorn.Server(
            uvicorn.Config(sandbox.app, host=host, port=port, log_level="warning", lifespan="on")
        ),
        uvicorn.Server(
            uvicorn.Config(
                sandbox.auth_app, host=host, port=auth_port, log_level="warning", lifespan="off"
            )
        ),
    )

    async def serve_both() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    thread = threading.Thread(
        target=lambda: asyncio.run(serve_both()), name="registered-mail-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not all(server.started for server in servers):
        if not thread.is_alive() or time.monotonic() > deadline:
            for server in servers:
                server.should_exit = True
            raise RuntimeError(f"the registered-mail sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    api_port = servers[0].servers[0].sockets[0].getsockname()[1]
    bound_auth = servers[1].servers[0].sockets[0].getsockname()[1]
    state.base_url = f"http://{host}:{api_port}"
    state.auth_url = f"http://{host}:{bound_auth}{TOKEN_PATH}"
    return SandboxHandle(
        state.base_url,
        state.auth_url,
        state.credentials,
        secret,
        webhook_login,
        sandbox,
        servers,
        thread,
    )
