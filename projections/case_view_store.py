"""The read model of a case: the latest view its workflow published, with the journal
position it reflects. Written by intake and by the ``record_case`` activity, read by
GET /v1/cases/{case_id}; neither waits on a worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.case import CaseView, HoldKind
from storage.tables import case_views


@dataclass(frozen=True)
class StoredView:
    """A case's view as the read model holds it."""

    view: CaseView
    revision: int
    position: int
    recorded_at: datetime


async def save_case_view(
    conn: AsyncConnection, view: CaseView, *, journal_from: int | None = None
) -> bool:
    """Upsert the view unless the stored one has a higher or equal revision (a late retry
    of an older publication); True when it was written.

    ``journal_from``: ``view.journal`` holds only the entries from that journal position
    on; the stored entries before it are kept (the row is locked while they are merged)."""
    document = view.model_dump(mode="json")
    if journal_from is not None:
        stored = (
            await conn.execute(
                select(
                    case_views.c.revision,
                    case_views.c.view["journal"],
                    case_views.c.view["journal_base"],
                    case_views.c.view["facts_trimmed"],
                )
                .where(case_views.c.case_id == view.case_id)
                .with_for_update()
            )
        ).first()
        if stored is not None:
            if stored[0] >= view.view_revision:
                return False
            kept, base = list(stored[1] or []), int(stored[2] or 0)
            cut = journal_from - base
            if 0 <= cut <= len(kept):  # the stored journal, then the new entries
                document["journal"] = kept[:cut] + document["journal"]
                document["journal_base"] = base
                document["facts_trimmed"] = int(stored[3] or 0)  # facts before ``base``
    values: dict[str, Any] = {
        "case_id": view.case_id,
        "tenant": view.tenant,
        "revision": view.view_revision,
        "position": view.position,
        "stream_version": view.events_appended,
        "view": document,
    }
    statement = insert(case_views).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[case_views.c.case_id],
        set_={
            **{key: statement.excluded[key] for key in values if key != "case_id"},
            "recorded_at": statement.excluded.recorded_at,
        },
        where=case_views.c.revision < statement.excluded.revision,
    )
    written = await conn.execute(statement.returning(case_views.c.case_id))
    return written.first() is not None


async def load_case_view(conn: AsyncConnection, tenant: str, case_id: str) -> StoredView | None:
    """The tenant's case view, or None (no such case for this tenant, or none published)."""
    found = (
        await conn.execute(
            select(
                case_views.c.view,
                case_views.c.revision,
                case_views.c.position,
                case_views.c.recorded_at,
            ).where(case_views.c.case_id == case_id, case_views.c.tenant == tenant)
        )
    ).first()
    if found is None:
        return None
    return StoredView(
        view=CaseView.model_validate(found.view),
        revision=found.revision,
        position=found.position,
        recorded_at=found.recorded_at,
    )


@dataclass(frozen=True)
class AwaitingApproval:
    """A case whose timeline waits for a person to approve (or reject) one of its steps."""

    case_id: str
    invoice_number: str
    debtor_name: str
    step: str
    reason: str
    since: datetime


async def cases_awaiting_approval(
    conn: AsyncConnection, tenant: str, limit: int = 500
) -> list[AwaitingApproval]:
    """The tenant's cases with a step awaiting approval (an ``approval`` hold in the view
    their workflow last published), the longest waiting first: the worklist's approvals."""
    view = case_views.c.view
    query = (
        select(case_views.c.case_id, view)
        .where(
            case_views.c.tenant == tenant,
            view["holds"].contains([{"kind": HoldKind.approval.value}]),
        )
        .order_by(case_views.c.recorded_at)
        .limit(limit)
    )
    waiting: list[AwaitingApproval] = []
    for row in await conn.execute(query):
        case = CaseView.model_validate(row.view)
        for hold in case.holds:
            if hold.kind is HoldKind.approval:
                waiting.append(
                    AwaitingApproval(
                        case_id=row.case_id,
                        invoice_number=case.invoice_number,
                        debtor_name=case.debtor_name,
                        step=hold.ref or "",
                        reason=hold.reason,
                        since=hold.since,
                    )
                )
    return sorted(waiting, key=lambda item: item.since)


async def debtor_case_views(
    conn: AsyncConnection, tenant: str, debtor_ids: Sequence[str] | None = None
) -> list[CaseView]:
    """The views of the tenant's cases that name their debtor by id (all such cases, or
    those of ``debtor_ids``), oldest case first."""
    debtor = case_views.c.view["debtor_id"].astext
    query = select(case_views.c.view).where(case_views.c.tenant == tenant, debtor.is_not(None))
    if debtor_ids is not None:
        query = query.where(debtor.in_(list(debtor_ids)))
    rows = await conn.execute(query.order_by(case_views.c.case_id))
    views = [CaseView.model_validate(row.view) for row in rows]
    return sorted(views, key=lambda v: (v.opened_at, v.case_id))
