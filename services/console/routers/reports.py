"""Reports: the aged balance (stacked bars by overdue band, then the debtor table) and
DSO over the last 12 months (a line), each with its CSV export. The tables are the data
without JavaScript; Chart.js draws from the same numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import ValidationError

from projections.aged_balance import AgedBalanceReport, aged_balance
from projections.calendar import month_start, today
from projections.dso import DsoReport, dso_report
from services.api.debtor_names import named_aging
from services.api.routers.reports import AgedBalanceParams
from services.console.labels import BANDS
from services.console.pages import ConsoleRoute, Visit, signed_in

router = APIRouter(route_class=ConsoleRoute)
SignedIn = Annotated[Visit, Depends(signed_in)]
CHART_DEBTORS = 10


def _as_of(raw: str | None) -> tuple[date, str | None]:
    if not raw:
        return today(), None
    try:
        params = AgedBalanceParams.model_validate({"as_of": raw})
    except ValidationError as err:
        return today(), str(err.errors()[0]["msg"])
    return params.as_of or today(), None


def _twelve_months(last: date) -> tuple[date, date]:
    month = last.month - 11
    year = last.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return month_start(date(year, month, 1)), last


async def _reports(current: Visit, as_of: date) -> tuple[AgedBalanceReport, DsoReport]:
    tenant = current.who.tenant
    engine = current.runtime.engine
    aged = await aged_balance(engine, tenant, as_of, by_debtor=True)
    await named_aging(current.runtime, tenant, aged)
    first, last = _twelve_months(as_of)
    return aged, await dso_report(engine, tenant, first, last)


def _chart_data(aged: AgedBalanceReport, dso: DsoReport) -> dict[str, Any]:
    debtors = (aged.debtors or [])[:CHART_DEBTORS]
    return {
        "aged": {
            "labels": ["Total", *[d.debtor_name or d.debtor_siren or "?" for d in debtors]],
            "bands": [
                {
                    "label": label,
                    "data": [float(getattr(row, band)) for row in (aged.tenant, *debtors)],
                }
                for band, label in BANDS.items()
            ],
        },
        "dso": {
            "labels": [point.period_end.strftime("%m/%Y") for point in dso.points],
            "data": [float(point.dso_days) for point in dso.points],
        },
    }


@router.get("/reports/aged-balance")
async def aged_balance_page(current: SignedIn, as_of: str | None = None) -> Response:
    day, error = _as_of(as_of)
    aged, dso = await _reports(current, day)
    return current.render(
        "aged_balance.html",
        400 if error else 200,
        aged=aged,
        dso=dso,
        bands=BANDS,
        as_of=day,
        error=error,
        chart=json.dumps(_chart_data(aged, dso)),
    )


def _csv(rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so spreadsheets read the accents as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/reports/aged-balance.csv")
async def aged_balance_csv(current: SignedIn, as_of: str | None = None) -> Response:
    day, _ = _as_of(as_of)
    aged = await aged_balance(current.runtime.engine, current.who.tenant, day, by_debtor=True)
    await named_aging(current.runtime, current.who.tenant, aged)
    head = ["debiteur", "siren", *BANDS.values(), "total", "factures"]
    rows: list[list[Any]] = [head]
    for d in aged.debtors or []:
        bands = [getattr(d, band) for band in BANDS]
        rows.append([d.debtor_name or "", d.debtor_siren or "", *bands, d.total, d.invoices])
    t = aged.tenant
    rows.append(["TOTAL", "", *[getattr(t, band) for band in BANDS], t.total, t.invoices])
    return _csv(rows, f"balance-agee-{day.isoformat()}.csv")


@router.get("/reports/dso.csv")
async def dso_csv(current: SignedIn, as_of: str | None = None) -> Response:
    day, _ = _as_of(as_of)
    first, last = _twelve_months(day)
    dso = await dso_report(current.runtime.engine, current.who.tenant, first, last)
    rows: list[list[Any]] = [["fin_de_periode", "encours", "ventes_du_mois", "dso_jours"]]
    rows += [[p.period_end, p.receivables, p.sales, p.dso_days] for p in dso.points]
    return _csv(rows, f"dso-{day.isoformat()}.csv")
