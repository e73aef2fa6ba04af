"""What Temporal stores of a real case: ciphertext only, and all of it decodes with the keys.

A CollectionCase runs on the dev server with recouvre's real worker on an encrypting
client; its history is then read the way anyone with access to Temporal would read it
(the session's client: no codec, and fetching never decodes anyway).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from schemas.case import CaseStart
from services.audit.replay import replay_histories
from services.payload_codec import decode_history, is_encrypted, message_payloads
from tests.codec.conftest import EncryptedCase


async def _raw_history(dev_env: WorkflowEnvironment, case: EncryptedCase) -> WorkflowHistory:
    return await dev_env.client.get_workflow_handle(case.handle.id).fetch_history()


def _kinds(history: WorkflowHistory) -> set[str]:
    return {EventType.Name(event.event_type) for event in history.events}


async def test_no_personal_data_in_any_payload_of_the_raw_history(
    dev_env: WorkflowEnvironment, encrypted_case: EncryptedCase
) -> None:
    history = await _raw_history(dev_env, encrypted_case)
    payloads = [(event, p) for event in history.events for p in message_payloads(event)]

    assert {"EVENT_TYPE_ACTIVITY_TASK_COMPLETED", "EVENT_TYPE_TIMER_FIRED"} <= _kinds(history)
    assert len(payloads) > 10, "the case ran its first activities"
    application = [
        (event, p)
        for event in history.events
        if not _sdk_marker(event)
        for p in message_payloads(event, search_attributes=False)
    ]
    assert application and all(is_encrypted(p) for _, p in application), [
        (EventType.Name(e.event_type), dict(p.metadata))
        for e, p in application
        if not is_encrypted(p)
    ]
    everything = b"".join(event.SerializeToString() for event in history.events)
    for what, secret in encrypted_case.debtor.secrets.items():
        for _, payload in payloads:
            assert secret.encode() not in payload.SerializeToString(), f"{what} in a payload"
        assert secret.encode() not in everything, f"{what} somewhere in the history"
        assert secret not in history.to_json(), f"{what} in the JSON export"


def _sdk_marker(event: HistoryEvent) -> bool:
    """The SDK's own markers (patches): their details are the SDK's, not recouvre's data
    (like the TemporalChangeVersion search attribute, which Temporal must read)."""
    return event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED


async def test_with_the_codec_the_case_start_decodes_back(
    dev_env: WorkflowEnvironment, codec_client: Client, encrypted_case: EncryptedCase
) -> None:
    history = await _raw_history(dev_env, encrypted_case)
    started = history.events[0].workflow_execution_started_event_attributes

    [start] = await codec_client.data_converter.decode(started.input.payloads, [CaseStart])

    assert isinstance(start, CaseStart)
    debtor, expected = start.invoice.debtor, encrypted_case.debtor
    assert (debtor.name, debtor.email, debtor.phone) == (
        expected.name,
        expected.email,
        expected.phone,
    )
    assert debtor.address.line1 == expected.street
    codec = codec_client.data_converter.payload_codec
    assert codec is not None
    decoded = await decode_history(history, codec)  # what the UI and the CLI show
    data = b"".join(p.data for event in decoded.events for p in message_payloads(event))
    assert all(secret.encode() in data for secret in expected.secrets.values())


async def test_the_encrypted_history_replays_with_the_keys_and_not_without(
    dev_env: WorkflowEnvironment, codec_client: Client, encrypted_case: EncryptedCase
) -> None:
    history = await _raw_history(dev_env, encrypted_case)

    [(_, with_keys)] = await replay_histories([history], codec_client.data_converter)
    [(_, without)] = await replay_histories([history])

    assert with_keys is None, with_keys
    assert without is not None and "binary/encrypted" in str(without), without
