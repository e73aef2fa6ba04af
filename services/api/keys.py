"""API keys: RECOUVRE_API_KEYS = comma-separated `key=role:tenant`, or generated under var/."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Role(StrEnum):
    erp = "erp"
    operator = "operator"
    auditor = "auditor"


def key_id(key: str) -> str:
    """A stable, non-secret name for a key: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Principal:
    role: Role
    tenant: str
    key_id: str = ""
    """``key_id(key)`` of the key that authenticated (empty for an internal caller)."""

    @property
    def actor(self) -> str:
        """Who did it, as case events record it (``by``): ``operator:3f2a9c1e@acme``.

        Derived from the key, never from a request body, and safe to show: the key cannot
        be recovered from it."""
        if not self.key_id:
            return f"{self.role.value}@{self.tenant}"
        return f"{self.role.value}:{self.key_id}@{self.tenant}"


def parse_api_keys(spec: str) -> dict[str, Principal]:
    """Parse `key=role:tenant,...`; raise ValueError naming the bad entry."""
    keys: dict[str, Principal] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        key, sep, grant = entry.partition("=")
        role, sep2, tenant = grant.partition(":")
        if not (sep and sep2 and key and tenant):
            raise ValueError(f"RECOUVRE_API_KEYS: entry {entry[:12]!r}... is not key=role:tenant")
        if role not in Role.__members__:
            raise ValueError(f"RECOUVRE_API_KEYS: unknown role {role!r} (erp, operator, auditor)")
        if len(key) < 16:
            raise ValueError("RECOUVRE_API_KEYS: keys must be at least 16 characters")
        keys[key] = Principal(Role(role), tenant, key_id(key))
    if not keys:
        raise ValueError("RECOUVRE_API_KEYS is empty")
    return keys


def load_or_generate_keys(path: Path, tenant: str = "demo") -> str:
    """The key spec stored at ``path``; on first use, one fresh key per role for ``tenant``."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    spec = ",".join(f"{secrets.token_urlsafe(24)}={role.value}:{tenant}" for role in Role)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(spec + "\n", encoding="utf-8")
    return spec
