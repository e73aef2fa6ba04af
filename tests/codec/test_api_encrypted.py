"""The whole path under encryption: an invoice posted to the API (its client encrypts the
workflow start), run by recouvre's worker (same settings, same keys), read back, exported
and replayed by an auditor."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from services.audit.replay import replay_histories
from services.payload_codec import is_encrypted, message_payloads
from tests.codec.conftest import KEYS, Debtor
from tests.support.invoices import invoice_payload


def _client(base_url: str, who: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {KEYS[who]}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)


async def test_an_encrypted_case_runs_reads_exports_and_replays(
    codec_api: str, dev_env: WorkflowEnvironment
) -> None:
    token = uuid.uuid4().hex[:8]
    debtor = Debtor(
        name=f"Berthelot-Vasseur {token}",
        email=f"berthelot.{token}@tilleuls.example",
        phone="04 78 12 34 56",
        street=f"3 chemin des Tilleuls {token}",
    )
    async with _client(codec_api, "erp") as erp:
        created = await erp.post(
            "/v1/invoices", json=invoice_payload(policy="demo", debtor=debtor.payload())
        )
    assert created.status_code == 201, created.text
    case_id, workflow_id = created.json()["case_id"], created.json()["workflow_id"]

    async with _client(codec_api, "operator") as operator, asyncio.timeout(60):
        while True:  # the worker decrypted the start and ran reminder 1
            view = (await operator.get(f"/v1/cases/{case_id}?consistency=live")).json()
            if any(a["step"] == "reminder_1" for a in view.get("actions", [])):
                break
            await asyncio.sleep(0.25)
    assert view["debtor_name"] == debtor.name  # the live query, encrypted both ways

    raw = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    start = raw.events[0].workflow_execution_started_event_attributes
    assert all(is_encrypted(p) for p in start.input.payloads)
    assert not any(s in raw.to_json() for s in debtor.secrets.values())

    async with _client(codec_api, "auditor") as auditor:
        stored = await auditor.get(f"/v1/cases/{case_id}/history")
        decoded = await auditor.get(f"/v1/cases/{case_id}/history?payloads=decoded")
        replayed = await auditor.post("/v1/audit/replay", json={"case_ids": [case_id]})

    assert (stored.status_code, stored.headers["x-payloads"]) == (200, "stored")
    assert not any(s in stored.text for s in debtor.secrets.values())
    assert (decoded.status_code, decoded.headers["x-payloads"]) == (200, "decoded")
    exported = WorkflowHistory.from_json(workflow_id, decoded.text)
    data = b"".join(p.data for e in exported.events for p in message_payloads(e))
    # Decoded with the key, the history names the debtor by id only: the identity is in
    # the vault (storage/debtor_vault.py), fetched by the activities that write to it.
    assert view["debtor_id"] is not None and view["debtor_id"].encode() in data
    assert not any(s.encode() in data for s in debtor.secrets.values())
    [(_, without_keys)] = await replay_histories([exported])  # the plain converter
    assert without_keys is None, without_keys
    assert replayed.status_code == 200, replayed.text
    [result] = replayed.json()["results"]
    assert result["ok"], result
