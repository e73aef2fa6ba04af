"""Histories recorded before the codec (tests/histories, unencrypted) still replay on the
current code with the encrypting converter: their payloads pass through the codec."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from services.audit.replay import replay_histories
from services.config import Settings
from services.payload_codec import EncryptionCodec, data_converter, is_encrypted, message_payloads
from tests.codec.conftest import NEW_KEY, OLD_KEY
from tests.support.histories import HISTORIES

HISTORY_FILES = sorted(HISTORIES.glob("*.json"))
SETTINGS = Settings(TEMPORAL_ADDRESS="127.0.0.1:9", RECOUVRE_PAYLOAD_KEYS=f"{NEW_KEY},{OLD_KEY}")


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_recorded_history_is_in_the_clear() -> None:
    assert len(HISTORY_FILES) >= 16
    for path in HISTORY_FILES:
        history = _history(path)
        assert not any(is_encrypted(p) for e in history.events for p in message_payloads(e))


@pytest.mark.parametrize("path", HISTORY_FILES, ids=lambda p: p.stem)
async def test_a_recorded_history_replays_with_the_encrypting_converter(path: Path) -> None:
    converter = data_converter(SETTINGS)
    assert isinstance(converter.payload_codec, EncryptionCodec)
    history = _history(path)

    [(_, failure)] = await replay_histories([history], converter)

    assert failure is None, f"{path.name}: {failure}"
