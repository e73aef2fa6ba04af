"""Auditors: a case's event stream, workflow history and evidence bundle; replay checks.

Auditor role only (operators get 403); another tenant's case answers 404. Every read is
recorded as an AuditorRead event in the tenant's audit stream before the answer leaves:
a read that cannot be recorded is not served. The answer's ``X-Audit-Read`` header names
the recording event (stream@version).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from temporalio.client import WorkflowHistory

from eventstore.errors import ConcurrencyConflict
from eventstore.events import AuditedRead
from services.api.case_access import case_state
from services.api.debtor_names import with_identity
from services.api.deps import Runtime, RuntimeDep, require
from services.api.errors import ApiError, ErrorResponse
from services.api.intake import temporal_unavailable
from services.api.keys import Principal, Role
from services.audit.case_records import (
    CaseRecord,
    case_documents,
    case_file_records,
    case_proofs,
    find_case,
    find_cases,
    tenant_cases,
)
from services.audit.dossier import DossierInput, build_dossier
from services.audit.history import HistoryNotFound, TemporalUnavailable, fetch_runs
from services.audit.models import AuditorReads, ReplayReport, ReplayRequest, StreamExport
from services.audit.reads import list_reads, record_read
from services.audit.replay import not_found, replay_cases, totals
from services.audit.stream import case_stream_id, export_stream
from services.payload_codec import PayloadDecryptionError, decode_history

router = APIRouter(tags=["audit"])
AuditorPrincipal = Annotated[Principal, Depends(require(Role.auditor))]
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (403, 404, 503)
}
NO_STORE = {"Cache-Control": "no-store"}


def _timeout(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.temporal_rpc_timeout_s)


async def _case(runtime: Runtime, principal: Principal, case_id: str) -> CaseRecord:
    found = await find_case(runtime.engine, principal.tenant, case_id)
    if found is None:
        raise ApiError(404, "not_found", f"no case {case_id}")
    return found


async def record_auditor_read(
    runtime: Runtime,
    principal: Principal,
    what: AuditedRead,
    case_id: str | None = None,
    case_ids: Sequence[str] = (),
) -> dict[str, str]:
    """Record the read; the headers to answer with."""
    try:
        recorded = await record_read(runtime.engine, principal, what, case_id, case_ids)
    except ConcurrencyConflict as err:
        raise ApiError(
            503,
            "audit_log_busy",
            "the read could not be recorded in the audit trail (concurrent reads); retry",
            headers={"Retry-After": "1"},
        ) from err
    return {**NO_STORE, "X-Audit-Read": f"{recorded.stream_id}@{recorded.version}"}


async def _runs(runtime: Runtime, case: CaseRecord) -> list[tuple[str, WorkflowHistory]]:
    """Every run of the case's workflow, oldest first (continue-as-new starts new runs)."""
    try:
        return await fetch_runs(runtime.temporal, case.workflow_id, _timeout(runtime))
    except HistoryNotFound as err:
        raise ApiError(
            404, "not_found", f"Temporal has no history for case {case.case_id} any more"
        ) from err
    except TemporalUnavailable as err:
        raise temporal_unavailable(err) from err


@router.get(
    "/v1/cases/{case_id}/events",
    operation_id="getCaseEvents",
    responses=RESPONSES,
)
async def get_case_events(
    case_id: str, principal: AuditorPrincipal, runtime: RuntimeDep, response: Response
) -> StreamExport:
    """The case's event stream exactly as stored (data, metadata, hashes) and the
    verification of its hash chain: ok, or the first broken link."""
    case = await _case(runtime, principal, case_id)
    export = await export_stream(runtime.engine, case_stream_id(case.case_id))
    response.headers.update(
        await record_auditor_read(runtime, principal, AuditedRead.case_events, case_id)
    )
    return export


@router.get(
    "/v1/cases/{case_id}/history",
    operation_id="getCaseHistory",
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "Temporal's JSON export of the workflow history ({events: [...]})",
        },
        **RESPONSES,
        409: {"model": ErrorResponse, "description": "a payload the keys cannot decrypt"},
    },
    response_class=Response,
)
async def get_case_history(
    case_id: str,
    principal: AuditorPrincipal,
    runtime: RuntimeDep,
    run_id: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f-]+$")] = None,
    payloads: Annotated[
        Literal["stored", "decoded"],
        Query(
            description="stored: the payloads as Temporal holds them (encrypted when payload "
            "encryption is on: they replay with recouvre's keys); decoded: decrypted with "
            "the API's payload keys, readable and replayable without them"
        ),
    ] = "stored",
) -> Response:
    """The case's Temporal workflow history, as Temporal exports it: it loads back with
    WorkflowHistory.from_json and replays with the Temporal tools. The latest run by
    default; ``X-Workflow-Runs`` lists every run id, oldest first (a long case continues
    as new), and ``?run_id=`` returns an earlier one. ``X-Payloads`` says whether the
    payloads are as stored or decoded (docs/data-protection.md)."""
    case = await _case(runtime, principal, case_id)
    runs = await _runs(runtime, case)
    chosen = dict(runs).get(run_id) if run_id else runs[-1][1]
    if chosen is None:
        raise ApiError(404, "not_found", f"case {case.case_id} has no run {run_id}")
    history = chosen
    codec = runtime.temporal.data_converter.payload_codec
    if payloads == "decoded" and codec is not None:
        try:
            history = await decode_history(chosen, codec)
        except PayloadDecryptionError as err:
            raise ApiError(409, "payload_undecryptable", str(err)) from err
    headers = await record_auditor_read(runtime, principal, AuditedRead.case_history, case_id)
    headers["X-Workflow-Id"] = case.workflow_id
    headers["X-Workflow-Runs"] = ",".join(run for run, _ in runs)
    headers["X-Payloads"] = payloads
    return Response(content=history.to_json(), media_type="application/json", headers=headers)


@router.get(
    "/v1/cases/{case_id}/dossier",
    operation_id="getCaseDossier",
    responses={
        200: {"content": {"application/zip": {}}, "description": "The evidence bundle"},
        **RESPONSES,
    },
    response_class=Response,
)
async def get_case_dossier(
    case_id: str, principal: AuditorPrincipal, runtime: RuntimeDep
) -> Response:
    """The evidence bundle as a ZIP: summary.pdf, events.json (stream and verification),
    history.json, documents/ (every email and document sent), proofs/ (the registered-mail
    provider's deposit proofs and acknowledgements of receipt), files/ (the e-invoices and
    e-credit notes as received; manifest.json's ``case_files`` lists their SHA-256, also
    once an erased debtor's file is left out) and manifest.json (SHA-256 and size of each
    file, when and for whom it was generated)."""
    case = await _case(runtime, principal, case_id)
    handle = runtime.temporal.get_workflow_handle(case.workflow_id)
    view, stream, (emails, documents), proofs, files, runs = await asyncio.gather(
        case_state(runtime, handle),
        export_stream(runtime.engine, case_stream_id(case.case_id)),
        case_documents(runtime.engine, case.case_id, runtime.debtors, case),
        case_proofs(runtime.engine, case.case_id),
        case_file_records(runtime.engine, case.tenant, case.case_id, runtime.debtors),
        _runs(runtime, case),
    )
    history = runs[-1][1]
    dossier = await asyncio.to_thread(
        build_dossier,
        DossierInput(
            case=await with_identity(runtime, case),
            view=view,
            stream=stream,
            history_json=history.to_json(),
            history_events=sum(len(run.events) for _, run in runs),
            earlier_runs=[(run_id, run.to_json()) for run_id, run in runs[:-1]],
            emails=emails,
            documents=documents,
            proofs=proofs,
            files=files,
            generated_at=datetime.now(UTC),
            generated_by=principal.actor,
        ),
    )
    headers = await record_auditor_read(runtime, principal, AuditedRead.case_dossier, case_id)
    headers["Content-Disposition"] = f'attachment; filename="{dossier.filename}"'
    headers["X-Dossier-SHA256"] = dossier.sha256
    return Response(content=dossier.content, media_type="application/zip", headers=headers)


@router.post(
    "/v1/audit/replay",
    operation_id="replayCases",
    responses={**RESPONSES, 422: {"model": ErrorResponse}},
)
async def replay(
    request: ReplayRequest, principal: AuditorPrincipal, runtime: RuntimeDep, response: Response
) -> ReplayReport:
    """Replay cases' workflow histories against the workflow code this server runs.

    ``{"case_ids": [...]}`` (at most 200) or ``{"all": true}`` (the tenant's cases in case
    id order, 200 at most per call: continue with ``after`` = ``next_after``). A case whose
    history the current code would not reproduce is ok=false with the SDK's message.
    """
    next_after = None
    if request.all:
        found, more = await tenant_cases(
            runtime.engine, principal.tenant, request.after, request.limit
        )
        wanted = [case.case_id for case in found]
        next_after = found[-1].case_id if more and found else None
    else:
        wanted = list(dict.fromkeys(request.case_ids or []))
        found = await find_cases(runtime.engine, principal.tenant, wanted)
    by_id = {case.case_id: case for case in found}
    present = [by_id[case_id] for case_id in wanted if case_id in by_id]
    replayed = {
        r.case_id: r for r in await replay_cases(runtime.temporal, present, _timeout(runtime))
    }
    results = [replayed.get(case_id) or not_found(case_id) for case_id in wanted]
    unavailable = [r for r in results if r.error_type == "history_unavailable"]
    if unavailable and len(unavailable) == len(present):
        raise temporal_unavailable(RuntimeError(unavailable[0].error or "no history fetched"))
    response.headers.update(
        await record_auditor_read(
            runtime,
            principal,
            AuditedRead.replay,
            present[0].case_id if len(present) == 1 else None,
            [case.case_id for case in present],
        )
    )
    return ReplayReport(results=results, totals=totals(results), next_after=next_after)


@router.get("/v1/audit/reads", operation_id="listAuditorReads", responses=RESPONSES)
async def get_reads(
    principal: AuditorPrincipal,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many reads, newest first")] = 50,
) -> AuditorReads:
    """The latest auditor reads of this tenant, newest first, with the verification of
    the audit trail's hash chain (this listing is not itself recorded)."""
    return await list_reads(runtime.engine, principal.tenant, limit)
