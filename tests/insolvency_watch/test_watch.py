"""The insolvency watch end to end: invoices registered through the API (real worker,
Temporal dev server, PostgreSQL), the case list projected, a notice published in the BODACC
sandbox, one pass of the watch; the debtor's cases freeze and declare the claim."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from inbound.insolvency_watch import keep_watching, watch_once
from legal.deadlines import add_months
from projections.projector import project_batch
from sandboxes.bodacc_server import notice_record
from services.api.deps import Runtime
from storage.tables import case_list, insolvency_publications
from tests.insolvency_watch.conftest import Bodacc
from tests.support.invoices import fresh_siren, invoice_payload
from tests.support.service import Service
from tests.support.serving import free_port

TODAY = datetime.now(UTC).date()
OPENING = (
    "Jugement d'ouverture d'une procédure de redressement judiciaire, date de cessation des "
    "paiements le 1er octobre 2026, désignant mandataire judiciaire SELARL Mandataires "
    "Associés prise en la personne de Me Jeanne Martin 4 rue du Palais 59000 Lille, "
    "administrateur SCP Leroy. Les déclarations de créances sont à adresser au mandataire "
    "judiciaire dans les deux mois de la publication au BODACC."
)


def _notice_id() -> str:
    return f"A{TODAY.year}{secrets.randbelow(10**9):09d}"


async def _open_cases(service: Service, engine: AsyncEngine, siren: str, count: int) -> list[str]:
    """``count`` invoices of one business debtor, listed in the projected case list."""
    debtor = invoice_payload()["debtor"] | {"siren": siren}
    bodies = [invoice_payload(debtor=debtor) for _ in range(count)]
    async with service.client("erp") as erp:
        created = [await erp.post("/v1/invoices", json=body) for body in bodies]
    assert all(c.status_code == 201 for c in created), [c.text for c in created]
    case_ids = [c.json()["case_id"] for c in created]
    store = EventStore(engine)
    async with asyncio.timeout(30):  # what the projector process does, driven here
        while True:
            await project_batch(engine, store)
            async with engine.connect() as conn:
                listed = (
                    await conn.execute(
                        select(case_list.c.case_id).where(
                            case_list.c.case_id.in_(case_ids), case_list.c.debtor_id.is_not(None)
                        )
                    )
                ).all()
            if len(listed) == count:
                return case_ids
            await asyncio.sleep(0.1)


async def _case(service: Service, case_id: str) -> dict[str, Any]:
    async with service.client("operator") as operator:
        response = await operator.get(f"/v1/cases/{case_id}", params={"consistency": "live"})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _publications(engine: AsyncEngine, debtor_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                select(insolvency_publications).where(
                    insolvency_publications.c.debtor_id == debtor_id
                )
            )
        )


async def test_a_bodacc_notice_freezes_the_debtors_cases_and_prepares_the_declaration(
    service: Service, engine: AsyncEngine, bodacc: Bodacc, watch_runtime: Runtime
) -> None:
    siren = fresh_siren()
    case_ids = await _open_cases(service, engine, siren, 2)
    debtor_id = (await _case(service, case_ids[0]))["debtor_id"]
    published = TODAY - timedelta(days=3)
    notice_id = _notice_id()
    bodacc.sandbox.publish(
        notice_record(
            siren,
            notice_id=notice_id,
            published_on=published,
            complement=OPENING,
            tribunal="TRIBUNAL DE COMMERCE DE LILLE METROPOLE",
        )
    )

    found = await watch_once(watch_runtime)

    [mine] = [f for f in found if f.debtor_id == debtor_id]
    assert (mine.publication_id, mine.proceeding, mine.published_on) == (
        notice_id,
        "redressement",
        published,
    )
    assert sorted(c.case_id for c in mine.cases) == sorted(case_ids)
    assert all(c.applied and c.stage == "insolvency" for c in mine.cases), mine.cases
    views = [await _case(service, c) for c in case_ids]
    for view in views:
        assert view["insolvency_published_on"] == published.isoformat()
        assert view["claim_declaration_deadline"] == add_months(published, 2).isoformat()
        assert view["mandataire"] == "SELARL Mandataires Associés"
        [detected] = [j for j in view["journal"] if j["type"] == "InsolvencyDetected"]
        assert detected["by"] == f"bodacc:{notice_id}"
        assert detected["fact"]["data"]["court"] == "TRIBUNAL DE COMMERCE DE LILLE METROPOLE"
    async with asyncio.timeout(30):  # the declaration of claim, prepared for the mandataire
        while True:
            views = [await _case(service, c) for c in case_ids]
            declared = [
                next((a for a in v["actions"] if a["step"] == "claim_declaration"), None)
                for v in views
            ]
            if all(declared):
                break
            await asyncio.sleep(0.2)
    assert all(d is not None and d["recipient"] == "SELARL Mandataires Associés" for d in declared)
    assert all(v["stage"] in ("insolvency", "closed") for v in views)
    assert all(v["outcome"] in (None, "insolvency_claim_declared") for v in views), (
        "frozen: no reminder, only the declaration"
    )
    [row] = await _publications(engine, debtor_id)
    assert (row.publication_id, row.proceeding, row.published_on) == (
        notice_id,
        "redressement",
        published,
    )
    assert row.court == "TRIBUNAL DE COMMERCE DE LILLE METROPOLE"
    assert row.mandataire == "SELARL Mandataires Associés"
    assert sorted(c["case_id"] for c in row.cases) == sorted(case_ids)

    again = await watch_once(watch_runtime)

    assert [f for f in again if f.debtor_id == debtor_id] == []
    [same] = await _publications(engine, debtor_id)
    assert same == row, "found once: the same row, untouched"
    for case_id in case_ids:
        journal = (await _case(service, case_id))["journal"]
        assert [j["type"] for j in journal].count("InsolvencyDetected") == 1


async def test_another_siren_another_family_a_closure_or_an_old_notice_change_nothing(
    service: Service, engine: AsyncEngine, bodacc: Bodacc, watch_runtime: Runtime
) -> None:
    siren = fresh_siren()
    [case_id] = await _open_cases(service, engine, siren, 1)
    debtor_id = (await _case(service, case_id))["debtor_id"]
    recent = TODAY - timedelta(days=5)
    bodacc.sandbox.publish(
        notice_record(fresh_siren(), notice_id=_notice_id(), published_on=recent),
        notice_record(
            siren, notice_id=_notice_id(), published_on=recent, familleavis="modification"
        ),
        notice_record(
            siren,
            notice_id=_notice_id(),
            published_on=recent,
            famille="Jugement de clôture",
            nature="Jugement de clôture pour insuffisance d'actif",
        ),
        notice_record(
            siren,
            notice_id=_notice_id(),
            published_on=date(TODAY.year - 3, 1, 15),
            complement=OPENING,
        ),
    )

    found = await watch_once(watch_runtime)

    assert [f for f in found if f.debtor_id == debtor_id] == []
    assert await _publications(engine, debtor_id) == []
    view = await _case(service, case_id)
    assert view["stage"] != "insolvency" and view["claim_declaration_deadline"] is None
    assert "insolvency" not in [h["kind"] for h in view["holds"]]


async def test_the_loop_outlives_an_unreachable_bodacc(
    service: Service,
    engine: AsyncEngine,
    watch_runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _open_cases(service, engine, fresh_siren(), 1)  # someone to watch
    settings = watch_runtime.settings.model_copy(
        update={"bodacc_url": f"http://127.0.0.1:{free_port()}"}
    )
    unreachable = Runtime(
        settings=settings,
        engine=engine,
        temporal=watch_runtime.temporal,
        keys={},
        rates=watch_runtime.rates,
    )
    caplog.set_level(logging.WARNING, logger="recouvre.insolvency_watch")

    loop = asyncio.create_task(keep_watching(unreachable, 0.05))
    await asyncio.sleep(0.5)
    alive = not loop.done()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop

    assert alive, "a failed pass is not fatal"
    failures = [r for r in caplog.records if "BODACC not read" in r.getMessage()]
    assert len(failures) >= 2, "each pass tried again"
