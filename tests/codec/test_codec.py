"""The codec on its own: round trip, rotation, unknown keys, tampering, the key settings."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from schemas.invoice import InvoiceIn
from services.config import Settings
from services.payload_codec import (
    ENCODING,
    KEY_ID_KEY,
    EncryptionCodec,
    PayloadDecryptionError,
    data_converter,
    is_encrypted,
)
from services.supervisor import settings_env
from storage.key_ring import KeyRing, load_or_generate_key_file
from storage.key_ring import KeyRingError as PayloadKeyError
from tests.support.invoices import invoice_payload

K1 = KeyRing.new_entry("k1")
K2 = KeyRing.new_entry("k2")


def codec(spec: str, active: str = "") -> EncryptionCodec:
    return EncryptionCodec(KeyRing.parse(spec, active))


async def invoice_payloads() -> list[Payload]:
    """What the pydantic converter writes for an invoice (name, email, address inside)."""
    invoice = InvoiceIn.model_validate(invoice_payload())
    return await pydantic_data_converter.encode([invoice, "second value"])


async def test_a_round_trip_gives_back_every_payload_exactly() -> None:
    plain = await invoice_payloads()
    sealed = await codec(K1).encode(plain)

    assert [p.metadata["encoding"] for p in sealed] == [ENCODING, ENCODING]
    assert [p.metadata[KEY_ID_KEY] for p in sealed] == [b"k1", b"k1"]
    assert all(b"Durand" not in p.SerializeToString() for p in sealed)
    assert await codec(K1).decode(sealed) == plain


async def test_each_payload_gets_its_own_nonce() -> None:
    [plain] = (await invoice_payloads())[:1]
    first, second = await codec(K1).encode([plain, plain])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_after_a_rotation_old_payloads_still_decode_and_new_ones_use_the_new_key() -> None:
    plain = await invoice_payloads()
    before = await codec(K1).encode(plain)
    rotated = codec(f"{K2},{K1}")  # the new key in front: it encrypts, both decrypt

    after = await rotated.encode(plain)

    assert rotated.key_id == "k2"
    assert {p.metadata[KEY_ID_KEY] for p in after} == {b"k2"}
    assert await rotated.decode(before) == plain
    assert await rotated.decode(after) == plain
    assert codec(f"{K1},{K2}", active="k2").key_id == "k2"  # RECOUVRE_PAYLOAD_KEY_ID


async def test_a_key_id_that_is_not_configured_fails_naming_it() -> None:
    sealed = await codec(K2).encode(await invoice_payloads())
    with pytest.raises(PayloadDecryptionError, match=r"key id 'k2'.*not among.*\(k1\)"):
        await codec(K1).decode(sealed)


@pytest.mark.parametrize("where", ["ciphertext", "nonce", "tag", "key id", "truncated"])
async def test_a_tampered_payload_fails_to_authenticate(where: str) -> None:
    [sealed] = await codec(f"{K1},{K2}").encode((await invoice_payloads())[:1])
    data = bytearray(sealed.data)
    if where == "ciphertext":
        data[20] ^= 1
    elif where == "nonce":
        data[0] ^= 1
    elif where == "tag":
        data[-1] ^= 1
    elif where == "truncated":
        data = data[:20]
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(data))
    if where == "key id":  # moved under the other key's id: the associated data differs
        tampered.metadata[KEY_ID_KEY] = b"k2"
    with pytest.raises(PayloadDecryptionError, match=r"does not authenticate|truncated"):
        await codec(f"{K1},{K2}").decode([tampered])


async def test_the_same_id_with_another_key_does_not_authenticate() -> None:
    sealed = await codec(K1).encode(await invoice_payloads())
    with pytest.raises(PayloadDecryptionError, match="does not authenticate"):
        await codec(KeyRing.new_entry("k1")).decode(sealed)


async def test_payloads_written_before_the_codec_pass_through() -> None:
    plain = await invoice_payloads()
    assert not any(is_encrypted(p) for p in plain)
    decoded = await codec(K1).decode(plain)
    assert decoded == plain


@pytest.mark.parametrize(
    ("spec", "active", "message"),
    [
        ("", "", "holds no key"),
        ("k1", "", "id:base64key"),
        ("bad id:AAAA", "", "id:base64key"),
        (f"{K1},{K1}", "", "appears twice"),
        ("k1:not*base64", "", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "", "has 5 bytes"),
        (K1, "k9", "no key 'k9'"),
    ],
)
def test_bad_key_settings_are_refused_without_showing_the_key(
    spec: str, active: str, message: str
) -> None:
    with pytest.raises(PayloadKeyError, match=message) as raised:
        KeyRing.parse(spec, active)
    assert K1.partition(":")[2] not in str(raised.value)


def test_url_safe_base64_without_padding_is_accepted() -> None:
    raw = os.urandom(32)
    spec = f"k1:{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"
    assert KeyRing.parse(spec).keys == {"k1": raw}


def test_the_development_key_is_generated_once_private_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "var" / "payload-keys"
    specs: list[str] = []
    threads = [
        threading.Thread(target=lambda: specs.append(load_or_generate_key_file(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(specs)) == 1, "processes racing at start-up must agree on one key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["payload-keys"]
    ring = KeyRing.parse(specs[0])
    assert ring.active.startswith("dev-") and len(ring.keys[ring.active]) == 32
    assert load_or_generate_key_file(path) == specs[0]


def test_encryption_is_on_for_make_run_and_with_keys_off_otherwise(tmp_path: Path) -> None:
    make_run = Settings(RECOUVRE_VAR_DIR=tmp_path)  # no TEMPORAL_ADDRESS: the embedded server
    external = Settings(TEMPORAL_ADDRESS="temporal:7233")
    configured = Settings(TEMPORAL_ADDRESS="temporal:7233", RECOUVRE_PAYLOAD_KEYS=K1)
    forced_off = Settings(RECOUVRE_VAR_DIR=tmp_path, RECOUVRE_PAYLOAD_ENCRYPTION="false")

    assert (make_run.payload_encryption, external.payload_encryption) == (True, False)
    assert (configured.payload_encryption, forced_off.payload_encryption) == (True, False)
    assert data_converter(external) is pydantic_data_converter
    assert data_converter(forced_off) is pydantic_data_converter
    assert isinstance(data_converter(configured).payload_codec, EncryptionCodec)
    dev = data_converter(make_run).payload_codec
    assert isinstance(dev, EncryptionCodec) and dev.key_id.startswith("dev-")
    assert (tmp_path / "payload-keys").exists()


def test_the_runner_hands_the_resolved_choice_to_its_worker_processes(tmp_path: Path) -> None:
    """`recouvre run` resolves its settings once (no TEMPORAL_ADDRESS: encryption on) and
    starts the workers with TEMPORAL_ADDRESS set: they must still encrypt, with the same
    key file, or they could not read what the API writes."""
    parent = Settings(RECOUVRE_VAR_DIR=tmp_path)
    env = {**settings_env(parent), "TEMPORAL_ADDRESS": parent.temporal_target}
    child = Settings(**env)

    assert child.payload_encryption is True
    parent_codec = data_converter(parent).payload_codec
    child_codec = data_converter(child).payload_codec
    assert isinstance(parent_codec, EncryptionCodec) and isinstance(child_codec, EncryptionCodec)
    assert parent_codec.ring == child_codec.ring


async def test_failure_messages_and_stack_traces_are_encrypted_too() -> None:
    converter = data_converter(Settings(TEMPORAL_ADDRESS="t:1", RECOUVRE_PAYLOAD_KEYS=K1))
    failure = Failure()
    try:
        raise ApplicationError("recipient refused: compta@durand.example", "details")
    except ApplicationError as err:
        await converter.encode_failure(err, failure)

    assert failure.message == "Encoded failure" and not failure.stack_trace
    assert b"durand" not in failure.SerializeToString()
    assert is_encrypted(failure.encoded_attributes)
    decoded = await converter.decode_failure(failure)
    assert str(decoded) == "recipient refused: compta@durand.example"
