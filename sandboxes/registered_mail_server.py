"""A local stand-in for Maileva's registered-mail API, for tests, demos and `recouvre run`.

It speaks the same HTTP API as ``activities.registered_mail.maileva_client`` (same paths,
fields, OAuth2 password grant and Bearer tokens, same error bodies), keeps its sendings in
memory (and, given a folder, in a JSON file there, so a restart resumes them), and moves
each submitted letter along a schedule measured in seconds from its submission:

    ACCEPTED  -> deposited (PROCESSED, deposit proof, LP01)
              -> first presentation (FIRST_PRESENTATION, LP09 "destinataire absent avisé")
              -> the outcome

The outcome follows the recipient's name (address lines 1-2), by its last word:
``... REFUSE`` -> refused (LP22), ``... ABSENT`` -> not collected (LP19), ``... NPAI`` ->
wrong address (LP20, never presented), anything else -> delivered (LP15, with a signed
acknowledgement of receipt). ``SandboxSchedule.outcome_for`` can replace the rule.

Every step is announced to the configured webhook like Maileva's notification_center
(``event_type``, ``resource_type``, ``resource_id``...), plus an ``id`` per notification,
signed with HMAC-SHA256 (activities/registered_mail/signature.py) and retried with
exponential backoff until the receiver answers 201, as Maileva requires.

`start_sandbox_registered_mail` runs it under uvicorn in a thread of its own (with its own
event loop), so synchronous code, pytest's event loop and `recouvre run` can all use it.
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

from activities.registered_mail.settings import TOKEN_PATH, RegisteredMailSettings
from inbound.signatures import sign_mail_notification
from sandboxes.registered_mail_proofs import acknowledgement_pdf, deposit_proof_pdf

log = logging.getLogger("recouvre.sandbox.registered_mail")

API_PATH = "/registered_mail/v4"
SENDINGS_RESOURCE = "registered_mail/v4/sendings"
RECIPIENTS_RESOURCE = "registered_mail/v4/recipients"
STATE_FILE = "registered-mail-sandbox.json"
MAX_LINE = 38
COUNTRIES = frozenset({"FR", "MC", "RE", "YT", "MQ", "GP", "MF", "BL", "GF"})
TOKEN_LIFETIME_S = 600


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
    """recipient (API fields) -> delivered | not_collected | refused | wrong_address."""


def outcome_by_name(recipient: dict[str, Any]) -> str:
    """The documented rule: the last word of the recipient's name lines."""
    name = " ".join(str(recipient.get(k) or "") for k in ("address_line_1", "address_line_2"))
    words = name.upper().split()
    last = words[-1] if words else ""
    return {"REFUSE": "refused", "ABSENT": "not_collected", "NPAI": "wrong_address"}.get(
        last, "delivered"
    )


def _iso(moment: float | None = None) -> str:
    value = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, code: str, message: str) -> JSONResponse:
    if status == 400:
        return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=400)
    return JSONResponse({"code": code, "message": message}, status_code=status)


@dataclass
class SandboxState:
    """Everything the sandbox knows; mutated only on the server's event loop."""

    credentials: SandboxCredentials
    schedule: SandboxSchedule
    webhook_url: str | None
    secret: str
    state_dir: Path | None = None
    honour_idempotency_key: bool = True
    base_url: str = ""
    sendings: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    recipients: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
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
            "by_key": self.by_key,
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
        self.by_key = data["by_key"]
        self.progress = data["progress"]
        self.documents = {
            sid: [{**doc, "content": base64.b64decode(doc["content"])} for doc in docs]
            for sid, docs in data["documents"].items()
        }


class RegisteredMailSandbox:
    """The sandbox application and its background work (timers, notifications)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self.app = self._build_app()

    # ---- application ------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            self._http = httpx.AsyncClient(timeout=10)
            self.state.load()
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

        app = FastAPI(title="registered-mail sandbox (Maileva API shape)", lifespan=lifespan)
        app.add_api_route(TOKEN_PATH, self.token, methods=["POST"])
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
            "/sendings/{sending_id}/recipients/{recipient_id}/download_deposit_proof",
            self.download_deposit_proof,
            methods=["GET"],
        )
        api.add_api_route(
            "/sendings/{sending_id}/recipients/{recipient_id}/download_acknowledgement_of_receipt",
            self.download_acknowledgement,
            methods=["GET"],
        )
        app.include_router(api)
        app.add_api_route("/_sandbox/notifications", self.notifications, methods=["GET"])
        return app

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- authentication ---------------------------------------------------------------

    async def token(self, request: Request) -> JSONResponse:
        """OAuth2 password grant, client authenticated by HTTP Basic or form fields."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(header[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
        expected = self.state.credentials
        if (client_id, client_secret) != (expected.client_id, expected.client_secret):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Invalid client credentials"},
                status_code=401,
            )
        if form.get("grant_type") != "password" or (
            form.get("username"),
            form.get("password"),
        ) != (expected.username, expected.password):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Invalid user credentials"},
                status_code=401,
            )
        token = secrets.token_urlsafe(32)
        self.state.tokens[token] = time.time() + TOKEN_LIFETIME_S
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": TOKEN_LIFETIME_S,
                "token_type": "Bearer",
                "scope": "profile email",
            }
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
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "UNEXPECTED_NOT_VALID_ERROR", "the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "UNEXPECTED_NOT_VALID_ERROR", "the body is not an object")
        key = request.headers.get("idempotency-key")
        if key and self.state.honour_idempotency_key and key in self.state.by_key:
            existing = self.state.by_key[key]
            return JSONResponse(
                self._sending_view(existing),
                status_code=200,
                headers={"Location": f"{API_PATH}/sendings/{existing}"},
            )
        name = str(body.get("name") or "").strip()
        if not name:
            return _error(400, "EMPTY_NAME", "Aucun nom d'envoi n'a été transmis")
        if len(name) > 256:
            return _error(400, "NAME_TOO_LONG", "Le nom de l'envoi est trop long")
        for number in range(1, 7):
            line = str(body.get(f"sender_address_line_{number}") or "")
            if len(line) > MAX_LINE:
                return _error(
                    400,
                    f"SENDER_ADDRESS_LINE_{number}_TOO_LONG",
                    f"La ligne d'adresse n°{number} de l'expéditeur dépasse 38 caractères",
                )
        sending_id = str(uuid.uuid4())
        sending: dict[str, Any] = {
            "id": sending_id,
            "name": name,
            "custom_id": body.get("custom_id"),
            "custom_data": body.get("custom_data"),
            "status": "DRAFT",
            "statuses": [{"code": "DRAFT", "date": _iso()}],
            "creation_date": _iso(),
            "acknowledgement_of_receipt": bool(body.get("acknowledgement_of_receipt", True)),
            "color_printing": bool(body.get("color_printing", True)),
            "duplex_printing": bool(body.get("duplex_printing", True)),
            "optional_address_sheet": bool(body.get("optional_address_sheet", False)),
            "print_sender_address": bool(body.get("print_sender_address", False)),
            "archiving_duration": int(body.get("archiving_duration", 3)),
            "postage_type": str(body.get("postage_type", "FAST")),
            "reference": "S" + secrets.token_hex(5).upper(),
        }
        for number in range(1, 7):
            sender_line = body.get(f"sender_address_line_{number}")
            if sender_line:
                sending[f"sender_address_line_{number}"] = sender_line
        if body.get("sender_country_code"):
            sending["sender_country_code"] = body["sender_country_code"]
        self.state.sendings[sending_id] = sending
        self.state.documents[sending_id] = []
        self.state.recipients[sending_id] = []
        if key:
            self.state.by_key[key] = sending_id
        self.state.save()
        return JSONResponse(
            self._sending_view(sending_id),
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}"},
        )

    async def list_sendings(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        start = max(int(request.query_params.get("start_index", "1")), 1)
        count = min(max(int(request.query_params.get("count", "50")), 1), 500)
        field_name = request.query_params.get("sort", "creation_date").split(",")[0]
        descending = request.query_params.get("desc", "false").lower() == "true"
        ordered = sorted(
            self.state.sendings.values(),
            key=lambda s: str(s.get(field_name) or ""),
            reverse=descending,
        )
        page = ordered[start - 1 : start - 1 + count]
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
        self.state.by_key = {k: v for k, v in self.state.by_key.items() if v != sending_id}
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
        return JSONResponse(_public(entry), status_code=201)

    async def list_documents(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        if sending_id not in self.state.sendings:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        documents = [_public(doc) for doc in self.state.documents[sending_id]]
        return JSONResponse({"documents": documents, "paging": {"total_results": len(documents)}})

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
            "custom_id": body.get("custom_id"),
            "custom_data": body.get("custom_data"),
            "country_code": body["country_code"],
            "status": "DRAFT",
            "statuses": [{"code": "DRAFT", "date": _iso()}],
            "delivery_statuses": [],
            "main_delivery_statuses": [],
        }
        for number in range(1, 7):
            if body.get(f"address_line_{number}"):
                recipient[f"address_line_{number}"] = body[f"address_line_{number}"]
        self.state.recipients[sending_id].append(recipient)
        self.state.save()
        return JSONResponse(recipient, status_code=201)

    async def list_recipients(self, request: Request, sending_id: str) -> Response:
        if not self._authorized(request):
            return self._denied()
        if sending_id not in self.state.sendings:
            return _error(404, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
        recipients = self.state.recipients[sending_id]
        return JSONResponse(
            {"recipients": recipients, "paging": {"total_results": len(recipients)}}
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

    async def download_deposit_proof(
        self, request: Request, sending_id: str, recipient_id: str
    ) -> Response:
        if not self._authorized(request):
            return self._denied()
        recipient = self._recipient(sending_id, recipient_id)
        if recipient is None or not recipient.get("deposit_proof_url"):
            return _error(404, "DEPOSIT_PROOF_NOT_FOUND", "La preuve de dépôt n'est pas disponible")
        document = self.state.documents[sending_id][0]
        pdf = deposit_proof_pdf(self.state.sendings[sending_id], recipient, document["sha256"])
        return Response(pdf, media_type="application/pdf")

    async def download_acknowledgement(
        self, request: Request, sending_id: str, recipient_id: str
    ) -> Response:
        if not self._authorized(request):
            return self._denied()
        recipient = self._recipient(sending_id, recipient_id)
        if recipient is None or not recipient.get("acknowledgement_of_receipt_url"):
            return _error(
                404,
                "ACKNOWLEDGEMENT_OF_RECEIPT_NOT_FOUND",
                "L'avis de réception n'est pas disponible",
            )
        pdf = acknowledgement_pdf(self.state.sendings[sending_id], recipient)
        return Response(pdf, media_type="application/pdf")

    async def notifications(self) -> JSONResponse:
        """Not part of Maileva's API: what the sandbox notified, for tests and demos."""
        return JSONResponse({"notifications": self.state.notifications})

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
    def _set_status(resource: dict[str, Any], status: str) -> None:
        resource["status"] = status
        resource.setdefault("statuses", []).append({"code": status, "date": _iso()})

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
            steps[stage](sending_id)
            progress["stage"] = stage + 1
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

    def _accept(self, sending_id: str) -> None:
        sending = self.state.sendings[sending_id]
        self._set_status(sending, "ACCEPTED")
        for recipient in self.state.recipients[sending_id]:
            self._set_status(recipient, "ACCEPTED")
        self._notify("ON_STATUS_ACCEPTED", SENDINGS_RESOURCE, sending)

    def _deposit(self, sending_id: str) -> None:
        sending = self.state.sendings[sending_id]
        self._set_status(sending, "PROCESSED")
        sending["processed_date"] = _iso()
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

    def _present(self, sending_id: str) -> None:
        outcome = self.state.progress[sending_id]["outcome"]
        if outcome == "wrong_address":
            return  # never presented: returned as undeliverable
        sending = self.state.sendings[sending_id]
        for recipient in self.state.recipients[sending_id]:
            self._delivery(recipient, "FIRST_PRESENTATION", "LP09", "Destinataire absent avisé")
            self._notify(
                "ON_MAIN_DELIVERY_STATUS_FIRST_PRESENTATION",
                RECIPIENTS_RESOURCE,
                recipient,
                sending,
            )

    def _conclude(self, sending_id: str) -> None:
        outcome = self.state.progress[sending_id]["outcome"]
        sending = self.state.sendings[sending_id]
        for recipient in self.state.recipients[sending_id]:
            if outcome == "delivered":
                self._delivery(recipient, "DELIVERED", "LP15", "Distribué")
                base = f"/sendings/{sending_id}/recipients/{recipient['id']}"
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

    # ---- notifications ----------------------------------------------------------------

    def _notify(
        self,
        event_type: str,
        resource_type: str,
        resource: dict[str, Any],
        sending: dict[str, Any] | None = None,
    ) -> None:
        if not self.state.webhook_url:
            return
        location = f"{self.state.base_url}{API_PATH}/sendings/"
        if sending is None:
            location += resource["id"]
        else:
            location += f"{sending['id']}/recipients/{resource['id']}"
        body = {
            "id": str(uuid.uuid4()),
            "source": "sandbox.recouvre.local",
            "user_id": self.state.credentials.username,
            "client_id": self.state.credentials.client_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "event_date": _iso(),
            "event_location": "FR",
            "resource_id": resource["id"],
            "resource_location": location,
            "resource_custom_id": resource.get("custom_id"),
            "resource_custom_data": resource.get("custom_data"),
        }
        record: dict[str, Any] = {"body": body, "attempts": [], "delivered": False}
        self.state.notifications.append(record)
        self._spawn(self._deliver(record))

    async def _deliver(self, record: dict[str, Any]) -> None:
        assert self._http is not None
        url = self.state.webhook_url
        raw = json.dumps(record["body"], ensure_ascii=False).encode()
        delay = self.state.schedule.webhook_backoff
        for attempt in range(1, self.state.schedule.webhook_attempts + 1):
            headers = {"Content-Type": "application/json"}
            headers.update(sign_mail_notification(self.state.secret, raw))
            try:
                assert url is not None
                response = await self._http.post(url, content=raw, headers=headers)
                outcome: Any = response.status_code
            except httpx.HTTPError as err:
                outcome = f"{type(err).__name__}: {err}"
            record["attempts"].append({"at": _iso(), "result": outcome})
            if outcome == 201:
                record["delivered"] = True
                return
            log.info("notification %s attempt %d: %s", record["body"]["id"], attempt, outcome)
            await asyncio.sleep(delay)
            delay *= 2
        log.warning("notification %s abandoned", record["body"]["id"])


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


_POSTAL = re.compile(r"^\d{5} \S.*$")


def _address_problem(body: Any) -> tuple[str, str] | None:
    """Maileva's recipient rules: six lines of at most 38 characters, line 1 or 2, line 6,
    '<5 digits> <city>' in France, an allowed country."""
    if not isinstance(body, dict):
        return "UNEXPECTED_NOT_VALID_ERROR", "the body is not an object"
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
    """A running sandbox: ``url`` is its base URL; ``stop()`` ends it (idempotent)."""

    url: str
    credentials: SandboxCredentials
    secret: str
    sandbox: RegisteredMailSandbox
    _server: uvicorn.Server
    _thread: threading.Thread

    def settings(self) -> RegisteredMailSettings:
        """Client settings pointing at this sandbox."""
        c = self.credentials
        return RegisteredMailSettings(
            REGISTERED_MAIL_PROVIDER_URL=self.url,
            REGISTERED_MAIL_CLIENT_ID=c.client_id,
            REGISTERED_MAIL_CLIENT_SECRET=c.client_secret,
            REGISTERED_MAIL_USERNAME=c.username,
            REGISTERED_MAIL_PASSWORD=c.password,
            REGISTERED_MAIL_WEBHOOK_SECRET=self.secret,
        )

    def set_webhook_url(self, url: str | None) -> None:
        self.sandbox.state.webhook_url = url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_sandbox_registered_mail(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    secret: str = "",
    schedule: SandboxSchedule | None = None,
    *,
    credentials: SandboxCredentials | None = None,
    state_dir: Path | None = None,
    honour_idempotency_key: bool = True,
    startup_timeout_s: float = 10.0,
) -> SandboxHandle:
    """Start the sandbox under uvicorn in a daemon thread (its own event loop); return once
    it accepts connections. ``port=0`` picks a free port (see ``handle.url``)."""
    state = SandboxState(
        credentials=credentials or SandboxCredentials(),
        schedule=schedule or SandboxSchedule(),
        webhook_url=webhook_url,
        secret=secret,
        state_dir=state_dir,
        honour_idempotency_key=honour_idempotency_key,
    )
    sandbox = RegisteredMailSandbox(state)
    server = uvicorn.Server(
        uvicorn.Config(sandbox.app, host=host, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="registered-mail-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the registered-mail sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://{host}:{bound}"
    state.base_url = url
    return SandboxHandle(url, state.credentials, secret, sandbox, server, thread)
