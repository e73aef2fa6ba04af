"""The debtors' identities, kept once, each sealed with the debtor's own data key.

Envelope encryption (docs/data-protection.md):

- each debtor has a random 256-bit data key, stored wrapped (AES-256-GCM) by a master key
  from RECOUVRE_DATA_KEYS; the wrapped key names its master key, so master keys rotate
  (``rewrap``) without touching any data;
- the identity, and every other personal text recouvre keeps about the debtor (mail
  copies, letters, phone scripts), is sealed with the data key; the associated data binds
  each ciphertext to its tenant, debtor and purpose, so it cannot be moved elsewhere;
- a debtor is found again by a keyed hash (HMAC-SHA256, RECOUVRE_DEBTOR_INDEX_KEY) of the
  identifier that names it, never by decrypting;
- erasure destroys the data key: whatever was sealed with it, wherever it was copied,
  can no longer be read, and the append-only event store's hash chains are untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.debtor import DebtorRef, identifier_of
from schemas.invoice import Debtor
from storage.key_ring import KeyRing
from storage.tables import debtor_keys, debtors

NONCE_BYTES = 12
SEALED_PREFIX = "sealed1:"
"""A sealed text column value: ``sealed1:<base64 nonce||ciphertext||tag>``."""
ERASED_TEXT = "[données effacées]"
"""What a reader shows in place of a sealed value whose key was destroyed."""
FILE_PURPOSE = "file"
"""The purpose an e-invoice file (table case_files) is sealed under."""


class DebtorErased(Exception):
    """The debtor's data key was destroyed: its personal data can no longer be read."""


class UnknownDebtor(LookupError):
    pass


@dataclass(frozen=True)
class DebtorRecord:
    """A debtor as the vault holds it; ``identity`` is None once erased."""

    tenant: str
    debtor_id: str
    identified_by: str
    kind: str
    country: str
    identity: Debtor | None
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    erasure_reason: str | None


def new_debtor_id() -> str:
    """Random: the id says nothing about the debtor."""
    return "dbt-" + secrets.token_hex(12)


class DebtorVault:
    """Seal and open a debtor's personal data; register, read and erase debtors."""

    def __init__(self, masters: KeyRing, index_key: bytes) -> None:
        self.masters = masters
        self._masters = {key_id: AESGCM(key) for key_id, key in masters.keys.items()}
        self._index_key = index_key

    # ---- keys ---------------------------------------------------------------------------

    def lookup_of(self, tenant: str, debtor: Debtor) -> tuple[str, str]:
        """(identified_by, keyed hash of the identifier within the tenant)."""
        rule, identifier = identifier_of(debtor)
        message = f"{tenant}\x00{rule.value}\x00{identifier}".encode()
        return rule.value, hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def _wrap(self, tenant: str, debtor_id: str, data_key: bytes) -> tuple[bytes, str]:
        active = self.masters.active
        nonce = os.urandom(NONCE_BYTES)
        aad = f"key\x00{tenant}\x00{debtor_id}".encode()
        return nonce + self._masters[active].encrypt(nonce, data_key, aad), active

    def _unwrap(self, tenant: str, debtor_id: str, wrapped: bytes | None, master: str) -> bytes:
        if wrapped is None:
            raise DebtorErased(debtor_id)
        cipher = self._masters.get(master)
        if cipher is None:
            raise KeyError(
                f"debtor {debtor_id}'s data key is wrapped by master key {master!r}, which is "
                f"not among {self.masters.setting}"
            )
        aad = f"key\x00{tenant}\x00{debtor_id}".encode()
        return cipher.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)

    async def data_keys(
        self, conn: AsyncConnection, tenant: str, debtor_ids: Iterable[str]
    ) -> dict[str, bytes | None]:
        """Each debtor's data key (None once destroyed), in one query."""
        wanted = sorted(set(debtor_ids))
        if not wanted:
            return {}
        rows = await conn.execute(
            select(debtor_keys).where(
                debtor_keys.c.tenant == tenant, debtor_keys.c.debtor_id.in_(wanted)
            )
        )
        found: dict[str, bytes | None] = dict.fromkeys(wanted)
        for row in rows:
            if row.wrapped_key is not None:
                found[row.debtor_id] = self._unwrap(
                    tenant, row.debtor_id, row.wrapped_key, row.master_key_id
                )
        return found

    async def data_key(self, conn: AsyncConnection, tenant: str, debtor_id: str) -> bytes:
        key = (await self.data_keys(conn, tenant, [debtor_id])).get(debtor_id)
        if key is None:
            raise DebtorErased(debtor_id)
        return key

    # ---- sealing ------------------------------------------------------------------------

    @staticmethod
    def seal_with(key: bytes, tenant: str, debtor_id: str, purpose: str, plain: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = f"{purpose}\x00{tenant}\x00{debtor_id}".encode()
        return nonce + AESGCM(key).encrypt(nonce, plain, aad)

    @staticmethod
    def open_with(key: bytes, tenant: str, debtor_id: str, purpose: str, sealed: bytes) -> bytes:
        aad = f"{purpose}\x00{tenant}\x00{debtor_id}".encode()
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)

    async def seal_text(
        self, conn: AsyncConnection, tenant: str, debtor_id: str, purpose: str, text: str
    ) -> str:
        """``text`` sealed for a text column (``sealed1:...``)."""
        key = await self.data_key(conn, tenant, debtor_id)
        sealed = self.seal_with(key, tenant, debtor_id, purpose, text.encode())
        return SEALED_PREFIX + base64.b64encode(sealed).decode()

    async def open_text(
        self, conn: AsyncConnection, tenant: str, debtor_id: str | None, purpose: str, value: str
    ) -> str:
        """A text column's value in clear: unsealed values (written before the debtor
        accounts) as they are, sealed ones opened, ERASED_TEXT once the key is gone."""
        if not value.startswith(SEALED_PREFIX) or debtor_id is None:
            return value
        key = (await self.data_keys(conn, tenant, [debtor_id])).get(debtor_id)
        if key is None:
            return ERASED_TEXT
        sealed = base64.b64decode(value[len(SEALED_PREFIX) :])
        try:
            return self.open_with(key, tenant, debtor_id, purpose, sealed).decode()
        except InvalidTag:
            return ERASED_TEXT

    # ---- debtors ------------------------------------------------------------------------

    async def register(self, conn: AsyncConnection, tenant: str, debtor: Debtor) -> DebtorRef:
        """The debtor's id, registering it (or refreshing its identity with what the ERP
        sent last) inside the caller's transaction. Concurrent intakes of the same new
        debtor agree on one id: the unique lookup makes the second wait for the first."""
        rule, lookup = self.lookup_of(tenant, debtor)
        debtor_id = new_debtor_id()
        inserted = await conn.execute(
            insert(debtors)
            .values(
                tenant=tenant,
                debtor_id=debtor_id,
                lookup=lookup,
                identified_by=rule,
                kind=debtor.kind.value,
                country=debtor.address.country,
            )
            .on_conflict_do_nothing(
                index_elements=["tenant", "lookup"], index_where=debtors.c.lookup.is_not(None)
            )
            .returning(debtors.c.debtor_id)
        )
        if inserted.first() is not None:
            data_key = secrets.token_bytes(32)
            wrapped, master = self._wrap(tenant, debtor_id, data_key)
            await conn.execute(
                insert(debtor_keys).values(
                    tenant=tenant, debtor_id=debtor_id, wrapped_key=wrapped, master_key_id=master
                )
            )
        else:
            debtor_id = (
                await conn.execute(
                    select(debtors.c.debtor_id)
                    .where(debtors.c.tenant == tenant, debtors.c.lookup == lookup)
                    .with_for_update()
                )
            ).scalar_one()
            data_key = await self.data_key(conn, tenant, debtor_id)
        identity = self.seal_with(
            data_key, tenant, debtor_id, "identity", debtor.model_dump_json().encode()
        )
        await conn.execute(
            update(debtors)
            .where(debtors.c.tenant == tenant, debtors.c.debtor_id == debtor_id)
            .values(identity=identity, kind=debtor.kind.value, updated_at=datetime.now(UTC))
        )
        return DebtorRef(
            debtor_id=debtor_id,
            kind=debtor.kind,
            country=debtor.address.country,
            postal_code=debtor.address.postal_code,
        )

    async def records(
        self, conn: AsyncConnection, tenant: str, debtor_ids: Iterable[str] | None = None
    ) -> list[DebtorRecord]:
        """The tenant's debtors (or those named), identities opened, oldest first."""
        query = select(debtors).where(debtors.c.tenant == tenant)
        wanted = None if debtor_ids is None else sorted(set(debtor_ids))
        if wanted is not None:
            if not wanted:
                return []
            query = query.where(debtors.c.debtor_id.in_(wanted))
        rows = list(await conn.execute(query.order_by(debtors.c.created_at, debtors.c.debtor_id)))
        keys = await self.data_keys(conn, tenant, [row.debtor_id for row in rows])
        found = []
        for row in rows:
            identity = None
            key = keys.get(row.debtor_id)
            if key is not None and row.identity is not None:
                plain = self.open_with(key, tenant, row.debtor_id, "identity", row.identity)
                identity = Debtor.model_validate_json(plain)
            found.append(
                DebtorRecord(
                    tenant=tenant,
                    debtor_id=row.debtor_id,
                    identified_by=row.identified_by,
                    kind=row.kind,
                    country=row.country,
                    identity=identity,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    erased_at=row.erased_at,
                    erasure_reason=row.erasure_reason,
                )
            )
        return found

    async def record(self, conn: AsyncConnection, tenant: str, debtor_id: str) -> DebtorRecord:
        found = await self.records(conn, tenant, [debtor_id])
        if not found:
            raise UnknownDebtor(debtor_id)
        return found[0]

    async def correct_contact(
        self,
        conn: AsyncConnection,
        tenant: str,
        debtor_id: str,
        *,
        email: str | None = None,
        phone: str | None = None,
    ) -> Debtor:
        """The debtor's email and/or phone replaced (a correction the creditor confirmed),
        checked as intake checks them (pydantic ValidationError), in the caller's
        transaction; its lookup is unchanged, so the ERP's next invoice for the debtor
        finds it and refreshes the identity with what the ERP holds."""
        current = await self.identity(conn, tenant, debtor_id)
        changes = {k: v for k, v in (("email", email), ("phone", phone)) if v}
        corrected = Debtor.model_validate({**current.model_dump(mode="json"), **changes})
        key = await self.data_key(conn, tenant, debtor_id)
        plain = corrected.model_dump_json().encode()
        sealed = self.seal_with(key, tenant, debtor_id, "identity", plain)
        await conn.execute(
            update(debtors)
            .where(debtors.c.tenant == tenant, debtors.c.debtor_id == debtor_id)
            .values(identity=sealed, updated_at=datetime.now(UTC))
        )
        return corrected

    async def identity(self, conn: AsyncConnection, tenant: str, debtor_id: str) -> Debtor:
        """The identity a letter or an email needs; DebtorErased once erased."""
        found = await self.record(conn, tenant, debtor_id)
        if found.identity is None:
            raise DebtorErased(debtor_id)
        return found.identity

    async def erase(
        self, conn: AsyncConnection, tenant: str, debtor_id: str, reason: str
    ) -> DebtorRecord:
        """Destroy the debtor's data key and its identity, keeping a tombstone: every value
        sealed with the key, wherever it is stored, becomes unreadable. Idempotent."""
        now = datetime.now(UTC)
        erased = await conn.execute(
            update(debtors)
            .where(
                debtors.c.tenant == tenant,
                debtors.c.debtor_id == debtor_id,
                debtors.c.erased_at.is_(None),
            )
            .values(identity=None, lookup=None, erased_at=now, erasure_reason=reason)
            .returning(debtors.c.debtor_id)
        )
        if erased.first() is not None:
            await conn.execute(
                update(debtor_keys)
                .where(debtor_keys.c.tenant == tenant, debtor_keys.c.debtor_id == debtor_id)
                .values(wrapped_key=None, destroyed_at=now, destroyed_reason=reason)
            )
        return await self.record(conn, tenant, debtor_id)

    async def rewrap(self, conn: AsyncConnection, batch: int = 500) -> int:
        """Rewrap the data keys wrapped by any master key but the active one (rotation:
        docs/data-protection.md). Returns how many were rewrapped."""
        rows = list(
            await conn.execute(
                select(debtor_keys)
                .where(
                    debtor_keys.c.master_key_id != self.masters.active,
                    debtor_keys.c.wrapped_key.is_not(None),
                )
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            key = self._unwrap(row.tenant, row.debtor_id, row.wrapped_key, row.master_key_id)
            wrapped, master = self._wrap(row.tenant, row.debtor_id, key)
            await conn.execute(
                update(debtor_keys)
                .where(
                    tuple_(debtor_keys.c.tenant, debtor_keys.c.debtor_id)
                    == tuple_(row.tenant, row.debtor_id)
                )
                .values(wrapped_key=wrapped, master_key_id=master, rewrapped_at=datetime.now(UTC))
            )
        return len(rows)
