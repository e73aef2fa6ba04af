"""The case list: one tenant's cases, filtered, sorted and paged, from ``case_list``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, Date, Integer, bindparam, case, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.calendar import today
from projections.projector import current_position
from schemas.bounds import MAX_AMOUNT, ApiModel, BoundedDate
from schemas.case import Stage
from schemas.money import Balance
from storage.tables import case_list

SORT_KEYS = (
    "days_overdue",
    "due_date",
    "balance",
    "amount_due",
    "debtor",
    "invoice_number",
    "next_action_on",
    "last_action_on",
    "stage",
    "updated",
)
MAX_DAYS = 36_500


class CaseQuery(ApiModel):
    """Filters, sort and page of the case list (every field is a query parameter)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    as_of: BoundedDate | None = Field(
        default=None, description="Day the days overdue are counted to; default today (Paris)"
    )
    stage: list[Stage] = Field(default_factory=list, description="Any of these stages")
    debtor: str | None = Field(
        default=None, min_length=1, max_length=200, description="Part of the debtor's name"
    )
    min_balance: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=2)
    max_balance: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=2)
    min_days_overdue: int | None = Field(default=None, ge=0, le=MAX_DAYS)
    max_days_overdue: int | None = Field(default=None, ge=0, le=MAX_DAYS)
    next_action_from: BoundedDate | None = None
    next_action_to: BoundedDate | None = None
    sort: str = Field(
        default="-days_overdue",
        pattern=rf"^-?({'|'.join(SORT_KEYS)})$",
        description="A sort key, '-' first for descending: " + ", ".join(SORT_KEYS),
    )
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _ranges(self) -> CaseQuery:
        pairs = (
            ("min_balance", "max_balance"),
            ("min_days_overdue", "max_days_overdue"),
            ("next_action_from", "next_action_to"),
        )
        for low, high in pairs:
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and b < a:
                raise ValueError(f"{high}: must not be less than {low}")
        return self


class CaseListItem(BaseModel):
    case_id: str
    invoice_number: str
    debtor_name: str | None
    debtor_siren: str | None
    debtor_id: str | None = None
    currency: str
    issue_date: date
    due_date: date
    amount_due: Balance
    balance: Balance
    paid: Balance
    credited: Balance
    stage: Stage
    outcome: str | None
    closed_on: date | None
    days_overdue: int | None = Field(description="As of `as_of`; null once closed")
    last_action: str | None
    last_action_on: date | None
    next_action_on: date | None
    updated_position: int = Field(description="Position of the last event applied to the row")


class CaseListPage(BaseModel):
    as_of: date
    position: int = Field(description="Last event position the list includes")
    total: int = Field(description="Cases matching the filters, all pages together")
    limit: int
    offset: int
    items: list[CaseListItem]


def days_overdue(as_of: date) -> ColumnElement[Any]:
    """Calendar days past the due date on ``as_of`` (0 before it); NULL for a closed case."""
    late = bindparam("as_of", as_of, type_=Date) - case_list.c.due_date
    return case(
        (case_list.c.stage == Stage.closed.value, null()),
        else_=func.greatest(0, late, type_=Integer),
    )


def _conditions(
    tenant: str, query: CaseQuery, as_of: date, debtor_ids: Sequence[str] = ()
) -> list[ColumnElement[bool]]:
    c = case_list.c
    found = [c.tenant == tenant]
    if query.stage:
        found.append(c.stage.in_([s.value for s in query.stage]))
    if query.debtor is not None:
        by_name = c.debtor_name.icontains(query.debtor, autoescape=True)
        found.append(or_(by_name, c.debtor_id.in_(debtor_ids)) if debtor_ids else by_name)
    if query.min_balance is not None:
        found.append(c.balance >= query.min_balance)
    if query.max_balance is not None:
        found.append(c.balance <= query.max_balance)
    if query.min_days_overdue is not None or query.max_days_overdue is not None:
        found.append(c.stage != Stage.closed.value)  # a closed case is overdue no longer
    if query.min_days_overdue is not None:
        found.append(c.due_date <= as_of - timedelta(days=query.min_days_overdue))
    if query.max_days_overdue is not None:
        found.append(c.due_date >= as_of - timedelta(days=query.max_days_overdue))
    if query.next_action_from is not None:
        found.append(c.next_action_on >= query.next_action_from)
    if query.next_action_to is not None:
        found.append(c.next_action_on <= query.next_action_to)
    return found


def _order(sort: str, as_of: date) -> list[Any]:
    key = sort.removeprefix("-")
    expressions: dict[str, ColumnElement[Any]] = {
        "days_overdue": days_overdue(as_of),
        "due_date": case_list.c.due_date,
        "balance": case_list.c.balance,
        "amount_due": case_list.c.amount_due,
        "debtor": func.lower(case_list.c.debtor_name),
        "invoice_number": case_list.c.invoice_number,
        "next_action_on": case_list.c.next_action_on,
        "last_action_on": case_list.c.last_action_on,
        "stage": case_list.c.stage,
        "updated": case_list.c.updated_position,
    }
    chosen = expressions[key]
    ordered = chosen.desc() if sort.startswith("-") else chosen.asc()
    return [ordered.nulls_last(), case_list.c.case_id]  # the id makes pages stable


async def list_cases(
    engine: AsyncEngine, tenant: str, query: CaseQuery, debtor_ids: Sequence[str] = ()
) -> CaseListPage:
    """One page of ``tenant``'s cases matching ``query``, and how many match in all.
    ``debtor_ids``: the debtors whose (encrypted) name matches ``query.debtor``, found by
    the caller in the vault; the rows of older cases match on their name column."""
    as_of = query.as_of or today()
    where = _conditions(tenant, query, as_of, debtor_ids)
    page = (
        select(case_list, days_overdue(as_of).label("days_overdue"))
        .where(*where)
        .order_by(*_order(query.sort, as_of))
        .limit(query.limit)
        .offset(query.offset)
    )
    count = select(func.count()).select_from(case_list).where(*where)
    async with engine.connect() as conn:
        # One snapshot: the total, the page and the position agree with each other.
        await conn.execution_options(isolation_level="REPEATABLE READ")
        position = await current_position(conn)
        total = (await conn.execute(count)).scalar_one()
        rows = (await conn.execute(page)).all()
    return CaseListPage(
        as_of=as_of,
        position=position,
        total=total,
        limit=query.limit,
        offset=query.offset,
        items=[CaseListItem.model_validate(row._mapping) for row in rows],
    )
