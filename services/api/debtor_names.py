"""Debtors' names for reads: opened from the vault at read time, never stored in the views.

Case views, list rows and reports of cases opened since the debtor accounts name the
debtor by id; the API fills the name (and SIREN) in for the caller, from the debtor's
record, so an erased debtor reads as erased everywhere at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from projections.aged_balance import AgedBalanceReport
from projections.listing import CaseListItem, CaseListPage, CaseQuery, list_cases
from schemas.case import CaseView
from services.api.deps import Runtime
from services.audit.case_records import CaseRecord
from storage.debtor_vault import ERASED_TEXT, DebtorRecord


async def debtor_records(
    runtime: Runtime, tenant: str, debtor_ids: Iterable[str]
) -> dict[str, DebtorRecord]:
    wanted = {d for d in debtor_ids if d}
    if not wanted:
        return {}
    async with runtime.reads.connect() as conn:
        found = await runtime.debtors.records(conn, tenant, wanted)
    return {record.debtor_id: record for record in found}


def shown_name(record: DebtorRecord | None) -> str:
    if record is None or record.identity is None:
        return ERASED_TEXT
    return record.identity.name


async def named_view(runtime: Runtime, tenant: str, view: CaseView) -> CaseView:
    """``view`` with its debtor's name (a view of an older case has it already)."""
    if view.debtor_id is None or view.debtor_name:
        return view
    records = await debtor_records(runtime, tenant, [view.debtor_id])
    return view.model_copy(update={"debtor_name": shown_name(records.get(view.debtor_id))})


async def named_views(runtime: Runtime, tenant: str, views: list[CaseView]) -> list[CaseView]:
    """``views`` with their debtors' names, opened in one query."""
    wanted = [v.debtor_id for v in views if v.debtor_id and not v.debtor_name]
    records = await debtor_records(runtime, tenant, [w for w in wanted if w])
    return [
        v.model_copy(update={"debtor_name": shown_name(records.get(v.debtor_id))})
        if v.debtor_id and not v.debtor_name
        else v
        for v in views
    ]


async def named_items(runtime: Runtime, tenant: str, items: list[CaseListItem]) -> None:
    """Fill in the names (and SIRENs) of the list rows that name their debtor by id."""
    records = await debtor_records(
        runtime, tenant, [i.debtor_id for i in items if i.debtor_id and not i.debtor_name]
    )
    for item in items:
        if item.debtor_id in records:
            record = records[item.debtor_id]
            item.debtor_name = shown_name(record)
            item.debtor_siren = record.identity.siren if record.identity else None


async def named_case_list(runtime: Runtime, tenant: str, query: CaseQuery) -> CaseListPage:
    """One page of the case list, the debtor filter and the names opened from the vault
    (GET /v1/cases and the console's list)."""
    part = query.debtor
    ids = [] if part is None else await debtors_named(runtime, tenant, part)
    page = await list_cases(runtime.engine, tenant, query, ids)
    await named_items(runtime, tenant, page.items)
    return page


async def named_aging(runtime: Runtime, tenant: str, report: AgedBalanceReport) -> None:
    """Fill in the names and SIRENs of the aged balance's per-debtor lines."""
    lines = report.debtors or []
    records = await debtor_records(runtime, tenant, [d.debtor_id for d in lines if d.debtor_id])
    for line in lines:
        if line.debtor_id in records:
            record = records[line.debtor_id]
            line.debtor_name = shown_name(record)
            line.debtor_siren = record.identity.siren if record.identity else None
    lines.sort(key=lambda d: (-d.total, d.debtor_name or "", d.debtor_siren or ""))


async def debtors_named(runtime: Runtime, tenant: str, part: str) -> list[str]:
    """The ids of ``tenant``'s debtors whose name contains ``part`` (case-insensitive).
    Names are encrypted, so this opens every debtor of the tenant: fine for thousands;
    a blind index of name trigrams would be the next step (docs/data-protection.md)."""
    needle = part.casefold()
    async with runtime.reads.connect() as conn:
        found = await runtime.debtors.records(conn, tenant)
    return [
        r.debtor_id
        for r in found
        if r.identity is not None and needle in r.identity.name.casefold()
    ]


async def with_identity(runtime: Runtime, case: CaseRecord) -> CaseRecord:
    """``case`` with its invoice's debtor as the vault holds it (for the dossier's summary):
    the identity when readable, else the reference with ``[données effacées]`` as name."""
    debtor = dict(case.invoice.get("debtor") or {})
    debtor_id = debtor.get("debtor_id")
    if not debtor_id:
        return case
    record = (await debtor_records(runtime, case.tenant, [debtor_id])).get(debtor_id)
    if record is not None and record.identity is not None:
        debtor = {**record.identity.model_dump(mode="json"), "debtor_id": debtor_id}
    else:
        debtor["name"] = shown_name(record)
    return dataclasses.replace(case, invoice={**case.invoice, "debtor": debtor})
