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

import base64
import binascii
import contextlib
import dataclasses
import logging
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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

log = logging.getLogger("recouvre.payload_codec")

ENCODING = b"binary/encrypted"
"""``metadata["encoding"]`` of an encrypted payload (the value Temporal's samples use)."""
KEY_ID_KEY = "encryption-key-id"
"""``metadata[KEY_ID_KEY]``: the id of the key that encrypted the payload."""
NONCE_BYTES = 12
KEY_BYTES = 32
DEV_KEY_FILE = "payload-keys"
"""Under RECOUVRE_VAR_DIR: the development key `make run` generates when none is set."""
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PAYLOAD = Payload.DESCRIPTOR.full_name
_SEARCH_ATTRIBUTES = SearchAttributes.DESCRIPTOR.full_name


class PayloadKeyError(ValueError):
    """The configured keys are unusable (the message names the entry, never the key)."""


class PayloadDecryptionError(Exception):
    """An encrypted payload that cannot be decrypted: unknown key id, or not authentic."""


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    compact = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)


@dataclass(frozen=True)
class KeyRing:
    """The payload keys: ``keys`` by id, ``active`` the one that encrypts."""

    keys: Mapping[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            known = ", ".join(self.keys) or "none"
            raise PayloadKeyError(
                f"RECOUVRE_PAYLOAD_KEY_ID: no key {self.active!r} among the payload keys ({known})"
            )

    @classmethod
    def parse(cls, spec: str, active: str = "") -> KeyRing:
        """``id:base64key,...`` (32-byte keys); ``active`` defaults to the first id."""
        keys: dict[str, bytes] = {}
        for raw in spec.split(","):
            entry = raw.strip()
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise PayloadKeyError(
                    "RECOUVRE_PAYLOAD_KEYS: each entry is id:base64key, the id 1-64 of "
                    f"A-Z a-z 0-9 . _ - (entry {len(keys) + 1} is not)"
                )
            if key_id in keys:
                raise PayloadKeyError(f"RECOUVRE_PAYLOAD_KEYS: key id {key_id!r} appears twice")
            try:
                key = _b64decode(encoded)
            except (binascii.Error, ValueError) as err:
                raise PayloadKeyError(
                    f"RECOUVRE_PAYLOAD_KEYS: key {key_id!r} is not valid base64"
                ) from err
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(
                    f"RECOUVRE_PAYLOAD_KEYS: key {key_id!r} has {len(key)} bytes; AES-256 "
                    f"needs {KEY_BYTES} (e.g. `openssl rand -base64 32`)"
                )
            keys[key_id] = key
        if not keys:
            raise PayloadKeyError("RECOUVRE_PAYLOAD_KEYS holds no key")
        return cls(keys, active.strip() or next(iter(keys)))

    @staticmethod
    def new_entry(key_id: str) -> str:
        """A fresh ``id:base64key`` entry (what the docs' rotation procedure adds)."""
        return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


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


def load_or_generate_key_file(path: Path) -> str:
    """The key spec stored at ``path``; on first use a fresh development key, written with
    mode 0600. Processes racing to create it (the API and the workers of `make run`) all
    end up with the same key: the file appears complete or not at all (a hard link)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = KeyRing.new_entry(f"dev-{secrets.token_hex(4)}")
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(spec + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


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
    return KeyRing.parse(spec, settings.payload_key_id)


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
