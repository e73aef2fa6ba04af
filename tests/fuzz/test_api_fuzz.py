"""Schemathesis against the whole running service: no input is a server error, and no
input stalls a case.

The fuzzer reads the app's own ``/openapi.json`` and sends what it derives from it to the
real stack of the e2e tests (API over uvicorn, worker on the Temporal dev server,
PostgreSQL, SMTP), as the ERP and as an operator, through every phase of
``schemathesis run`` (examples, coverage, fuzzing, stateful: POST /v1/invoices ->
``case_id`` -> the case's endpoints, along the schema's links), with the check
``not_a_server_error``. Case operations also get the ids of a pool of real cases, so
events reach live workflows rather than 404s. Generation is deterministic
(``--generation-deterministic``: Hypothesis' derandomize), so CI sees the same inputs.

Afterwards every case the run touched must still answer (GET 200) and, unless the fuzzer
closed it, still take the payment of its balance and close as paid.

The run's reports (JSON, and a pytest file replaying each failure with ``requests``) go
to ``$RECOUVRE_FUZZ_REPORT_DIR`` if set, else the test's tmp dir; a failure names them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType

from services.api.app import create_app
from services.api.routers import reports
from storage.tables import cases
from tests.e2e.conftest import Service
from tests.support.invoices import invoice_payload
from tests.support.serving import serve

ROOT = Path(__file__).resolve().parents[2]
TENANT = "fuzz"
KEYS = {
    "erp": "erp-key-fuzz-0123456789",
    "operator": "operator-key-fuzz-0123456789",
    "auditor": "auditor-key-fuzz-0123456789",
}
KEY_SPEC = ",".join(f"{key}={role}:{TENANT}" for role, key in KEYS.items())
MAX_EXAMPLES = int(os.environ.get("RECOUVRE_FUZZ_MAX_EXAMPLES", "20"))
"""Per operation and phase: the whole test takes about a minute on 2 cores. Raise it
(RECOUVRE_FUZZ_MAX_EXAMPLES=200) for a deeper run by hand."""
STATEFUL_SCENARIOS = MAX_EXAMPLES
"""Stateful walks (POST /v1/invoices, then the case's links)."""
RPC_TIMEOUT_S = 1.5
"""The fuzzed app's TEMPORAL_RPC_TIMEOUT_S: a case the fuzzer broke answers 503 after it,
so keep it short (the e2e default is 3 s)."""
RETRYING_ATTEMPTS = 3
"""An activity on its third attempt or more at the end of the run is failing for good."""
RUN_TIMEOUT_S = 420.0 * max(1, MAX_EXAMPLES / 20)
EXCLUDED_PATHS = r"^/v1/(webhooks|partners)/"
"""Signed partner webhooks: not configured in this service (503 by design), and their
bodies are only accepted with an HMAC the fuzzer cannot compute."""
AUDIT_OPERATIONS = (
    "getCaseEvents",
    "getCaseHistory",
    "getCaseDossier",
    "replayCases",
    "listAuditorReads",
)
ERP_ONLY_OPERATIONS = ("registerInvoice", "recordEInvoicingStatus")

pytestmark = pytest.mark.e2e


def _bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.fixture(scope="module")
async def fuzz_url(service: Service) -> AsyncIterator[str]:
    """The same app, on the same worker, database and Temporal, for a tenant of its own:
    what the fuzzer creates is easy to find, and nothing else is touched."""
    settings = service.settings.model_copy(
        update={
            "api_keys": KEY_SPEC,
            "temporal_rpc_timeout_s": RPC_TIMEOUT_S,
            # A case read asking for a position far ahead waits this long, then answers.
            "read_your_writes_wait_s": 0.2,
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        # The e2e stack runs no projector, so GET /v1/cases?after_position=n always waits
        # its full read-your-writes delay (5 s) before its 503: shorten it, or those waits
        # are most of the run.
        patch.setattr(reports, "READ_YOUR_WRITES_WAIT_S", 0.2, raising=False)
        async with serve(create_app(settings)) as base_url:
            yield base_url


def _pool_payloads() -> list[dict[str, Any]]:
    """Cases in different states: standard and demo timelines (the demo one reaches the
    formal notice and escalation within a minute), every debtor kind, both bounds."""
    tag = f"{int(time.time())}"
    consumer = {
        "kind": "consumer",
        "name": "Jeanne Martin",
        "email": "jeanne@martin.example",
        "address": {"line1": "3 rue Neuve", "postal_code": "69001", "city": "Lyon"},
    }
    public = {**consumer, "kind": "public", "name": "Commune de Lyon", "siren": "216901231"}
    bodies = [
        invoice_payload(),
        invoice_payload(amount_due="999999999.99"),
        # (an invoice already prescribed, e.g. due in 2000, is in test_fuzz_findings)
        invoice_payload(amount_due="0.01", issue_date="2026-01-01", due_date="2026-01-31"),
        invoice_payload(policy="demo"),
        invoice_payload(policy="demo", amount_due="5000.00"),
        invoice_payload(debtor=consumer),
        invoice_payload(debtor=public, due_date="2100-12-31"),
        invoice_payload(issue_date="2025-01-02", due_date="2025-02-01"),
    ]
    for number, body in enumerate(bodies):
        body["invoice_number"] = f"FUZZ-POOL-{tag}-{number}"
    return bodies


async def _case_pool(base_url: str) -> list[str]:
    ids = []
    async with httpx.AsyncClient(base_url=base_url, headers=_bearer("erp"), timeout=30) as erp:
        for body in _pool_payloads():
            response = await erp.post("/v1/invoices", json=body)
            assert response.status_code == 201, response.text
            ids.append(response.json()["case_id"])
    return ids


def _operations(role: str) -> str:
    """Per-operation keys: each run uses its role's key, except where only another role
    may act, so the stateful phase can create cases and the audit reads are reached."""
    blocks = []
    if role == "operator":
        for operation in ERP_ONLY_OPERATIONS:
            blocks.append((operation, "erp"))
        for operation in AUDIT_OPERATIONS:
            blocks.append((operation, "auditor"))
    lines = []
    for operation, who in blocks:
        lines += [
            "[[operations]]",
            f'include-operation-id = "{operation}"',
            f'headers = {{ Authorization = "Bearer {KEYS[who]}" }}',
            "",
        ]
    return "\n".join(lines)


def _config(role: str, pool: list[str], report_dir: Path) -> str:
    values = ", ".join(json.dumps(case_id) for case_id in pool)
    return f"""
headers = {{ Authorization = "Bearer {KEYS[role]}" }}
request-timeout = 30.0
# One worker: the API and the case worker share the test's event loop anyway, and with two
# threads CPython 3.11.7's ast module can fail inside Hypothesis ("AST constructor
# recursion depth mismatch", cpython#106905), which schemathesis reports as an error.
workers = 1

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[phases.stateful]
generation.max-examples = {STATEFUL_SCENARIOS}

[dictionaries.case_ids]
values = [{values}]

[parameters]
"path.case_id" = {{ dictionary = "case_ids", probability = 0.9 }}

# 503 is the service's deliberate "not now" (Temporal, a worker or the read model): the
# hooks' deliberate_unavailable check holds it to Retry-After and the error shape, and a
# case left unable to answer is caught afterwards. Any other 5xx fails.
[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "503"]

[reports]
directory = "{report_dir}"

[[operations]]
include-path-regex = "{EXCLUDED_PATHS}"
enabled = false

{_operations(role)}
"""


def _write_config(role: str, pool: list[str], report_dir: Path) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    config = report_dir / "schemathesis.toml"
    config.write_text(_config(role, pool, report_dir))
    return config


def _read_report(report_dir: Path, text: str) -> dict[str, Any]:
    (report_dir / "output.txt").write_text(text)
    json_report = report_dir / "report.json"
    if not json_report.exists():
        return {}
    report: dict[str, Any] = json.loads(json_report.read_text())
    return report


async def _run_schemathesis(
    base_url: str, role: str, pool: list[str], report_dir: Path
) -> tuple[int, str, dict[str, Any]]:
    config = _write_config(role, pool, report_dir)
    json_report = report_dir / "report.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "not_a_server_error,deliberate_unavailable",
        "--no-color",
        "--report",
        "json,pytest",
        "--report-json-path",
        str(json_report),
        "--report-pytest-path",
        str(report_dir / "test_reproduce_failures.py"),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=report_dir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode(errors="replace")
    assert process.returncode is not None
    return process.returncode, text, _read_report(report_dir, text)


def _summary(role: str, text: str, report_dir: Path) -> str:
    start = text.find("=== FAILURES")
    if start < 0:
        start = text.find("=== ERRORS")
    body = text[start:] if start >= 0 else text[-6000:]
    return f"schemathesis as {role} (reports in {report_dir}):\n{body[:12000]}"


async def _stuck_reason(service: Service, case_id: str, engine: AsyncEngine) -> str:
    """What broke a case's workflow: its last failed workflow task, if any."""
    async with engine.connect() as conn:
        workflow_id = await conn.scalar(
            select(cases.c.workflow_id).where(cases.c.case_id == case_id)
        )
    handle = service.dev_env.client.get_workflow_handle(str(workflow_id))
    failures = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            failures.append(f"{failure.message}\n{failure.stack_trace[-3000:]}")
    return failures[-1] if failures else "no failed workflow task in the history"


async def _retrying_activities(service: Service, engine: AsyncEngine, case_id: str) -> list[str]:
    """Activities of the case's workflow that keep failing (e.g. an event store append
    the database refuses): a case can answer and still be stuck behind one."""
    async with engine.connect() as conn:
        workflow_id = await conn.scalar(
            select(cases.c.workflow_id).where(cases.c.case_id == case_id)
        )
    handle = service.dev_env.client.get_workflow_handle(str(workflow_id))
    description = await handle.describe()
    return [
        f"{pending.activity_type.name} attempt {pending.attempt}: "
        f"{pending.last_failure.message[:300]}"
        for pending in description.raw_description.pending_activities
        if pending.attempt >= RETRYING_ATTEMPTS
    ]


async def _check_every_case(service: Service, engine: AsyncEngine, base_url: str) -> list[str]:
    """Every case of the tenant still answers, and an open one closes on its balance."""
    async with engine.connect() as conn:
        case_ids = list(
            (await conn.scalars(select(cases.c.case_id).where(cases.c.tenant == TENANT))).all()
        )
    assert case_ids, "the fuzzer created no case"
    today = datetime.now(UTC).date()
    problems: list[str] = []
    async with httpx.AsyncClient(
        base_url=base_url, headers=_bearer("operator"), timeout=60
    ) as operator:
        live = {"consistency": "live"}  # the workflow itself must answer, with its balance
        for number, case_id in enumerate(case_ids):
            read = await operator.get(f"/v1/cases/{case_id}", params=live)
            if read.status_code == 503:  # maybe just busy: once more, after a pause
                await asyncio.sleep(RPC_TIMEOUT_S)
                read = await operator.get(f"/v1/cases/{case_id}", params=live)
            if read.status_code != 200:
                reason = await _stuck_reason(service, case_id, engine)
                problems.append(f"{case_id}: GET {read.status_code} {read.text[:300]}\n{reason}")
                continue
            case = read.json()
            if case["stage"] == "closed":
                continue
            paid = await operator.post(
                f"/v1/cases/{case_id}/payments",
                json={
                    "amount": case["balance"],
                    "paid_on": min(today, date(2100, 12, 31)).isoformat(),
                    "reference": f"FUZZ-CLOSE-{number}",
                },
            )
            closed = paid.status_code == 200 and paid.json()["outcome"] == "paid"
            if not closed:
                reason = await _stuck_reason(service, case_id, engine)
                problems.append(
                    f"{case_id} (stage {case['stage']}, balance {case['balance']}, holds "
                    f"{[h['kind'] for h in case['holds']]}): payment of the balance answered "
                    f"{paid.status_code} {paid.text[:300]}\n{reason}"
                )
    await asyncio.sleep(2)  # let the last writes' activities run once
    for case_id in case_ids:
        retrying = await _retrying_activities(service, engine, case_id)
        if retrying:
            problems.append(f"{case_id}: activities failing again and again: {retrying}")
    return problems


def _write_findings(root: Path, failures: list[str], stalled: list[str]) -> None:
    text = "\n\n".join([*failures, *(f"STALLED {case}" for case in stalled)])
    (root / "findings.txt").write_text(text or "nothing found\n")


@dataclass(frozen=True)
class FuzzRun:
    failures: list[str]
    """One summary per run that found a failure (a 5xx, a bare 503, a schema error)."""
    stalled: list[str]
    """Cases left unable to answer or to close on their balance, with the cause."""


@pytest.fixture(scope="module")
async def fuzz_run(
    service: Service, engine: AsyncEngine, fuzz_url: str, tmp_path_factory: pytest.TempPathFactory
) -> FuzzRun:
    root = Path(os.environ.get("RECOUVRE_FUZZ_REPORT_DIR") or tmp_path_factory.mktemp("fuzz"))
    pool = await _case_pool(fuzz_url)
    failures = []
    for role in ("erp", "operator"):
        report_dir = root / role
        code, text, report = await _run_schemathesis(fuzz_url, role, pool, report_dir)
        if code != 0 or report.get("failures") or report.get("errors"):
            failures.append(_summary(role, text, report_dir))
    stalled = await _check_every_case(service, engine, fuzz_url)
    _write_findings(root, failures, stalled)
    return FuzzRun(failures, stalled)


async def test_no_input_is_a_server_error(fuzz_run: FuzzRun) -> None:
    assert not fuzz_run.failures, "\n\n".join(fuzz_run.failures)


async def test_no_input_stalls_a_case(fuzz_run: FuzzRun) -> None:
    """Every case the run touched still answers and, unless the fuzzer closed it, takes
    the payment of its balance and closes as paid."""
    assert not fuzz_run.stalled, "cases left unable to close:\n" + "\n\n".join(fuzz_run.stalled)
