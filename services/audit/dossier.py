"""The evidence bundle of a case: one ZIP an auditor can archive and check offline.

    summary.pdf            the timeline, for people
    events.json            the case's event stream as stored, and its chain verification
    history.json           the Temporal workflow history of the latest run (Temporal's JSON)
    history/run-N-*.json   the runs before it, oldest first (a case that continued as new)
    documents/NN-step-channel.txt
                           every email of the ledger (headers and body hash) and every
                           document of the other channels (full body), oldest first
    files/NN-kind-SHA.ext  the e-invoices and e-credit notes as received, oldest first
                           (a file whose debtor was erased is left out: a note says so and
                           manifest.json's ``case_files`` still lists its SHA-256)
    manifest.json          each file above with its SHA-256 and size, when and for whom

Files are written in that order, documents sorted by name, each stamped with the
generation time: the same records give the same archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from activities.letter_layout.stored import printed_pdf
from schemas.case import CaseView
from services.audit.case_records import (
    CaseFileRecord,
    CaseRecord,
    EmailRecord,
    OutboxRecord,
    ProofRecord,
)
from services.audit.models import StreamExport
from services.audit.summary_pdf import SummaryInput, render_summary, when

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class DossierInput:
    case: CaseRecord
    view: CaseView
    stream: StreamExport
    history_json: str
    history_events: int
    emails: list[EmailRecord]
    documents: list[OutboxRecord]
    generated_at: datetime
    generated_by: str
    proofs: list[ProofRecord] = field(default_factory=list)
    earlier_runs: list[tuple[str, str]] = field(default_factory=list)
    """(run id, Temporal JSON) of the runs before the latest, oldest first: a long case
    continues as new, and each run's history holds only part of its life."""
    files: list[CaseFileRecord] = field(default_factory=list)
    """The e-invoice and e-credit notes as received (content None once the debtor is erased)."""


@dataclass(frozen=True)
class Dossier:
    filename: str
    content: bytes
    sha256: str
    manifest: dict[str, Any]


def safe_name(text: str) -> str:
    """A file-name part made of letters, digits, '_', '.' and '-' only."""
    return _UNSAFE.sub("_", text).strip("._") or "_"


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _email_text(email: EmailRecord) -> str:
    if email.body is not None:
        recomputed = hashlib.sha256(email.body.encode()).hexdigest()
        check = "match" if recomputed == email.body_sha256 else f"MISMATCH ({recomputed})"
        ending = [f"Body-SHA256-Check: {check}", "", email.body]
    else:
        ending = [
            "",
            "Sent before bodies were kept: the ledger has the body's SHA-256 only; the",
            "message as sent is in the recipient's mailbox, and this hash proves which it was.",
            "",
        ]
    return "\n".join(
        [
            "Channel: email",
            f"Step: {email.step}",
            f"Idempotency-Key: {email.idempotency_key}",
            f"To: {email.recipient}",
            f"Subject: {email.subject}",
            f"Message-ID: {email.message_id}",
            f"Status: {email.status}",
            f"Created-At: {when(email.created_at)}",
            f"Sent-At: {when(email.sent_at)}",
            f"Body-SHA256: {email.body_sha256}",
            *ending,
        ]
    )


def _document_text(doc: OutboxRecord) -> str:
    recomputed = hashlib.sha256(doc.body.encode()).hexdigest()
    check = "match" if recomputed == doc.body_sha256 else f"MISMATCH (body hashes to {recomputed})"
    recipient = doc.recipient
    lines = [recipient.get("name", ""), *recipient.get("address_lines", [])]
    header = [
        f"Channel: {doc.channel}",
        f"Step: {doc.step}",
        f"Template: {doc.template}",
        f"Partner: {doc.partner or '-'}",
        f"Idempotency-Key: {doc.idempotency_key}",
        f"Reference: {doc.reference}",
        f"Recipient: {', '.join(line for line in lines if line) or '-'}",
        f"Status: {doc.status}",
        f"Created-At: {when(doc.created_at)}",
        f"Body-SHA256: {doc.body_sha256} ({check})",
    ]
    return "\n".join([*header, "", doc.body if doc.body.endswith("\n") else doc.body + "\n"])


def _documents(data: DossierInput) -> list[tuple[str, bytes]]:
    dated: list[tuple[datetime, str, str, str, str]] = [
        (e.sent_at or e.created_at, e.idempotency_key, e.step, "email", _email_text(e))
        for e in data.emails
    ]
    dated += [
        (d.created_at, d.idempotency_key, d.step, d.channel, _document_text(d))
        for d in data.documents
    ]
    dated.sort(key=lambda item: (item[0], item[1], item[3]))
    width = max(2, len(str(len(dated))))
    files: list[tuple[str, bytes]] = []
    pdfs = {d.idempotency_key: d for d in data.documents}
    for index, (_, key, step, channel, text) in enumerate(dated, start=1):
        stem = f"documents/{index:0{width}d}-{safe_name(step)}-{safe_name(channel)}"
        files.append((f"{stem}.txt", text.encode("utf-8")))
        document = pdfs.get(key)
        if document is not None and channel != "email":
            # The document as printed: its stored layout, else its stored, hashed body.
            pdf = printed_pdf(
                document.body,
                document.layout,
                title=f"{step} ({channel})",
                reference=document.reference,
                created_at=document.created_at,
            )
            files.append((f"{stem}.pdf", pdf))
    return files


def _proofs(data: DossierInput) -> list[tuple[str, bytes]]:
    """Provider proofs as received; the manifest hashes them like every other file."""
    suffix = {"application/pdf": "pdf"}
    return [
        (
            f"proofs/{index:02d}-{safe_name(p.step)}-{safe_name(p.kind)}."
            f"{suffix.get(p.media_type, 'bin')}",
            p.content,
        )
        for index, p in enumerate(data.proofs, start=1)
    ]


_FILE_SUFFIXES = {"application/pdf": "pdf"}
ERASED_FILE_NOTE = (
    "Not included: the debtor's personal data was erased and this file, sealed with the "
    "debtor's data key, can no longer be read. Its SHA-256 and size, recorded when it was "
    "received, still identify it."
)


def _case_files(data: DossierInput) -> tuple[list[tuple[str, bytes]], list[dict[str, Any]]]:
    """The received files (or, once erased, a note in their place) and their listing."""
    files: list[tuple[str, bytes]] = []
    listing: list[dict[str, Any]] = []
    for index, f in enumerate(data.files, start=1):
        suffix = _FILE_SUFFIXES.get(f.media_type, "xml" if "xml" in f.media_type else "bin")
        stem = f"files/{index:02d}-{safe_name(f.kind)}-{f.sha256[:12]}"
        entry: dict[str, Any] = {
            "kind": f.kind,
            "media_type": f.media_type,
            "sha256": f.sha256,
            "size": f.size,
            "received_at": f.received_at.astimezone(UTC).isoformat(),
        }
        if f.content is not None:
            entry["path"] = f"{stem}.{suffix}"
            files.append((entry["path"], f.content))
        else:
            entry["path"] = None
            entry["note"] = ERASED_FILE_NOTE
            note = f"SHA-256: {f.sha256}\nSize: {f.size}\n\n{ERASED_FILE_NOTE}\n"
            files.append((f"{stem}.erased.txt", note.encode("utf-8")))
        listing.append(entry)
    return files, listing


def build_dossier(data: DossierInput) -> Dossier:
    """The ZIP, its manifest and its SHA-256."""
    summary = render_summary(
        SummaryInput(
            case=data.case,
            view=data.view,
            chain=data.stream.verification,
            emails=data.emails,
            documents=data.documents,
            history_events=data.history_events,
            generated_at=data.generated_at,
            generated_by=data.generated_by,
        )
    )
    files: list[tuple[str, bytes]] = [
        ("summary.pdf", summary),
        ("events.json", _json_bytes(data.stream.model_dump(mode="json"))),
        ("history.json", data.history_json.encode("utf-8")),
        *(
            (f"history/run-{index}-{safe_name(run_id)}.json", run_json.encode("utf-8"))
            for index, (run_id, run_json) in enumerate(data.earlier_runs, start=1)
        ),
        *_documents(data),
        *_proofs(data),
    ]
    kept, case_files = _case_files(data)
    files += kept
    manifest = {
        "case_id": data.case.case_id,
        "invoice_number": data.case.invoice_number,
        "workflow_id": data.case.workflow_id,
        "generated_at": data.generated_at.astimezone(UTC).isoformat(),
        "generated_by": data.generated_by,
        "event_chain": {
            "ok": data.stream.verification.ok,
            "head_hash": data.stream.verification.head_hash,
        },
        "files": [
            {"path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
            for path, content in files
        ],
        "case_files": case_files,
    }
    files.append(("manifest.json", _json_bytes(manifest)))
    at = data.generated_at.astimezone(UTC)
    stamp = (at.year, at.month, at.day, at.hour, at.minute, at.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in files:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    content = buffer.getvalue()
    filename = f"dossier-{safe_name(data.case.invoice_number)}.zip"
    return Dossier(filename, content, hashlib.sha256(content).hexdigest(), manifest)
