"""One invoice, from intake to payment, through a real Temporal cluster on PostgreSQL."""

from __future__ import annotations

import asyncio

from temporalio.api.workflowservice.v1 import GetClusterInfoRequest
from temporalio.client import WorkflowExecutionStatus

from schemas.case import CaseView
from services.embedded.temporal_cluster import TemporalCluster
from tests.cluster.conftest import ClusterService
from tests.support.invoices import invoice_payload
from tests.support.mailbox import messages_for_case, wait_for_messages
from tests.support.processes import eventually
from tests.support.smtp import Smtp


async def test_the_cluster_is_the_production_shape(
    cluster: TemporalCluster, cluster_service: ClusterService
) -> None:
    info = await cluster_service.temporal.workflow_service.get_cluster_info(GetClusterInfoRequest())
    assert info.server_version == "1.29.1"
    assert info.history_shard_count == 4
    assert (info.persistence_store, info.visibility_store) == ("postgres12", "postgres12")
    assert cluster_service.settings.temporal_address == cluster.target


async def test_demo_invoice_is_reminded_then_paid_on_the_cluster(
    cluster_service: ClusterService, smtp: Smtp
) -> None:
    body = invoice_payload(policy="demo", amount_due="1200.00")
    async with cluster_service.client("erp") as erp, cluster_service.client("operator") as op:
        created = await erp.post("/v1/invoices", json=body)
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        assert created.json()["policy_id"] == "demo"

        mails = await wait_for_messages(smtp.maildir, case_id, 1, within_s=30)
        assert [m["X-Recouvre-Step"] for m in mails] == ["reminder_1"], "reminder 1 at +5 s"
        assert mails[0]["To"] == "compta@durand.example"
        assert body["invoice_number"] in mails[0]["Subject"]
        # Registered, then reminded: two journal entries, read once the read model has them.
        reminded = (await op.get(f"/v1/cases/{case_id}", params={"after_position": 2})).json()
        assert reminded["actions"][0]["step"] == "reminder_1"

        paid = await erp.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "1200.00", "paid_on": "2026-11-02", "reference": "VIR-CLUSTER"},
        )
        assert paid.status_code == 200, paid.text
        after = {"after_position": paid.json()["position"]}
        closed = (await op.get(f"/v1/cases/{case_id}", params=after)).json()
        assert (closed["stage"], closed["outcome"], closed["balance"]) == ("closed", "paid", "0.00")

    # The workflow ran on the cluster and finished there.
    workflow_id = f"invoice:acme:{body['invoice_number']}"
    handle = cluster_service.temporal.get_workflow_handle(workflow_id, result_type=CaseView)
    result = await asyncio.wait_for(handle.result(), 30)
    assert result.stage.value == "closed"
    # SQL visibility (PostgreSQL, no Elasticsearch) lists it as completed.
    query = f"WorkflowId = '{workflow_id}'"

    async def listed() -> list[WorkflowExecutionStatus | None]:
        return [w.status async for w in cluster_service.temporal.list_workflows(query)]

    statuses = await eventually(listed, lambda s: s == [WorkflowExecutionStatus.COMPLETED])
    assert statuses == [WorkflowExecutionStatus.COMPLETED]
    steps = sorted(m["X-Recouvre-Step"] for m in messages_for_case(smtp.maildir, case_id))
    assert steps == ["receipt", "reminder_1"], "reminded once, thanked once"
