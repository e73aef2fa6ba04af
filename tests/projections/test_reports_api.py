"""GET /v1/cases and the reports over HTTP: filters, sort, pages, strict 422s, tenants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import (
    CaseEscalated,
    CloseReason,
    EscalationRoute,
    FormalNoticeSent,
    PromiseToPayMade,
)
from eventstore.store import EventStore
from projections.projector import run_projector
from services.api.app import create_app
from services.api.routers import reports
from services.config import Settings
from tests.projections.builders import Books, new_tenant
from tests.support.serving import serve

AS_OF = "2026-06-30"


@dataclass(frozen=True)
class Api:
    base_url: str
    keys: dict[str, str]
    ids: dict[str, str]
    """Case ids of tenant "x" by short name; "y" is the other tenant's only case."""
    other: Books

    def client(self, who: str | None = "operator") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)

    async def get(self, path: str, who: str | None = "operator", **params: Any) -> Any:
        async with self.client(who) as client:
            return await client.get(path, params=params)

    async def names(self, **params: Any) -> list[str]:
        """The short names of the listed cases, in order."""
        response = await self.get("/v1/cases", as_of=AS_OF, **params)
        assert response.status_code == 200, response.text
        by_id = {case_id: name for name, case_id in self.ids.items()}
        return [by_id[item["case_id"]] for item in response.json()["items"]]


async def _tenant_x(books: Books) -> dict[str, str]:
    """Six cases; days overdue on 2026-06-30 in the comments. No SIRENs: debtors go by name."""
    ids = {
        "durand": await books.invoice(  # 10 days
            "1000.00", date(2026, 5, 21), date(2026, 6, 20), "Durand SARL", None
        ),
        "freres": await books.invoice(  # 121 days
            "250.50", date(2026, 1, 30), date(2026, 3, 1), "DURAND Frères", None
        ),
        "bio": await books.invoice(  # 30 days
            "4000.00", date(2026, 5, 1), date(2026, 5, 31), "Martin 100% Bio", None
        ),
        "petit": await books.invoice(  # not due
            "80.00", date(2026, 6, 15), date(2026, 7, 31), "Petit", None
        ),
        "zola": await books.invoice(  # 61 days
            "600.00", date(2026, 3, 31), date(2026, 4, 30), "Zola", None
        ),
        "closed": await books.invoice(  # paid and closed: none
            "300.00", date(2026, 1, 1), date(2026, 1, 31), "Closed Co", None
        ),
    }
    notice = FormalNoticeSent(
        letter_reference="LRAR-9",
        sent_on=date(2026, 4, 2),
        principal=Decimal("250.50"),
        late_penalties=Decimal("0"),
        recovery_indemnity=Decimal("40.00"),
        deadline_days=8,
    )
    await books.record(ids["freres"], notice)
    promise = PromiseToPayMade(amount=Decimal("4000.00"), promised_by=date(2026, 7, 10))
    await books.record(ids["bio"], promise)
    escalated = CaseEscalated(
        route=EscalationRoute.small_claims,
        total_claimed=Decimal("640.00"),
        escalated_on=date(2026, 6, 15),
    )
    await books.record(ids["zola"], escalated)
    await books.pay(ids["closed"], "300.00", date(2026, 2, 10), "0.00")
    await books.close(ids["closed"], CloseReason.paid, date(2026, 2, 10), "0.00")
    return ids


@pytest.fixture(scope="module")
async def api(database_url: str, engine: AsyncEngine) -> AsyncIterator[Api]:
    store = EventStore(engine)
    x, y = Books(engine, store, new_tenant()), Books(engine, store, new_tenant())
    ids = await _tenant_x(x)
    ids["y"] = await y.invoice("500.00", date(2026, 5, 1), date(2026, 5, 31), "Durand SARL")
    await x.project()
    token = uuid.uuid4().hex
    keys = {
        "operator": f"op-{token}",
        "auditor": f"au-{token}",
        "erp": f"erp-{token}",
        "other": f"other-{token}",
    }
    spec = ",".join(
        [
            f"{keys['operator']}=operator:{x.tenant}",
            f"{keys['auditor']}=auditor:{x.tenant}",
            f"{keys['erp']}=erp:{x.tenant}",
            f"{keys['other']}=operator:{y.tenant}",
        ]
    )
    settings = Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS="127.0.0.1:9",  # lazy client, never called by these routes
        TEMPORAL_TASK_QUEUE=f"reports-{token[:8]}",
        RECOUVRE_API_KEYS=spec,
        TEMPORAL_RPC_TIMEOUT_S=1.0,
    )
    app = create_app(settings)
    if not any(getattr(r, "path", None) == "/v1/reports/dso" for r in app.routes):
        app.include_router(reports.router)  # until app.py mounts it
    async with serve(app) as base_url:
        yield Api(base_url, keys, ids, y)


async def test_the_list_holds_the_callers_tenant_only_most_overdue_first(api: Api) -> None:
    response = await api.get("/v1/cases", as_of=AS_OF)
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["total"], page["as_of"], page["limit"], page["offset"]) == (6, AS_OF, 50, 0)
    assert await api.names() == ["freres", "zola", "bio", "durand", "petit", "closed"]
    first = page["items"][0]
    assert first["debtor_name"] == "DURAND Frères" and first["stage"] == "formal_notice"
    assert (first["days_overdue"], first["balance"], first["amount_due"]) == (
        121,
        "250.50",
        "250.50",
    )
    assert page["items"][-1]["days_overdue"] is None, "a closed case is overdue no longer"

    other = (await api.get("/v1/cases", "other")).json()
    assert [item["case_id"] for item in other["items"]] == [api.ids["y"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": ["formal_notice", "small_claims"]}, ["freres", "zola"]),
        ({"stage": "closed"}, ["closed"]),
        ({"debtor": "durand"}, ["freres", "durand"]),
        ({"debtor": "  FRÈRES "}, ["freres"]),
        ({"debtor": "100%"}, ["bio"]),
        ({"debtor": "0% B"}, ["bio"]),
        ({"debtor": "%"}, ["bio"]),
        ({"min_balance": "250.50", "max_balance": "1000"}, ["freres", "zola", "durand"]),
        ({"min_balance": "1000.01"}, ["bio"]),
        ({"min_days_overdue": 30}, ["freres", "zola", "bio"]),
        ({"min_days_overdue": 1, "max_days_overdue": 30}, ["bio", "durand"]),
        ({"max_days_overdue": 0}, ["petit"]),
        ({"next_action_from": "2026-07-01", "next_action_to": "2026-07-10"}, ["bio"]),
        ({"next_action_to": "2026-07-09"}, []),
    ],
)
async def test_filters(api: Api, params: dict[str, Any], expected: list[str]) -> None:
    assert await api.names(**params) == expected


async def test_days_overdue_are_counted_to_the_given_date(api: Api) -> None:
    assert await api.names(min_days_overdue=31) == ["freres", "zola"]
    response = await api.get("/v1/cases", as_of="2026-07-01", min_days_overdue=31)
    assert [item["days_overdue"] for item in response.json()["items"]] == [122, 62, 31]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("balance", ["closed", "petit", "freres", "zola", "durand", "bio"]),
        ("-balance", ["bio", "durand", "zola", "freres", "petit", "closed"]),
        ("debtor", ["closed", "freres", "durand", "bio", "petit", "zola"]),
        ("days_overdue", ["petit", "durand", "bio", "zola", "freres", "closed"]),
        ("next_action_on", ["bio"]),  # the only one with a date; nulls come last
    ],
)
async def test_sort(api: Api, sort: str, expected: list[str]) -> None:
    assert (await api.names(sort=sort))[: len(expected)] == expected


async def test_pages_cover_the_whole_list_once_with_the_same_total(api: Api) -> None:
    whole = await api.names()
    pages = []
    for offset in (0, 2, 4, 6):
        response = await api.get("/v1/cases", as_of=AS_OF, limit=2, offset=offset)
        body = response.json()
        assert body["total"] == 6
        pages.append(body["items"])
    assert [len(p) for p in pages] == [2, 2, 2, 0]
    by_id = {case_id: name for name, case_id in api.ids.items()}
    assert [by_id[item["case_id"]] for page in pages for item in page] == whole


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "bogus"}, "stage.0"),
        ({"sort": "balance; DROP TABLE cases"}, "sort"),
        ({"sort": "tenant"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"min_balance": "abc"}, "min_balance"),
        ({"min_balance": "1.234"}, "min_balance"),
        ({"min_balance": "NaN"}, "min_balance"),
        ({"max_balance": "-5"}, "max_balance"),
        ({"min_balance": "10", "max_balance": "5"}, "max_balance"),
        ({"min_days_overdue": 40, "max_days_overdue": 30}, "max_days_overdue"),
        ({"as_of": "2026-13-01"}, "as_of"),
        ({"debtor": "   "}, "debtor"),
        ({"tenant": "someone-else"}, "tenant"),
        ({"after_position": -1}, "after_position"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    api: Api, params: dict[str, Any], field: str
) -> None:
    response = await api.get("/v1/cases", **params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field], error


async def test_only_operators_and_auditors_read(api: Api) -> None:
    assert (await api.get("/v1/cases", "auditor")).status_code == 200
    assert (await api.get("/v1/cases", "erp")).status_code == 403
    assert (await api.get("/v1/cases", None)).status_code == 401
    assert (
        await api.get("/v1/reports/dso", "erp", **{"from": AS_OF, "to": AS_OF})
    ).status_code == 403


async def test_the_aged_balance_report(api: Api) -> None:
    response = await api.get("/v1/reports/aged-balance", "auditor", as_of=AS_OF, by="debtor")
    assert response.status_code == 200, response.text
    report = response.json()
    # not due: petit 80; 1-30: durand 1000 (10 days) + bio 4000 (30); 61-90: zola 600 (61);
    # over 90: freres 250.50 (121); the paid case is out.
    assert report["tenant"] == {
        "not_due": "80.00",
        "days_1_30": "5000.00",
        "days_31_60": "0.00",
        "days_61_90": "600.00",
        "over_90": "250.50",
        "total": "5930.50",
        "invoices": 5,
    }
    assert [d["debtor_name"] for d in report["debtors"]] == [
        "Martin 100% Bio",
        "Durand SARL",
        "Zola",
        "DURAND Frères",
        "Petit",
    ]
    plain = (await api.get("/v1/reports/aged-balance", as_of=AS_OF)).json()
    assert plain["debtors"] is None and plain["tenant"] == report["tenant"]
    bad = await api.get("/v1/reports/aged-balance", as_of=AS_OF, by="siren")
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "by"


async def test_the_dso_report(api: Api) -> None:
    response = await api.get("/v1/reports/dso", **{"from": "2026-05-01", "to": "2026-06-30"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["method"] == "countback"
    # Sales by issue month: January 550.50 (closed 300 + freres 250.50), February 0,
    # March 600 (zola), April 0, May 5000 (bio 4000 + durand 1000), June 80 (petit).
    # 05-31: open 6150.50 issued - 300 paid = 5850.50. May 31 days (850.50 left), April
    #   30 (850.50), March 31 (250.50), February 28, January 31 x 250.50 / 550.50 = 14.1:
    #   31 + 30 + 31 + 28 + 14.1 = 134.1.
    # 06-30: open 5930.50. June 30 days (5850.50 left), then as above: 30 + 134.1 = 164.1.
    assert [
        (p["period_end"], p["receivables"], p["sales"], p["dso_days"]) for p in report["points"]
    ] == [
        ("2026-05-31", "5850.50", "5000.00", "134.1"),
        ("2026-06-30", "5930.50", "80.00", "164.1"),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2026-06-30"}, "from"),
        ({"from": "2026-06-30"}, "to"),
        ({"from": "2026-06-30", "to": "2026-06-01"}, "to"),
        ({"from": "2023-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-02-30", "to": "2026-06-01"}, "from"),
        ({"from": "2026-01-01", "to": "2026-06-01", "by": "x"}, "by"),
    ],
)
async def test_bad_dso_ranges_are_422(api: Api, params: dict[str, Any], field: str) -> None:
    response = await api.get("/v1/reports/dso", **params)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


async def test_a_read_after_a_write_waits_for_the_projector(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore(engine)
    stop = asyncio.Event()
    projector = asyncio.create_task(run_projector(engine, store, stop, poll_interval=0.05))
    try:
        position = await api.other.pay(api.ids["y"], "10.00", date(2026, 6, 1), "490.00")
        response = await api.get("/v1/cases", "other", after_position=position)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["position"] >= position
        assert page["items"][0]["balance"] == "490.00"

        monkeypatch.setattr(reports, "READ_YOUR_WRITES_WAIT_S", 0.1)
        behind = await api.get("/v1/cases", "other", after_position=position + 1_000_000)
        assert behind.status_code == 503 and behind.headers["retry-after"] == "1"
        assert behind.json()["error"]["code"] == "projection_behind"
    finally:
        stop.set()
        await asyncio.wait_for(projector, timeout=5)
