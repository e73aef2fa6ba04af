"""A file the case was opened or changed with (an e-invoice, a credit note, the ERP's PDF),
kept as received in table case_files, sealed with the debtor's data key (purpose "file")."""

from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.einvoice.document import OriginalFile
from storage.debtor_vault import FILE_PURPOSE, DebtorErased, DebtorVault
from storage.tables import case_files

log = logging.getLogger("recouvre.api")


async def store_case_file(
    conn: AsyncConnection,
    vault: DebtorVault,
    tenant: str,
    case_id: str,
    debtor_id: str | None,
    original: OriginalFile,
    kind: str,
) -> bool:
    """Keep ``original`` inside the caller's transaction, keyed by its SHA-256 (the same
    file again is kept once). Returns whether a row was written (False: already kept, or
    the debtor erased: nothing personal is stored for it)."""
    content = original.content
    if debtor_id is not None:
        try:
            key = await vault.data_key(conn, tenant, debtor_id)
        except DebtorErased:
            log.warning("case %s: debtor erased, file %s not kept", case_id, original.sha256)
            return False
        content = vault.seal_with(key, tenant, debtor_id, FILE_PURPOSE, content)
    inserted = await conn.execute(
        insert(case_files)
        .values(
            tenant=tenant,
            case_id=case_id,
            sha256=original.sha256,
            media_type=original.media_type,
            kind=kind,
            size=len(original.content),
            content=content,
            debtor_id=debtor_id,
        )
        .on_conflict_do_nothing(index_elements=["case_id", "sha256"])
        .returning(case_files.c.sha256)
    )
    return inserted.first() is not None
