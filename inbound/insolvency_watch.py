"""The insolvency watch: every open debtor's SIREN checked against BODACC, daily.

One pass (``watch_once``):

1. the debtors with an open case (table ``case_list``: tenant, debtor id, stage), each
   one's SIREN from the row or, for a debtor account, from the vault (a debtor without a
   SIREN, a consumer say, or one erased, is not watched);
2. BODACC's collective-proceedings notices of those SIRENs published in the last
   ``LOOKBACK_DAYS`` (inbound/bodacc_client.py), keeping the judgments that open (or
   convert into) a sauvegarde, a redressement or a liquidation judiciaire;
3. for each notice a tenant has not recorded for that debtor yet: ``InsolvencyPublished``
   (publication date, court, mandataire; ``by`` ``bodacc:<notice id>``) to each open case
   of the debtor, as ``POST /v1/debtors/{id}/insolvency`` sends it, with the update id
   ``bodacc/<notice id>``: each case freezes (C. com. L622-21) and prepares its
   declaration of claim, due 2 months after the publication (R622-24). Then the notice
   is recorded in ``insolvency_publications`` with what each case answered.

A notice is recorded only once its cases have answered: if Temporal does not answer, the
next pass sends again, and the update id makes a case that already applied it answer the
same. Two API processes watching at once record it once (primary key); their updates
are the same update. ``keep_watching`` runs a pass every ``interval_s``; a failed pass is
logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from inbound.bodacc_client import BodaccError, BodaccNotice, find_collective_notices
from projections.case_view_store import debtor_case_views
from schemas.case import Stage
from schemas.case_events import CaseEventEnvelope, InsolvencyPublished
from services.api.acks import CaseAck, ack
from services.api.case_access import case_handle, case_update
from services.api.deps import Runtime
from services.api.errors import ApiError
from services.api.routers.debtor_events import CaseResult, CaseSender, send_each_case
from storage.tables import case_list, insolvency_publications

log = logging.getLogger("recouvre.insolvency_watch")

LOOKBACK_DAYS = 548
"""About 18 months: an older opening judgment is no longer news to act on."""
HTTP_TIMEOUT_S = 30.0

DebtorKey = tuple[str, str]
"""(tenant, debtor id)."""


@dataclass(frozen=True)
class FoundPublication:
    """A notice applied to a debtor's open cases during a pass."""

    tenant: str
    debtor_id: str
    publication_id: str
    proceeding: str
    published_on: date
    cases: list[CaseResult]


def actor_for(notice: BodaccNotice) -> str:
    """Who reports the insolvency in the cases' journals: the BODACC notice itself."""
    return f"bodacc:{notice.notice_id}"


def update_id_for(notice: BodaccNotice) -> str:
    """The update id each case gets: the same notice is applied once per case."""
    return f"bodacc/{notice.notice_id}"


def insolvency_event(notice: BodaccNotice) -> InsolvencyPublished:
    """The event ``POST /v1/debtors/{id}/insolvency`` would send for this notice."""
    assert notice.proceeding is not None
    return InsolvencyPublished(
        published_on=notice.published_on,
        proceeding=notice.proceeding,
        mandataire=notice.mandataire,
        court=notice.court,
        by=actor_for(notice),
    )


async def watched_debtors(runtime: Runtime) -> dict[str, set[DebtorKey]]:
    """Each SIREN of a debtor with an open case, and the (tenant, debtor) it names."""
    query = (
        select(case_list.c.tenant, case_list.c.debtor_id, case_list.c.debtor_siren)
        .where(case_list.c.stage != Stage.closed.value, case_list.c.debtor_id.is_not(None))
        .distinct()
    )
    by_siren: dict[str, set[DebtorKey]] = defaultdict(set)
    unknown: dict[str, set[str]] = defaultdict(set)
    async with runtime.reads.connect() as conn:
        for row in await conn.execute(query):
            if row.debtor_siren:
                by_siren[row.debtor_siren].add((row.tenant, row.debtor_id))
            else:
                unknown[row.tenant].add(row.debtor_id)
        for tenant, debtor_ids in unknown.items():
            for record in await runtime.debtors.records(conn, tenant, debtor_ids):
                if record.identity is not None and record.identity.siren:
                    by_siren[record.identity.siren].add((tenant, record.debtor_id))
    return dict(by_siren)


async def _recorded(runtime: Runtime, notice_ids: list[str]) -> set[tuple[str, str, str]]:
    query = select(
        insolvency_publications.c.tenant,
        insolvency_publications.c.debtor_id,
        insolvency_publications.c.publication_id,
    ).where(insolvency_publications.c.publication_id.in_(notice_ids))
    async with runtime.reads.connect() as conn:
        return {(r.tenant, r.debtor_id, r.publication_id) for r in await conn.execute(query)}


def _sender(runtime: Runtime, tenant: str, notice: BodaccNotice) -> CaseSender:
    async def send(case_id: str, event: InsolvencyPublished) -> CaseAck:
        handle = await case_handle(runtime, tenant, case_id)
        envelope = CaseEventEnvelope(event=event)
        view = await case_update(
            runtime, handle, "apply_event", envelope, update_id=update_id_for(notice)
        )
        return ack(view)

    return send


async def apply_notice(
    runtime: Runtime, tenant: str, debtor_id: str, notice: BodaccNotice
) -> FoundPublication:
    """Send the notice's insolvency to each open case of the debtor, then record it (once:
    a concurrent pass that recorded it first keeps its row). Raises ApiError 503 when
    Temporal does not answer: nothing is recorded, the next pass sends again."""
    async with runtime.reads.connect() as conn:
        views = await debtor_case_views(conn, tenant, [debtor_id])
    open_ids = [v.case_id for v in views if v.stage is not Stage.closed]
    event = insolvency_event(notice)
    sent = await send_each_case(
        debtor_id, [(c, event) for c in open_ids], _sender(runtime, tenant, notice)
    )
    assert notice.proceeding is not None
    async with runtime.engine.begin() as conn:
        await conn.execute(
            insert(insolvency_publications)
            .values(
                tenant=tenant,
                debtor_id=debtor_id,
                publication_id=notice.notice_id,
                published_on=notice.published_on,
                proceeding=notice.proceeding,
                court=notice.court,
                mandataire=notice.mandataire,
                cases=[c.model_dump(mode="json") for c in sent.cases],
            )
            .on_conflict_do_nothing()
        )
    return FoundPublication(
        tenant=tenant,
        debtor_id=debtor_id,
        publication_id=notice.notice_id,
        proceeding=notice.proceeding,
        published_on=notice.published_on,
        cases=sent.cases,
    )


async def watch_once(
    runtime: Runtime, http: httpx.AsyncClient | None = None, today: date | None = None
) -> list[FoundPublication]:
    """One pass: what was new this time (each notice and debtor it was applied to).
    Raises BodaccError when BODACC cannot be read (nothing is applied then)."""
    watched = await watched_debtors(runtime)
    if not watched:
        return []
    since = (today or datetime.now(UTC).date()) - timedelta(days=LOOKBACK_DAYS)
    base_url = runtime.settings.bodacc_url
    if http is None:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as own:
            notices = await find_collective_notices(own, base_url, watched.keys(), since)
    else:
        notices = await find_collective_notices(http, base_url, watched.keys(), since)
    openings = [n for n in notices if n.opens_proceeding and n.published_on >= since]
    if not openings:
        return []
    recorded = await _recorded(runtime, [n.notice_id for n in openings])
    found = []
    for notice in openings:
        debtors = sorted({key for siren in notice.sirens for key in watched.get(siren, ())})
        for tenant, debtor_id in debtors:
            if (tenant, debtor_id, notice.notice_id) in recorded:
                continue
            try:
                found.append(await apply_notice(runtime, tenant, debtor_id, notice))
            except ApiError as err:  # Temporal unreachable: the next pass sends again
                log.warning(
                    "BODACC notice %s not applied to debtor %s yet: %s",
                    notice.notice_id,
                    debtor_id,
                    err.message,
                )
    return found


async def keep_watching(runtime: Runtime, interval_s: float) -> None:
    """A pass every ``interval_s`` (the first one after at most 5 minutes) until
    cancelled; a failed pass is logged and the next one tries again."""
    wait = min(interval_s, 300.0)
    while True:
        await asyncio.sleep(wait)
        wait = interval_s
        try:
            found = await watch_once(runtime)
        except BodaccError as err:
            log.warning("insolvency watch: BODACC not read this time: %s", err)
            continue
        except OSError as err:
            log.warning("insolvency watch failed (database unreachable): %s", err)
            continue
        except Exception:  # never let the loop die: the next pass may succeed
            log.exception("insolvency watch failed")
            continue
        for publication in found:
            applied = sum(1 for c in publication.cases if c.applied)
            log.info(
                "BODACC notice %s (%s, published %s): debtor %s, %d case(s) frozen",
                publication.publication_id,
                publication.proceeding,
                publication.published_on,
                publication.debtor_id,
                applied,
            )
