"""Replaying cases' recorded histories against the current workflow code."""

from __future__ import annotations

import json

from temporalio.client import WorkflowHistory

from services.audit.replay import replay_histories
from tests.audit.conftest import AuditApi, AuditedCase
from tests.support.histories import HISTORIES


async def test_a_case_history_replays_ok_and_unknown_ids_are_reported(
    audit_api: AuditApi, reminded_case: AuditedCase
) -> None:
    ids = [reminded_case.case_id, "no-such-case", reminded_case.case_id]
    async with audit_api.client("auditor") as auditor:
        answer = await auditor.post("/v1/audit/replay", json={"case_ids": ids})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    first, unknown = body["results"]
    assert (first["case_id"], first["workflow_id"], first["ok"], first["error"]) == (
        reminded_case.case_id,
        reminded_case.workflow_id,
        True,
        None,
    )
    assert first["events"] > 10 and first["run_id"]
    assert (unknown["ok"], unknown["error_type"]) == (False, "not_found")
    assert body["totals"] == {"requested": 2, "replayed": 1, "ok": 1, "failed": 1}


async def test_all_replays_the_tenants_cases_a_page_at_a_time(
    audit_api: AuditApi, reminded_case: AuditedCase
) -> None:
    async with audit_api.client("auditor") as auditor:
        first = await auditor.post("/v1/audit/replay", json={"all": True, "limit": 1})
        assert first.status_code == 200, first.text
        after = first.json()["next_after"]
        second = await auditor.post(
            "/v1/audit/replay", json={"all": True, "limit": 1, "after": after}
        )

    assert after is not None, "the session has more than one case of tenant acme"
    assert [r["case_id"] for r in first.json()["results"]] == [after]
    assert second.status_code == 200, second.text
    [result] = second.json()["results"]
    assert result["case_id"] > after and result["ok"], result


async def test_a_replay_request_names_cases_or_all_and_at_most_200(audit_api: AuditApi) -> None:
    async with audit_api.client("auditor") as auditor:
        bad = [
            await auditor.post("/v1/audit/replay", json={}),
            await auditor.post("/v1/audit/replay", json={"case_ids": ["a"], "all": True}),
            await auditor.post(
                "/v1/audit/replay", json={"case_ids": [f"c{i}" for i in range(201)]}
            ),
            await auditor.post("/v1/audit/replay", json={"case_ids": []}),
        ]
    assert [r.status_code for r in bad] == [422, 422, 422, 422]
    assert all(r.json()["error"]["details"][0]["field"] == "case_ids" for r in bad), [
        r.json() for r in bad
    ]


async def test_a_history_the_code_would_not_produce_fails_with_the_sdks_message() -> None:
    text = (HISTORIES / "collection_case_demo_paid.json").read_text()
    doctored = json.loads(text)
    for event in doctored["events"]:  # as if the case had once sent a letter, not an email
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled:
            scheduled["activityType"]["name"] = "send_letter"
            break

    results = await replay_histories(
        [
            WorkflowHistory.from_json("wf-intact", text),
            WorkflowHistory.from_json("wf-doctored", json.dumps(doctored)),
        ]
    )

    assert [(history.workflow_id, failure is None) for history, failure in results] == [
        ("wf-intact", True),
        ("wf-doctored", False),
    ]
    message = str(results[1][1])
    assert "nondetermin" in message.lower() and "send_letter" in message, message
