"""Reading cases through the API under test, as an operator would."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from schemas.case import CaseView
from tests.faults.figures import settled
from tests.support.processes import eventually
from tests.support.service import KEYS


def api_client(base_url: str, who: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {KEYS[who]}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)


async def read_case(operator: httpx.AsyncClient, case_id: str) -> CaseView | None:
    """The case, or None while the API cannot answer (503)."""
    answer = await operator.get(f"/v1/cases/{case_id}")
    return CaseView.model_validate(answer.json()) if answer.status_code == 200 else None


async def wait_for_case(
    operator: httpx.AsyncClient,
    case_id: str,
    ok: Callable[[CaseView], bool],
    within_s: float = 60.0,
) -> CaseView:
    found = await eventually(
        lambda: read_case(operator, case_id), lambda c: c is not None and ok(c), within_s
    )
    assert found is not None
    return found


def has_done(*steps: str) -> Callable[[CaseView], bool]:
    """The case sent these steps and stored every fact it journaled so far."""

    def check(case: CaseView) -> bool:
        sent = {a.step for a in case.actions if a.status == "sent"}
        return sent >= set(steps) and settled(case)

    return check


def closed(case: CaseView) -> bool:
    """Closed, with its journal final and stored."""
    return case.outcome is not None and settled(case)
