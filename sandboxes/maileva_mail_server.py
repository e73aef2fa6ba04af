"""A local stand-in for Maileva's mail API (simple post), for tests and demos.

It speaks the API of the published "mail" v2.9 document (copy in tests/contracts/maileva/;
tests/contracts/test_maileva_mail_contract.py checks every exchange against it), under
``/mail/v2``: sendings (create, list, read, delete a draft), documents (add, list),
recipients (add, list, read, delivery statuses) and submit, with the documented error bodies
(400: ``errors_response``; 401 and 404: ``error_response``) and, where the document lists one,
its error code (the others, e.g. INVALID_PAGING, are the sandbox's own).

Logging in is the registered-mail sandbox's own token endpoint (imported, not copied): on a
host of its own by default, or, given ``shared_auth``, the one of a running registered-mail
sandbox, so one token serves both APIs as one Maileva account does.

It keeps its state in memory and moves each submitted sending along a schedule measured in
seconds from submission, applied whenever the sending is read:

    PENDING -> ACCEPTED (pages, sheets, envelope) -> PROCESSED (recipient PROCESSED)

The last word of the recipient's name lines (address lines 1-2) changes the outcome: ``REJET``
the sending is REJECTED, ``ERREUR`` it is PROCESSED_WITH_ERRORS with its recipient REJECTED,
``NPAI`` it is processed and then returned undeliverable (reported only when the sending asked
for ``treat_undelivered_mail``). ``refused_countries`` are countries of the document's list
that this account may not post to: their recipients are refused with INVALID_COUNTRY_CODE.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from activities.postal_mail.maileva_mail_client import MAIL_COUNTRIES
from activities.postal_mail.settings import PostalMailSettings
from activities.registered_mail.settings import TOKEN_PATH
from sandboxes.registered_mail_server import (
    RegisteredMailSandbox,
    SandboxCredentials,
    SandboxHandle,
    SandboxSchedule,
    SandboxState,
    _error,
    _iso,
    _json_object,
    _multipart,
    _page,
    _paged,
)

API_PATH = "/mail/v2"
MAX_LINE = 38
CUSTOM_ID_MAX = 36
CUSTOM_DATA_MAX = 255
NAME_MAX = 256
MAX_DOCUMENTS = 30
MAX_BYTES = 20 * 1024 * 1024
MAX_RECIPIENTS = 30_000
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
POSTAGE_TYPES = frozenset({"FAST", "ECONOMIC", "URGENT"})
ARCHIVING_DURATIONS = frozenset({0, 1, 3, 6, 10})
WINDOW_TYPES = frozenset({"SIMPLE", "DOUBLE"})
POSTAGE_CLASS = {"URGENT": "IMPORTANT", "FAST": "PRIORITY", "ECONOMIC": "ECONOMY"}
"""The recipient's ``postage_class`` for the sending's ``postage_type`` (the sandbox's
reading of the two lists; the document does not pair them)."""
DL_MAX_SHEETS = 5
C4_MAX_SHEETS = 45
UNDELIVERED_CODE = "N10"
OUTCOMES_BY_WORD = {
    "REJET": "rejected",
    "ERREUR": "processed_with_errors",
    "NPAI": "undelivered",
}
_POSTAL = re.compile(r"^\d{5} \S.*$")
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


@dataclass(frozen=True)
class MailSandboxSchedule:
    """Seconds after submission of each step."""

    accept_after: float = 0.0
    process_after: float = 0.5
    undelivered_after: float = 1.0
    upload_delay: float = 0.0
    """Seconds a document upload takes to be answered (its body read, then stored): a
    window in which a test can kill the worker that is posting."""
    outcome_for: Callable[[dict[str, Any]], str] | None = None
    """recipient (API fields) -> processed | rejected | processed_with_errors |
    undelivered."""


def outcome_by_name(recipient: dict[str, Any]) -> str:
    """The documented rule: the last word of the recipient's name lines."""
    name = " ".join(str(recipient.get(k) or "") for k in ("address_line_1", "address_line_2"))
    words = name.upper().split()
    return OUTCOMES_BY_WORD.get(words[-1] if words else "", "processed")


def page_count(content: bytes) -> int:
    """A PDF's pages (its page objects); any other document counts as one page."""
    return max(1, len(_PAGE.findall(content))) if content.startswith(b"%PDF") else 1


@dataclass
class _Progress:
    submitted: float
    outcome: str
    stage: int = 0


@dataclass
class MailSandboxState:
    """Everything the sandbox knows; mutated only on the server's event loop."""

    sendings: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    """document id -> the uploaded bytes."""
    recipients: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delivery_statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """recipient id -> delivery_statuses_response items."""
    progress: dict[str, _Progress] = field(default_factory=dict)


def _too_long(body: dict[str, Any], key: str, limit: int) -> bool:
    return len(str(body.get(key) or "")) > limit


def _sender_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    for number in range(1, 7):
        if _too_long(body, f"sender_address_line_{number}", MAX_LINE):
            return (
                f"SENDER_ADDRESS_LINE_{number}_TOO_LONG",
                f"sender address line {number} exceeds {MAX_LINE} characters",
            )
    country = body.get("sender_country_code")
    if country is None:
        return None
    if len(str(country)) > 2:
        return "SENDER_COUNTRY_CODE_TOO_LONG", "sender country code exceeds 2 characters"
    if country not in MAIL_COUNTRIES:
        return "INVALID_COUNTRY_CODE", "sender country code not allowed"
    line_6 = body.get("sender_address_line_6")
    if country == "FR" and line_6 and not _POSTAL.match(str(line_6)):
        return (
            "SENDER_ADDRESS_LINE_6_WRONG_FORMAT",
            "sender address line 6 must be a 5-digit postal code, a space and a city",
        )
    return None


def _options_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    """The enumerated options of sending_update (the codes are the sandbox's own: the
    document lists none for them)."""
    if body.get("archiving_duration", 0) not in ARCHIVING_DURATIONS:
        return "INVALID_ARCHIVING_DURATION", "archiving_duration must be 0, 1, 3, 6 or 10"
    if "postage_type" in body and body["postage_type"] not in POSTAGE_TYPES:
        return "INVALID_POSTAGE_TYPE", "postage_type must be FAST, ECONOMIC or URGENT"
    if "envelope_windows_type" in body and body["envelope_windows_type"] not in WINDOW_TYPES:
        return "INVALID_ENVELOPE_WINDOWS_TYPE", "envelope_windows_type must be SIMPLE or DOUBLE"
    return None


class MailSandbox:
    """The sandbox's mail API application and the token store it trusts."""

    def __init__(
        self,
        auth: RegisteredMailSandbox,
        schedule: MailSandboxSchedule | None = None,
        refused_countries: frozenset[str] = frozenset(),
    ) -> None:
        self.auth = auth
        """Whose token endpoint issues the tokens this API accepts."""
        self.schedule = schedule or MailSandboxSchedule()
        self.refused_countries = refused_countries
        self.state = MailSandboxState()
        self.app = self._build_app()

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="mail sandbox (Maileva mail API)")
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
            "/sendings/{sending_id}/recipients/{recipient_id}/delivery_statuses",
            self.list_delivery_statuses,
            methods=["GET"],
        )
        app.include_router(api)
        return app

    # ---- authentication ---------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return False
        expires = self.auth.state.tokens.get(header[7:].strip())
        return expires is not None and expires > time.time()

    @staticmethod
    def _denied() -> JSONResponse:
        return _error(401, "UNAUTHORIZED", "missing, unknown or expired access token")

    def _found(self, request: Request, sending_id: str) -> JSONResponse | None:
        """401 or 404 for this sending, else None (and its schedule brought up to now)."""
        if not self._authorized(request):
            return self._denied()
        if sending_id not in self.state.sendings:
            return _error(404, "SENDING_NOT_FOUND", "no sending with this id")
        self._advance(sending_id)
        return None

    def _draft(self, request: Request, sending_id: str) -> JSONResponse | None:
        refused = self._found(request, sending_id)
        if refused is None and self.state.sendings[sending_id]["status"] != "DRAFT":
            return _error(400, "SENDING_STATUS_IS_NOT_DRAFT", "the sending is no longer a draft")
        return refused

    # ---- sendings ---------------------------------------------------------------------

    def _sending_view(self, sending_id: str) -> dict[str, Any]:
        sending = dict(self.state.sendings[sending_id])
        recipients = self.state.recipients[sending_id]
        counts = {"draft": 0, "pending": 0, "processed": 0, "rejected": 0}
        for recipient in recipients:
            counts[str(recipient["status"]).lower()] += 1
        documents = self.state.documents[sending_id]
        sending["documents_count"] = len(documents)
        sending["documents_weight"] = sum(doc["size"] for doc in documents)
        sending["recipients_counts"] = {**counts, "total": len(recipients)}
        return sending

    async def create_sending(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._denied()
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        name = str(body.get("name") or "").strip()
        if not name:
            return _error(400, "EMPTY_NAME", "the sending has no name")
        if len(name) > NAME_MAX:
            return _error(400, "NAME_TOO_LONG", f"the name exceeds {NAME_MAX} characters")
        if _too_long(body, "custom_id", CUSTOM_ID_MAX):
            return _error(400, "CUSTOM_ID_WRONG_FORMAT", f"custom_id exceeds {CUSTOM_ID_MAX}")
        if _too_long(body, "custom_data", CUSTOM_DATA_MAX):
            return _error(400, "CUSTOM_DATA_TOO_LONG", f"custom_data exceeds {CUSTOM_DATA_MAX}")
        problem = _sender_problem(body) or _options_problem(body)
        if problem is not None:
            return _error(400, *problem)
        sending_id = str(uuid.uuid4())
        sending: dict[str, Any] = {
            "id": sending_id,
            "name": name,
            "status": "DRAFT",
            "creation_date": _iso(),
            "color_printing": bool(body.get("color_printing", True)),
            "duplex_printing": bool(body.get("duplex_printing", True)),
            "optional_address_sheet": bool(body.get("optional_address_sheet", False)),
            "system_address_sheet": False,
            "print_sender_address": bool(body.get("print_sender_address", False)),
            "archiving_duration": int(body.get("archiving_duration", 0)),
            "treat_undelivered_mail": bool(body.get("treat_undelivered_mail", False)),
        }
        for optional in (
            "custom_id",
            "custom_data",
            "notification_email",
            "envelope_windows_type",
            "postage_type",
            "sender_country_code",
            *(f"sender_address_line_{n}" for n in range(1, 7)),
        ):
            if body.get(optional) not in (None, ""):
                sending[optional] = str(body[optional])
        emails = body.get("notification_treat_undelivered_mail")
        if isinstance(emails, list):
            sending["notification_treat_undelivered_mail"] = [str(e) for e in emails]
        self.state.sendings[sending_id] = sending
        self.state.documents[sending_id] = []
        self.state.recipients[sending_id] = []
        return JSONResponse(
            self._sending_view(sending_id),
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}"},
        )

    async def list_sendings(self, request: Request) -> Response:
        """``start_index`` and ``count`` only, in no documented order (here, by id)."""
        if not self._authorized(request):
            return self._denied()
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1 and 1 <= count <= 500")
        for sending_id in self.state.sendings:
            self._advance(sending_id)
        ordered = sorted(self.state.sendings)
        page = _paged([{"id": sid} for sid in ordered], *paging)
        return JSONResponse(
            {
                "sendings": [self._sending_view(s["id"]) for s in page],
                "paging": {"total_results": len(ordered)},
            }
        )

    async def get_sending(self, request: Request, sending_id: str) -> Response:
        refused = self._found(request, sending_id)
        return refused or JSONResponse(self._sending_view(sending_id))

    async def delete_sending(self, request: Request, sending_id: str) -> Response:
        refused = self._draft(request, sending_id)
        if refused is not None:
            return refused
        del self.state.sendings[sending_id]
        for document in self.state.documents.pop(sending_id, []):
            self.state.contents.pop(document["id"], None)
        self.state.recipients.pop(sending_id, None)
        return Response(status_code=204)

    # ---- documents --------------------------------------------------------------------

    async def add_document(self, request: Request, sending_id: str) -> Response:
        refused = self._draft(request, sending_id)
        if refused is not None:
            return refused
        parts = _multipart(request.headers.get("content-type", ""), await request.body())
        if self.schedule.upload_delay > 0:
            await asyncio.sleep(self.schedule.upload_delay)
        if "metadata" not in parts:
            return _error(400, "EMPTY_METADATA", "the metadata part is missing")
        try:
            metadata = json.loads(parts["metadata"][1] or b"null")
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            return _error(400, "METADATA_WRONG_FORMAT", "metadata must be a JSON object")
        if "priority" not in metadata:
            return _error(400, "EMPTY_PRIORITY", "metadata has no priority")
        priority = metadata["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
            return _error(400, "INVALID_PRIORITY", "priority must be a positive integer")
        document = parts.get("document")
        if document is None or not document[1]:
            return _error(400, "EMPTY_DOCUMENT", "the document part is missing or empty")
        filename, content = document
        name = str(metadata.get("name") or filename or "document")
        extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in DOCUMENT_TYPES:
            return _error(400, "DOCUMENT_TYPE_NOT_ACCEPTED", f"type {extension!r} not accepted")
        if extension == ".pdf" and not content.startswith(b"%PDF"):
            return _error(400, "CORRUPTED_DOCUMENT", "the PDF cannot be read")
        documents = self.state.documents[sending_id]
        if len(content) > MAX_BYTES:
            return _error(400, "INVALID_DOCUMENT_SIZE", "the document exceeds 20 MB")
        if sum(doc["size"] for doc in documents) + len(content) > MAX_BYTES:
            return _error(400, "INVALID_TOTAL_SENDING_SIZE", "the documents exceed 20 MB")
        if len(documents) >= MAX_DOCUMENTS:
            return _error(400, "INVALID_DOCUMENTS_COUNT", f"at most {MAX_DOCUMENTS} documents")
        if any(doc["priority"] == priority for doc in documents):
            return _error(400, "DUPLICATE_PRIORITY", "another document has this priority")
        entry: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "priority": priority,
            "name": name,
            "type": DOCUMENT_TYPES[extension],
            "size": len(content),
            "shrink": bool(metadata.get("shrink", True)),
        }
        documents.append(entry)
        self.state.contents[entry["id"]] = content
        return JSONResponse(
            entry,
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}/documents/{entry['id']}"},
        )

    async def list_documents(self, request: Request, sending_id: str) -> Response:
        refused = self._found(request, sending_id)
        if refused is not None:
            return refused
        paging = _page(request, default_count=30, maximum=MAX_DOCUMENTS)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1 and 1 <= count <= 30")
        documents = sorted(self.state.documents[sending_id], key=lambda d: int(d["priority"]))
        return JSONResponse(
            {"documents": _paged(documents, *paging), "paging": {"total_results": len(documents)}}
        )

    # ---- recipients -------------------------------------------------------------------

    def _address_problem(self, body: dict[str, Any]) -> tuple[str, str] | None:
        if _too_long(body, "custom_id", CUSTOM_ID_MAX):
            return "CUSTOM_ID_WRONG_FORMAT", f"custom_id exceeds {CUSTOM_ID_MAX} characters"
        if _too_long(body, "custom_data", CUSTOM_DATA_MAX):
            return "CUSTOM_DATA_TOO_LONG", f"custom_data exceeds {CUSTOM_DATA_MAX} characters"
        for number in range(1, 7):
            if _too_long(body, f"address_line_{number}", MAX_LINE):
                return (
                    f"ADDRESS_LINE_{number}_TOO_LONG",
                    f"address line {number} exceeds {MAX_LINE} characters",
                )
        if not body.get("address_line_1") and not body.get("address_line_2"):
            return "EMPTY_ADDRESS_LINE_1_OR_ADDRESS_LINE_2", "address line 1 or 2 is required"
        if not body.get("address_line_6"):
            return "EMPTY_ADDRESS_LINE_6", "address line 6 is required"
        country = str(body.get("country_code") or "")
        if len(country) > 2:
            return "COUNTRY_CODE_TOO_LONG", "the country code exceeds 2 characters"
        if country not in MAIL_COUNTRIES or country in self.refused_countries:
            return "INVALID_COUNTRY_CODE", "this country code is not allowed"
        if country == "FR" and not _POSTAL.match(str(body["address_line_6"])):
            return (
                "ADDRESS_LINE_6_WRONG_FORMAT",
                "address line 6 must be a 5-digit postal code, a space and a city",
            )
        return None

    async def add_recipient(self, request: Request, sending_id: str) -> Response:
        refused = self._draft(request, sending_id)
        if refused is not None:
            return refused
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        problem = self._address_problem(body)
        if problem is not None:
            return _error(400, *problem)
        recipients = self.state.recipients[sending_id]
        if len(recipients) >= MAX_RECIPIENTS:
            return _error(400, "INVALID_RECIPIENTS_COUNT", f"at most {MAX_RECIPIENTS} recipients")
        recipient: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "country_code": body["country_code"],
            "status": "DRAFT",
        }
        for optional in ("custom_id", "custom_data", *(f"address_line_{n}" for n in range(1, 7))):
            if body.get(optional) not in (None, ""):
                recipient[optional] = str(body[optional])
        recipients.append(recipient)
        self.state.delivery_statuses[recipient["id"]] = []
        return JSONResponse(
            recipient,
            status_code=201,
            headers={"Location": f"{API_PATH}/sendings/{sending_id}/recipients/{recipient['id']}"},
        )

    async def list_recipients(self, request: Request, sending_id: str) -> Response:
        refused = self._found(request, sending_id)
        if refused is not None:
            return refused
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1 and 1 <= count <= 500")
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
        refused = self._found(request, sending_id)
        if refused is not None:
            return refused
        recipient = self._recipient(sending_id, recipient_id)
        if recipient is None:
            return _error(404, "RECIPIENT_NOT_FOUND", "no recipient with this id")
        return JSONResponse(recipient)

    async def list_delivery_statuses(
        self, request: Request, sending_id: str, recipient_id: str
    ) -> Response:
        refused = self._found(request, sending_id)
        if refused is not None:
            return refused
        if self._recipient(sending_id, recipient_id) is None:
            return _error(404, "RECIPIENT_NOT_FOUND", "no recipient with this id")
        paging = _page(request)
        if paging is None:
            return _error(400, "INVALID_PAGING", "start_index >= 1 and 1 <= count <= 500")
        statuses = self.state.delivery_statuses[recipient_id]
        return JSONResponse(
            {
                "delivery_statuses": _paged(statuses, *paging),
                "paging": {"total_results": len(statuses)},
            }
        )

    # ---- submission and the letter's life ---------------------------------------------

    async def submit(self, request: Request, sending_id: str) -> Response:
        refused = self._draft(request, sending_id)
        if refused is not None:
            return refused
        if not self.state.documents[sending_id]:
            return _error(400, "DOCUMENT_NOT_FOUND", "the sending has no document")
        recipients = self.state.recipients[sending_id]
        if not recipients:
            return _error(400, "INVALID_RECIPIENTS_COUNT", "the sending has no recipient")
        now = time.time()
        sending = self.state.sendings[sending_id]
        sending["status"] = "PENDING"
        sending["submission_date"] = _iso(now)
        for recipient in recipients:
            recipient["status"] = "PENDING"
        rule = self.schedule.outcome_for or outcome_by_name
        self.state.progress[sending_id] = _Progress(submitted=now, outcome=rule(recipients[0]))
        return Response(status_code=200)

    def _advance(self, sending_id: str) -> None:
        """Apply every step of the sending's schedule whose time has come."""
        progress = self.state.progress.get(sending_id)
        if progress is None:
            return
        schedule = self.schedule
        steps = (
            (schedule.accept_after, self._accept),
            (schedule.process_after, self._process),
            (schedule.undelivered_after, self._return),
        )
        while progress.stage < len(steps):
            offset, step = steps[progress.stage]
            if time.time() < progress.submitted + offset:
                return
            go_on = step(sending_id, progress.outcome)
            progress.stage = progress.stage + 1 if go_on else len(steps)

    def _reject(self, sending_id: str, detail: str) -> bool:
        sending = self.state.sendings[sending_id]
        sending["status"] = "REJECTED"
        sending["status_detail"] = detail
        for recipient in self.state.recipients[sending_id]:
            recipient["status"] = "REJECTED"
        return False

    def _accept(self, sending_id: str, outcome: str) -> bool:
        """Pages, sheets and envelope as the document describes them: a DL envelope holds
        5 sheets, address sheet included; a C4 one 45, plus its mandatory address sheet."""
        if outcome == "rejected":
            return self._reject(sending_id, "sandbox: refused by the recipient-name rule")
        sending = self.state.sendings[sending_id]
        documents = self.state.documents[sending_id]
        for document in documents:
            count = page_count(self.state.contents[document["id"]])
            document["pages_count"] = count
            document["sheets_count"] = math.ceil(count / 2) if sending["duplex_printing"] else count
        pages = sum(int(doc["pages_count"]) for doc in documents)
        sheets = sum(int(doc["sheets_count"]) for doc in documents)
        if sending["optional_address_sheet"]:
            pages, sheets = pages + 1, sheets + 1
        billed = pages
        if sheets > DL_MAX_SHEETS:
            content_sheets = sheets - int(sending["optional_address_sheet"])
            if content_sheets > C4_MAX_SHEETS:
                return self._reject(sending_id, f"sandbox: {content_sheets} sheets, C4 holds 45")
            if not sending["optional_address_sheet"]:
                sending["system_address_sheet"] = True
                pages, sheets = pages + 1, sheets + 1
        sending["envelope_type"] = "DL" if sheets <= DL_MAX_SHEETS else "C4"
        recipients = self.state.recipients[sending_id]
        sending["pages_count"] = pages * len(recipients)
        sending["billed_pages_count"] = billed * len(recipients)
        sending["sheets_count"] = sheets * len(recipients)
        for recipient in recipients:
            recipient["pages_count"] = pages
            recipient["billed_pages_count"] = billed
            recipient["sheets_count"] = sheets
        sending["status"] = "ACCEPTED"
        return True

    def _process(self, sending_id: str, outcome: str) -> bool:
        sending = self.state.sendings[sending_id]
        sending["processed_date"] = _iso()
        postage_class = POSTAGE_CLASS.get(str(sending.get("postage_type", "FAST")), "PRIORITY")
        for recipient in self.state.recipients[sending_id]:
            if outcome == "processed_with_errors":
                recipient["status"] = "REJECTED"
                recipient["status_detail"] = "sandbox: address refused by the recipient-name rule"
            else:
                recipient["status"] = "PROCESSED"
                recipient["postage_class"] = postage_class
        if outcome == "processed_with_errors":
            sending["status"] = "PROCESSED_WITH_ERRORS"
            return False
        sending["status"] = "PROCESSED"
        return outcome == "undelivered"

    def _return(self, sending_id: str, outcome: str) -> bool:
        if not self.state.sendings[sending_id]["treat_undelivered_mail"]:
            return True  # returned to the sender on paper: the API says nothing
        for recipient in self.state.recipients[sending_id]:
            now = _iso()
            recipient["undelivered_mail_date"] = now
            recipient["last_delivery_status"] = UNDELIVERED_CODE
            recipient["last_delivery_status_date"] = now
            self.state.delivery_statuses[recipient["id"]].append(
                {"status": UNDELIVERED_CODE, "label": "returned undeliverable", "date": now}
            )
        return True


# ---- running it ---------------------------------------------------------------------------


@dataclass
class MailSandboxHandle:
    """A running mail sandbox: ``url`` is its API host, ``auth_url`` the token endpoint it
    trusts; ``stop()`` ends what it started (idempotent)."""

    url: str
    auth_url: str
    credentials: SandboxCredentials
    sandbox: MailSandbox
    _servers: tuple[uvicorn.Server, ...]
    _thread: threading.Thread

    def settings(self, **options: Any) -> PostalMailSettings:
        """Client settings pointing at this sandbox (``options``: other POSTAL_MAIL_*)."""
        c = self.credentials
        values: dict[str, Any] = {
            "POSTAL_MAIL_PROVIDER_URL": self.url,
            "POSTAL_MAIL_AUTH_URL": self.auth_url,
            "POSTAL_MAIL_CLIENT_ID": c.client_id,
            "POSTAL_MAIL_CLIENT_SECRET": c.client_secret,
            "POSTAL_MAIL_USERNAME": c.username,
            "POSTAL_MAIL_PASSWORD": c.password,
            **options,
        }
        return PostalMailSettings(**values)

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout=10)


def start_sandbox_maileva_mail(
    host: str = "127.0.0.1",
    port: int = 0,
    schedule: MailSandboxSchedule | None = None,
    *,
    credentials: SandboxCredentials | None = None,
    refused_countries: frozenset[str] = frozenset(),
    auth_port: int = 0,
    shared_auth: SandboxHandle | None = None,
    startup_timeout_s: float = 10.0,
) -> MailSandboxHandle:
    """Start the mail API on ``port`` (0: a free one) under uvicorn in a daemon thread; return
    once it accepts connections. Its tokens come from ``shared_auth``'s token endpoint (a
    running registered-mail sandbox: its credentials then apply) or, by default, from a
    registered-mail sandbox's token endpoint started on ``auth_port`` with ``credentials``."""
    if shared_auth is not None:
        auth, credentials = shared_auth.sandbox, shared_auth.credentials
    else:
        credentials = credentials or SandboxCredentials()
        auth = RegisteredMailSandbox(SandboxState(credentials, SandboxSchedule()))
    sandbox = MailSandbox(auth, schedule, refused_countries)
    servers = [
        uvicorn.Server(
            uvicorn.Config(sandbox.app, host=host, port=port, log_level="warning", lifespan="off")
        )
    ]
    if shared_auth is None:
        servers.append(
            uvicorn.Server(
                uvicorn.Config(
                    auth.auth_app, host=host, port=auth_port, log_level="warning", lifespan="off"
                )
            )
        )

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    thread = threading.Thread(
        target=lambda: asyncio.run(serve_all()), name="mail-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not all(server.started for server in servers):
        if not thread.is_alive() or time.monotonic() > deadline:
            for server in servers:
                server.should_exit = True
            raise RuntimeError(f"the mail sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    url = f"http://{host}:{servers[0].servers[0].sockets[0].getsockname()[1]}"
    if shared_auth is not None:
        auth_url = shared_auth.auth_url
    else:
        bound = servers[1].servers[0].sockets[0].getsockname()[1]
        auth_url = f"http://{host}:{bound}{TOKEN_PATH}"
    return MailSandboxHandle(url, auth_url, credentials, sandbox, tuple(servers), thread)
