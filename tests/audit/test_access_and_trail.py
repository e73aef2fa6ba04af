"""Only auditors read, only their tenant's cases, and every read leaves a chained trace."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import AuditedRead, AuditorRead
from eventstore.store import EventStore
from tests.audit.conftest import AuditApi, AuditedCase
from tests.support.service import AUDITOR_ACTOR


def _reads(case_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/v1/cases/{case_id}/events"),
        ("GET", f"/v1/cases/{case_id}/history"),
        ("GET", f"/v1/cases/{case_id}/dossier"),
    ]


@pytest.mark.parametrize("who", ["operator", "erp"])
async def test_other_roles_get_403_on_every_auditor_endpoint(
    audit_api: AuditApi, reminded_case: AuditedCase, who: str
) -> None:
    async with audit_api.client(who) as client:
        answers = [await client.request(m, p) for m, p in _reads(reminded_case.case_id)]
        answers.append(
            await client.post("/v1/audit/replay", json={"case_ids": [reminded_case.case_id]})
        )
        answers.append(await client.get("/v1/audit/reads"))
    assert [a.status_code for a in answers] == [403] * 5
    assert {a.json()["error"]["code"] for a in answers} == {"forbidden"}


async def test_another_tenants_auditor_gets_404_and_nothing_of_the_case(
    audit_api: AuditApi, reminded_case: AuditedCase, engine: AsyncEngine
) -> None:
    store = EventStore(engine)
    before = await store.stream_version("audit:acme")
    async with audit_api.client("other_auditor") as other:
        answers = [await other.request(m, p) for m, p in _reads(reminded_case.case_id)]
        replay = await other.post("/v1/audit/replay", json={"case_ids": [reminded_case.case_id]})

    assert [a.status_code for a in answers] == [404] * 3
    assert replay.status_code == 200
    [result] = replay.json()["results"]
    assert (result["ok"], result["error_type"], result["workflow_id"]) == (False, "not_found", None)
    assert await store.stream_version("audit:acme") == before, "nothing read in acme's cases"


async def test_every_auditor_read_is_recorded_in_the_tenants_chained_trail(
    audit_api: AuditApi, reminded_case: AuditedCase, engine: AsyncEngine
) -> None:
    store = EventStore(engine)
    case_id = reminded_case.case_id
    before = await store.stream_version("audit:acme")
    async with audit_api.client("auditor") as auditor:
        for method, path in _reads(case_id):
            assert (await auditor.request(method, path)).status_code == 200, path
        replay = await auditor.post("/v1/audit/replay", json={"case_ids": [case_id]})
        assert replay.status_code == 200
        both = await asyncio.gather(  # two at once: the second append retries on the new version
            auditor.get(f"/v1/cases/{case_id}/events"), auditor.get(f"/v1/cases/{case_id}/events")
        )
        assert [a.status_code for a in both] == [200, 200]
        listed = await auditor.get("/v1/audit/reads", params={"limit": 6})

    recorded = await store.read_stream("audit:acme", from_version=before + 1)
    reads = [r.event for r in recorded if isinstance(r.event, AuditorRead)]
    assert len(reads) == len(recorded) == 6
    assert [(e.what, e.case_id, e.role, e.tenant) for e in reads] == [
        (AuditedRead.case_events, case_id, "auditor", "acme"),
        (AuditedRead.case_history, case_id, "auditor", "acme"),
        (AuditedRead.case_dossier, case_id, "auditor", "acme"),
        (AuditedRead.replay, case_id, "auditor", "acme"),
        (AuditedRead.case_events, case_id, "auditor", "acme"),
        (AuditedRead.case_events, case_id, "auditor", "acme"),
    ]
    assert reads[3].case_ids == (case_id,)
    assert {r.metadata.actor for r in recorded} == {AUDITOR_ACTOR}
    assert sorted(a.headers["X-Audit-Read"] for a in both) == [
        f"audit:acme@{before + 5}",
        f"audit:acme@{before + 6}",
    ]
    assert (await store.verify_stream("audit:acme")).ok

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["stream_id"] == "audit:acme" and body["verification"]["ok"] is True
    assert [r["version"] for r in body["reads"]] == list(range(before + 6, before, -1))
    assert [r["what"] for r in body["reads"]][-4:] == [
        "replay",
        "case_dossier",
        "case_history",
        "case_events",
    ]
    assert await store.stream_version("audit:acme") == before + 6, "listing is not recorded"


async def test_without_a_key_the_auditor_endpoints_answer_401(audit_api: AuditApi) -> None:
    async with audit_api.client("auditor") as auditor:
        answer = await auditor.get("/v1/audit/reads", headers={"Authorization": ""})
    assert answer.status_code == 401


async def test_an_auditor_reading_a_case_leaves_a_trace_an_operator_does_not(
    audit_api: AuditApi, reminded_case: AuditedCase, engine: AsyncEngine
) -> None:
    store = EventStore(engine)
    before = await store.stream_version("audit:acme")
    async with audit_api.client("operator") as operator:
        assert (await operator.get(f"/v1/cases/{reminded_case.case_id}")).status_code == 200
    assert await store.stream_version("audit:acme") == before, "operators are not audited"
    async with audit_api.client("auditor") as auditor:
        assert (await auditor.get(f"/v1/cases/{reminded_case.case_id}")).status_code == 200
    [read] = await store.read_stream("audit:acme", from_version=before + 1)
    assert isinstance(read.event, AuditorRead)
    assert (read.event.what, read.event.case_id) == (AuditedRead.case, reminded_case.case_id)
