"""An auditor reads a case's event stream, its workflow history and its evidence bundle."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from typing import Any
from uuid import UUID

from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHistory

from eventstore.hashing import GENESIS_HASH, content_hash
from eventstore.records import StoredEvent
from tests.audit.conftest import (
    AuditApi,
    AuditedCase,
    Service,
    append_calls,
    open_case,
    pay_in_full,
    wait_closed,
)
from tests.support.service import AUDITOR_ACTOR

STARTED = "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"


def _recomputed(event: dict[str, Any]) -> str:
    """The content hash of an exported event, computed from the export alone."""
    return content_hash(
        StoredEvent(
            position=event["position"],
            stream_id=event["stream_id"],
            version=event["version"],
            event_id=UUID(event["event_id"]),
            event_type=event["type"],
            schema_version=event["schema_version"],
            data=event["data"],
            metadata=event["metadata"],
            recorded_at=datetime.fromisoformat(event["recorded_at"]),
            content_hash="",
            prev_hash=event["prev_hash"],
        )
    )


def _unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_the_events_endpoint_returns_the_stream_with_an_intact_chain(
    audit_api: AuditApi, reminded_case: AuditedCase
) -> None:
    async with audit_api.client("auditor") as auditor:
        answer = await auditor.get(f"/v1/cases/{reminded_case.case_id}/events")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    events = body["events"]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert [(e["type"], e["schema_version"]) for e in events[-2:]] == [
        ("PhoneCallLogged", 1),
        ("PhoneCallLogged", 1),
    ], "the two calls appended last"
    assert events[-1]["data"]["operator"] == "Camille Lefèvre"
    assert events[-1]["metadata"]["workflow_id"] == reminded_case.workflow_id
    assert {e["stream_id"] for e in events} == {reminded_case.case_id}
    assert events[0]["prev_hash"] == GENESIS_HASH
    assert [e["prev_hash"] for e in events[1:]] == [e["content_hash"] for e in events[:-1]]
    assert [_recomputed(e) for e in events] == [e["content_hash"] for e in events]
    assert body["verification"] == {
        "ok": True,
        "count": len(events),
        "head_hash": events[-1]["content_hash"],
        "first_break": None,
    }
    assert answer.headers["X-Audit-Read"].startswith("audit:acme@")


async def test_the_history_endpoint_exports_the_workflow_history(
    audit_api: AuditApi, reminded_case: AuditedCase
) -> None:
    async with audit_api.client("auditor") as auditor:
        answer = await auditor.get(f"/v1/cases/{reminded_case.case_id}/history")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    history = answer.json()
    assert isinstance(history, dict)
    assert history["events"][0]["eventType"] == STARTED
    assert history["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    types = {event["eventType"] for event in history["events"]}
    assert "EVENT_TYPE_ACTIVITY_TASK_COMPLETED" in types, "reminder 1's email is in it"
    loaded = WorkflowHistory.from_json(reminded_case.workflow_id, answer.text)
    assert len(loaded.events) == len(history["events"])


async def test_the_dossier_holds_summary_stream_history_documents_and_a_true_manifest(
    audit_api: AuditApi, reminded_case: AuditedCase
) -> None:
    async with audit_api.client("auditor") as auditor:
        answer = await auditor.get(f"/v1/cases/{reminded_case.case_id}/dossier")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="dossier-{reminded_case.invoice_number}.zip"'
    )
    assert answer.headers["x-dossier-sha256"] == hashlib.sha256(answer.content).hexdigest()
    files = _unzip(answer.content)
    assert list(files) == [
        "summary.pdf",
        "events.json",
        "history.json",
        "documents/01-reminder_1-email.txt",
        "documents/02-receipt-email.txt",
        "manifest.json",
    ]

    manifest = json.loads(files["manifest.json"])
    assert manifest["case_id"] == reminded_case.case_id
    assert manifest["generated_by"] == AUDITOR_ACTOR
    assert datetime.fromisoformat(manifest["generated_at"]).tzinfo is not None
    assert [f["path"] for f in manifest["files"]] == list(files)[:-1]
    for entry in manifest["files"]:
        content = files[entry["path"]]
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), entry["path"]
        assert entry["size"] == len(content), entry["path"]

    events = json.loads(files["events.json"])
    assert events["verification"]["ok"] is True
    assert [e["type"] for e in events["events"]][-2:] == ["PhoneCallLogged", "PhoneCallLogged"]
    assert manifest["event_chain"] == {
        "ok": True,
        "head_hash": events["events"][-1]["content_hash"],
    }
    assert json.loads(files["history.json"])["events"][0]["eventType"] == STARTED

    email = files["documents/01-reminder_1-email.txt"].decode()
    assert "To: compta@durand.example" in email
    assert reminded_case.invoice_number in email  # in the subject
    assert "Body-SHA256: " in email and "Message-ID: <" in email
    assert "Body-SHA256-Check: match" in email, "a copy of what was sent, matching its hash"
    assert "Sauf erreur de notre part" in email, "the reminder's text itself"

    summary = _pdf_text(files["summary.pdf"])
    assert reminded_case.invoice_number in summary
    assert "Relance 1 (courtoise)" in summary
    assert "Mise en demeure : non envoyée" in summary
    assert "Durand SARL" in summary and "Débiteur" in summary
    assert "demo version 3" in summary
    assert "VIR-AUDIT" in summary, "the payment"
    assert f"intacte : {len(events['events'])} événements vérifiés" in summary
    assert events["events"][-1]["content_hash"] in summary.replace("\n", "")


async def test_a_row_altered_behind_the_store_is_reported_by_events_and_dossier(
    audit_api: AuditApi, service: Service, engine: AsyncEngine
) -> None:
    case = await open_case(audit_api)
    await pay_in_full(audit_api, case)  # closed at once: no reminder
    await wait_closed(service, case)
    altered = await append_calls(engine, case)
    async with engine.begin() as conn:  # what a DBA could do: lift the guard, edit, restore
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only"))
        await conn.execute(
            text(
                "UPDATE events SET data = jsonb_set(data, '{note}', to_jsonb(CAST(:note AS text)))"
                " WHERE stream_id = :s AND version = :v"
            ),
            {"s": case.case_id, "v": altered, "note": "Appel 1 : aucun paiement."},
        )
        await conn.execute(text("ALTER TABLE events ENABLE ALWAYS TRIGGER events_append_only"))

    async with audit_api.client("auditor") as auditor:
        events = await auditor.get(f"/v1/cases/{case.case_id}/events")
        dossier = await auditor.get(f"/v1/cases/{case.case_id}/dossier")

    assert events.status_code == 200, events.text
    body = events.json()
    assert body["events"][altered - 1]["data"]["note"] == "Appel 1 : aucun paiement.", "as it is"
    assert body["verification"]["ok"] is False
    assert body["verification"]["count"] == altered - 1, "the events before it still hold"
    assert body["verification"]["first_break"]["version"] == altered
    assert body["verification"]["first_break"]["problem"] == "content_hash_mismatch"

    assert dossier.status_code == 200, dossier.text
    files = _unzip(dossier.content)
    assert json.loads(files["events.json"])["verification"] == body["verification"]
    assert json.loads(files["manifest.json"])["event_chain"]["ok"] is False
    summary = _pdf_text(files["summary.pdf"])
    assert f"ROMPUE à la version {altered} (content_hash_mismatch)" in summary
    assert case.invoice_number in summary
    assert "Relance 1" not in summary, "paid before any reminder"
