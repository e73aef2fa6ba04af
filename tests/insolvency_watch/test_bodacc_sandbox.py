"""The BODACC sandbox answers the records endpoint as opendatasoft's Explore API v2.1
documents it, for the parameters recouvre sends: ``where`` (ODSQL), ``select``,
``order_by``, ``limit`` (at most 100), ``offset`` (``offset + limit`` at most 10 000)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from sandboxes.bodacc_server import RECORDS_PATH, notice_record
from tests.insolvency_watch.conftest import Bodacc
from tests.support.invoices import fresh_siren


async def _records(bodacc: Bodacc, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=bodacc.url) as http:
        return await http.get(RECORDS_PATH, params=params)


async def _published(bodacc: Bodacc) -> tuple[str, str]:
    """Three notices of one SIREN (two collective, one creation) and one of another."""
    siren, other = fresh_siren(), fresh_siren()
    async with httpx.AsyncClient(base_url=bodacc.url) as http:
        posted = await http.post(
            "/_sandbox/records",
            json=[
                notice_record(siren, notice_id=f"A1{siren}", published_on=date(2026, 3, 1)),
                notice_record(siren, notice_id=f"A2{siren}", published_on=date(2026, 9, 15)),
                notice_record(
                    siren,
                    notice_id=f"A3{siren}",
                    published_on=date(2026, 10, 1),
                    familleavis="creation",
                ),
                notice_record(other, notice_id=f"A4{other}", published_on=date(2026, 9, 20)),
            ],
        )
    assert posted.status_code == 201, posted.text
    return siren, other


async def test_where_filters_on_a_siren_the_family_and_the_date(bodacc: Bodacc) -> None:
    siren, other = await _published(bodacc)
    where = (
        f"familleavis = \"collective\" AND dateparution >= date'2026-06-01' "
        f'AND (registre = "{siren}" OR registre = "{other}")'
    )

    answer = await _records(bodacc, where=where, order_by="dateparution desc", limit=10)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"total_count", "results"}
    assert body["total_count"] == 2
    assert [r["id"] for r in body["results"]] == [f"A4{other}", f"A2{siren}"]
    record = body["results"][1]
    assert record["registre"] == [f"{siren[:3]} {siren[3:6]} {siren[6:]}", siren]
    assert isinstance(record["jugement"], str) and isinstance(record["listepersonnes"], str)
    assert record["familleavis_lib"] == "Procédures collectives"


async def test_like_matches_the_spaced_siren_and_single_quotes_work(bodacc: Bodacc) -> None:
    siren, _ = await _published(bodacc)
    spaced = f"{siren[:3]} {siren[3:6]} {siren[6:]}"

    liked = await _records(bodacc, where=f'registre like "{spaced}"', limit=100)
    quoted = await _records(
        bodacc, where=f"registre = '{siren}' AND NOT familleavis = 'collective'"
    )

    assert liked.json()["total_count"] == 3
    assert [r["familleavis"] for r in quoted.json()["results"]] == ["creation"]


async def test_select_limit_and_offset_page_through_the_matches(bodacc: Bodacc) -> None:
    siren, _ = await _published(bodacc)
    where = f'registre = "{siren}"'

    first = await _records(bodacc, where=where, select="id,dateparution", order_by="id", limit=2)
    second = await _records(
        bodacc, where=where, select="id,dateparution", order_by="id", limit=2, offset=2
    )

    assert first.json()["total_count"] == second.json()["total_count"] == 3
    assert first.json()["results"] == [
        {"id": f"A1{siren}", "dateparution": "2026-03-01"},
        {"id": f"A2{siren}", "dateparution": "2026-09-15"},
    ]
    assert [r["id"] for r in second.json()["results"]] == [f"A3{siren}"]


async def test_what_the_portal_refuses_is_refused_with_its_error_codes(bodacc: Bodacc) -> None:
    too_many = await _records(bodacc, limit=101)
    too_far = await _records(bodacc, limit=100, offset=9_901)
    unknown = await _records(bodacc, where='siren = "732829320"')
    broken = await _records(bodacc, where='registre = "732829320" AND (')
    bad_order = await _records(bodacc, order_by="dateparution sideways")

    for answer, code in [
        (too_many, "InvalidRESTParameterError"),
        (too_far, "InvalidRESTParameterError"),
        (unknown, "ODSQLError"),
        (broken, "ODSQLError"),
        (bad_order, "ODSQLError"),
    ]:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_code"] == code, answer.json()
    assert "siren" in unknown.json()["message"]


async def test_the_default_page_is_ten_records(bodacc: Bodacc) -> None:
    await _published(bodacc)
    await _published(bodacc)
    await _published(bodacc)

    answer = await _records(bodacc)

    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 10
    assert answer.json()["total_count"] >= 12
