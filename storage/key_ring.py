"""Named AES-256 keys read from settings: one encrypts, every one decrypts (rotation).

Two key rings use this shape: the Temporal payload keys (services/payload_codec.py,
RECOUVRE_PAYLOAD_KEYS) and the master keys that wrap each debtor's data key
(storage/debtor_vault.py, RECOUVRE_DATA_KEYS). A key is rotated by putting the new one
first and removing the old one only once nothing it encrypted is still needed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class KeyRingError(ValueError):
    """The configured keys are unusable (the message names the entry, never the key)."""


def b64decode_lenient(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    compact = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; ``active`` is the one that encrypts. ``setting`` names the variable the
    keys came from, so errors say what to fix."""

    keys: Mapping[str, bytes]
    active: str
    setting: str = "RECOUVRE_PAYLOAD_KEYS"

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            known = ", ".join(self.keys) or "none"
            raise KeyRingError(
                f"{self.setting.removesuffix('S')}_ID: no key {self.active!r} among "
                f"{self.setting} ({known})"
            )

    @classmethod
    def parse(
        cls, spec: str, active: str = "", *, setting: str = "RECOUVRE_PAYLOAD_KEYS"
    ) -> KeyRing:
        """``id:base64key,...`` (32-byte keys); ``active`` defaults to the first id."""
        keys: dict[str, bytes] = {}
        for raw in spec.split(","):
            entry = raw.strip()
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise KeyRingError(
                    f"{setting}: each entry is id:base64key, the id 1-64 of "
                    f"A-Z a-z 0-9 . _ - (entry {len(keys) + 1} is not)"
                )
            if key_id in keys:
                raise KeyRingError(f"{setting}: key id {key_id!r} appears twice")
            try:
                key = b64decode_lenient(encoded)
            except (binascii.Error, ValueError) as err:
                raise KeyRingError(f"{setting}: key {key_id!r} is not valid base64") from err
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"{setting}: key {key_id!r} has {len(key)} bytes; AES-256 "
                    f"needs {KEY_BYTES} (e.g. `openssl rand -base64 32`)"
                )
            keys[key_id] = key
        if not keys:
            raise KeyRingError(f"{setting} holds no key")
        return cls(keys, active.strip() or next(iter(keys)), setting)

    @staticmethod
    def new_entry(key_id: str) -> str:
        """A fresh ``id:base64key`` entry (what the docs' rotation procedure adds)."""
        return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


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
