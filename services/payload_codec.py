"""Encryption of every Temporal payload recouvre writes (docs/data-protection.md).

Workflow inputs, activity arguments and results, signals, updates, queries and failure
details carry the debtor's name, email, phone and address; Temporal keeps them in its
history for the retention period. The codec below encrypts each payload before it leaves
the process and decrypts it when it comes back, so Temporal (its database, its UI, its
CLI, anyone reading its history) only holds ciphertext:

- AES-256-GCM, a fresh random 96-bit nonce per payload; the plaintext is the original
  payload serialized (metadata and data), the associated data is the key id, so a
  ciphertext moved under another key id does not authenticate;
- the encrypted payload says ``encoding: binary/encrypted`` and ``encryption-key-id``
  in its metadata; its data is ``nonce || ciphertext || tag``;
- several keys (RECOUVRE_PAYLOAD_KEYS, ``id:base64key,...``): one encrypts what is new
  (the first, or RECOUVRE_PAYLOAD_KEY_ID), every one decrypts, so a key is rotated by
  adding the new one in front and removing the old one only once no history needs it;
- a payload without the encrypted encoding passes through unchanged: histories recorded
  before the codec was on still decode and replay.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError, Message
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from services.config import Settings
from storage.key_ring import KeyRing, load_or_generate_key_file

log = logging.getLogger("recouvre.payload_codec")

ENCODING = b"binary/encrypted"
"""``metadata["encoding"]`` of an encrypted payload (the value Temporal's samples use)."""
KEY_ID_KEY = "encryption-key-id"
"""``metadata[KEY_ID_KEY]``: the id of the key that encrypted the payload."""
NONCE_BYTES = 12
DEV_KEY_FILE = "payload-keys"
"""Under RECOUVRE_VAR_DIR: the development key `make run` generates when none is set."""
_PAYLOAD = Payload.DESCRIPTOR.full_name
_SEARCH_ATTRIBUTES = SearchAttributes.DESCRIPTOR.full_name


class PayloadDecryptionError(Exception):
    """An encrypted payload that cannot be decrypted: unknown key id, or not authentic."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads, with the key id in the metadata."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    @property
    def key_id(self) -> str:
        """The id of the key new payloads are encrypted with."""
        return self.ring.active

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.ring.active.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.ring.active].encrypt(
            nonce, payload.SerializeToString(deterministic=True), key_id
        )
        return Payload(metadata={"encoding": ENCODING, KEY_ID_KEY: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; one without the encrypted encoding is returned as is."""
        if not is_encrypted(payload):
            return payload
        key_id = payload.metadata.get(KEY_ID_KEY, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self.ring.keys)
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not among the payload "
                f"keys ({known}): add that key to RECOUVRE_PAYLOAD_KEYS"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + 16:
            raise PayloadDecryptionError(f"encrypted payload (key id {key_id!r}) is truncated")
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
            return Payload.FromString(plain)
        except (InvalidTag, DecodeError) as err:
            raise PayloadDecryptionError(
                f"encrypted payload (key id {key_id!r}) does not authenticate: it was altered, "
                "or encrypted with another key under the same id"
            ) from err

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def key_ring(settings: Settings) -> KeyRing:
    """RECOUVRE_PAYLOAD_KEYS, else the development key under RECOUVRE_VAR_DIR."""
    spec = settings.payload_keys
    if not spec.strip():
        path = settings.var_dir / DEV_KEY_FILE
        log.info(
            "RECOUVRE_PAYLOAD_KEYS is not set: payloads are encrypted with the development "
            "key in %s (set RECOUVRE_PAYLOAD_KEYS in production)",
            path,
        )
        spec = load_or_generate_key_file(path)
    return KeyRing.parse(spec, settings.payload_key_id, setting="RECOUVRE_PAYLOAD_KEYS")


def payload_codec(settings: Settings) -> EncryptionCodec | None:
    """The codec the settings ask for (None when RECOUVRE_PAYLOAD_ENCRYPTION is off)."""
    return EncryptionCodec(key_ring(settings)) if settings.payload_encryption else None


def encrypted_converter(codec: PayloadCodec) -> DataConverter:
    """recouvre's converter (pydantic) with ``codec``; failure messages and stack traces
    move into the failure's encoded attributes, so the codec covers them too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter(settings: Settings) -> DataConverter:
    """The converter every recouvre client (API, workers, replays) uses: identical in every
    process reading the same settings, which is what lets them read each other's data."""
    codec = payload_codec(settings)
    return pydantic_data_converter if codec is None else encrypted_converter(codec)


def message_payloads(message: Message, *, search_attributes: bool = True) -> Iterator[Payload]:
    """Every Payload inside ``message`` (at any depth: lists, maps, failures, headers).
    ``search_attributes=False`` leaves out search attributes, which Temporal indexes and
    no codec encodes."""
    for field, value in message.ListFields():
        kind = field.message_type
        if kind is None or (not search_attributes and kind.full_name == _SEARCH_ATTRIBUTES):
            continue
        if kind.GetOptions().map_entry:
            target = kind.fields_by_name["value"].message_type
            if target is None:
                continue
            for item in value.values():
                if target.full_name == _PAYLOAD:
                    yield item
                else:
                    yield from message_payloads(item, search_attributes=search_attributes)
        elif field.is_repeated:
            for item in value:
                if kind.full_name == _PAYLOAD:
                    yield item
                else:
                    yield from message_payloads(item, search_attributes=search_attributes)
        elif kind.full_name == _PAYLOAD:
            yield value
        else:
            yield from message_payloads(value, search_attributes=search_attributes)


async def decode_history(history: WorkflowHistory, codec: PayloadCodec) -> WorkflowHistory:
    """A copy of ``history`` with every payload decoded by ``codec`` (what the Temporal UI
    or `temporal workflow show --codec-endpoint` display); the original is not changed."""
    events = [type(event).FromString(event.SerializeToString()) for event in history.events]
    found = [
        payload for event in events for payload in message_payloads(event, search_attributes=False)
    ]
    decoded = await codec.decode(found)
    if len(decoded) != len(found):
        raise PayloadDecryptionError("the codec did not decode one payload per payload")
    for stored, plain in zip(found, decoded, strict=True):
        if plain is not stored:
            stored.CopyFrom(plain)
    return WorkflowHistory(history.workflow_id, events)
