"""Every write on a case over HTTP, table-driven: who may call it (200, 403, 401, and 404
for another tenant), what the case's state refuses (409), which field is wrong (422,
`by` included: the actor comes from the key), and what a write answers (an ack, never
the case and its journal).

Cheap on purpose: the cases are opened once for the module, with a due date two months
ahead so nothing fires on the standard timeline; a fresh case only where the tested
event changes what later events may do. Two demo cases walk their timeline (seconds
apart) meanwhile: one to a registered letter and a hand-off, one to a refused email.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.api.acks import CaseAck
from tests.conftest import BOUNCING_DOMAIN
from tests.e2e.conftest import KEYS, Service
from tests.support.invoices import invoice_payload

Body = dict[str, Any]
TODAY = datetime.now(UTC).date()
ROLES = ("erp", "operator", "auditor")
ACK_FIELDS = set(CaseAck.model_fields)
ESCALATED = {"small_claims", "injonction_de_payer", "agency", "enforcement"}
_serial = itertools.count(1)


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}-{datetime.now(UTC).strftime('%H%M%S%f')}"


def actor(who: str) -> str:
    """The `by` the API records for a test key (services/api/keys.py)."""
    role = who.removeprefix("other_")
    return f"{role}:{hashlib.sha256(KEYS[who].encode()).hexdigest()[:8]}@acme"


@dataclass(frozen=True)
class Route:
    """One write endpoint: ``path`` after /v1/cases/{id}/, the roles it admits, a valid
    body (built afresh for each call), and where a 200 is tried: ``shared`` (an event
    that leaves the case open to every other one), ``fresh`` (after ``setup``, posted by
    an operator), or a demo case that got there: ``formal_notice``, ``escalated``,
    ``blocked``."""

    path: str
    roles: tuple[str, ...]
    body: Callable[[], Body]
    state: str = "shared"
    setup: tuple[tuple[str, Body], ...] = ()
    expect: dict[str, Any] = field(default_factory=dict)
    hold: str | None = None


ROUTES: dict[str, Route] = {
    "promises": Route(
        "promises",
        ("erp", "operator"),
        lambda: {"promised_on": day(30), "note": "au téléphone"},
        hold="promise",
    ),
    "payment-plan": Route(
        "payment-plan",
        ("operator",),
        lambda: {
            "agreed_on": day(0),
            "instalments": [
                {"due_on": day(30), "amount": "600.00"},
                {"due_on": day(60), "amount": "600.00"},
            ],
        },
        state="fresh",
        hold="payment_plan",
    ),
    "disputes": Route(
        "disputes",
        ("erp", "operator"),
        lambda: {"reason": "marchandise non conforme"},
        state="fresh",
        hold="dispute",
    ),
    "disputes/resolution": Route(
        "disputes/resolution",
        ("operator",),
        lambda: {"outcome": "rejected", "note": "livraison conforme"},
        state="fresh",
        setup=(("disputes", {"reason": "contestation"}),),
        expect={"holds": []},
    ),
    "credit-notes": Route(
        "credit-notes",
        ("erp", "operator"),
        lambda: {"amount": "1.00", "reference": unique("AV"), "issued_on": day(0)},
    ),
    "pause": Route("pause", ("operator",), lambda: {"reason": "appel du client"}, hold="operator"),
    "resume": Route(
        "resume",
        ("operator",),
        lambda: {"reason": "reprise"},
        state="fresh",
        setup=(("pause", {"reason": "pause"}),),
        expect={"holds": []},
    ),
    "insolvency": Route(
        "insolvency",
        ("operator",),
        lambda: {"published_on": day(0), "proceeding": "redressement", "mandataire": "Me Dupont"},
        state="fresh",
        expect={"stage": "insolvency"},
        hold="insolvency",
    ),
    "einvoicing-status": Route(
        "einvoicing-status", ("erp",), lambda: {"code": 200, "reported_on": day(0)}
    ),
    "registered-letter-status": Route(
        "registered-letter-status",
        ("operator",),
        lambda: {"status": "presented", "on": day(0)},
        state="formal_notice",
    ),
    "phone-outcome": Route("phone-outcome", ("operator",), lambda: {"outcome": "no_answer"}),
    "partner-reports": Route(
        "partner-reports",
        ("operator",),
        lambda: {"status": "in_progress", "on": day(0), "note": "dossier ouvert"},
        state="escalated",
    ),
    "close": Route(
        "close",
        ("operator",),
        lambda: {"outcome": "written_off", "reason": "irrécouvrable"},
        state="fresh",
        expect={"stage": "closed", "outcome": "written_off"},
    ),
    "policy": Route(
        "policy",
        ("operator",),
        lambda: {"policy_id": "fr-b2c-standard", "reason": "client particulier"},
        state="fresh",
        expect={"policy_id": "fr-b2c-standard"},
    ),
    "payments": Route(
        "payments",
        ("erp", "operator"),
        lambda: {"amount": "1.00", "paid_on": day(0), "reference": unique("VIR")},
    ),
    "retry": Route(
        "steps/reminder_1/retry", ("operator",), lambda: {"note": "adresse corrigée"}, "blocked"
    ),
}

# Where each route is refused by the case's state (409): a closed case, an untouched one
# (nothing to resume, resolve, report on, retry; already on that policy), or one with a
# dispute and an insolvency already recorded. The route's valid body, unless given here.
CONFLICT_BODIES: dict[str, Body] = {
    "policy": {"policy_id": "fr-b2b-standard", "reason": "déjà dessus"},
}
CONFLICTS: dict[str, str] = {
    "promises": "closed",
    "payment-plan": "closed",
    "disputes": "busy",  # a second dispute
    "disputes/resolution": "pristine",  # no dispute open
    "credit-notes": "closed",
    "pause": "closed",
    "resume": "pristine",  # not paused
    "insolvency": "busy",  # already recorded
    "einvoicing-status": "closed",
    "registered-letter-status": "pristine",  # no letter sent
    "phone-outcome": "closed",
    "partner-reports": "pristine",  # not handed to a partner
    "close": "closed",  # closed already
    "policy": "pristine",  # already on fr-b2b-standard
    "payments": "closed",
    "retry": "pristine",  # no failed step
}

# One bad field per route: (a path instead of the route's, the body, the field named).
# Some are refused by the body's schema, some by the case (a credit beyond the balance,
# instalments that do not total it).
INVALID: dict[str, tuple[str | None, Body, str]] = {
    "promises": (None, {"promised_on": day(30), "amount": "0.00"}, "amount"),
    "payment-plan": (
        None,
        {"agreed_on": day(0), "instalments": [{"due_on": day(30), "amount": "1.00"}]},
        "instalments",
    ),
    "disputes": (None, {"reason": ""}, "reason"),
    "disputes/resolution": (None, {"outcome": "maybe"}, "outcome"),
    "credit-notes": (
        None,
        {"amount": "5000.00", "reference": "AV-TROP", "issued_on": day(0)},
        "amount",
    ),
    "pause": (None, {"reason": ""}, "reason"),
    "resume": (None, {"reason": ""}, "reason"),
    "insolvency": (
        None,
        {"published_on": day(0), "proceeding": "faillite", "mandataire": "Me Dupont"},
        "proceeding",
    ),
    "einvoicing-status": (None, {"code": 999, "reported_on": day(0)}, "code"),
    "registered-letter-status": (None, {"status": "lost", "on": day(0)}, "status"),
    "phone-outcome": (None, {"outcome": "promise"}, "promised_on"),
    "partner-reports": (None, {"status": "amount_collected", "on": day(0)}, "amount"),
    "close": (None, {"outcome": "paid", "reason": "payé"}, "outcome"),
    "policy": (None, {"policy_id": "nope", "reason": "essai"}, "policy_id"),
    "payments": (None, {"amount": "10.001", "paid_on": day(0), "reference": "VIR"}, "amount"),
    "retry": ("steps/Not-A-Step/retry", {}, "step"),
}


@dataclass
class Cases:
    """The module's cases, by the state they are in."""

    service: Service
    pristine: str
    """Untouched: receives only what it refuses."""
    shared: str
    closed: str
    busy: str
    """A dispute open and an insolvency recorded."""
    timeline: str
    """Demo policy: formal notice after 25 s, hand-off once the notice's deadline ran."""
    bouncing: str
    """Demo policy, the debtor's mail refused: reminder 1 fails and blocks."""

    def of(self, state: str) -> str:
        found: str = getattr(self, state)
        return found


async def open_case(
    service: Service, *, policy: str | None = None, email: str | None = None
) -> str:
    body = invoice_payload(issue_date=day(0), due_date=day(60), amount_due="1200.00")
    if policy is not None:
        body["policy"] = policy
    if email is not None:
        body["debtor"]["email"] = email
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=body)
    assert created.status_code == 201, created.text
    case_id: str = created.json()["case_id"]
    return case_id


async def post(
    service: Service, who: str | None, case_id: str, path: str, body: Body
) -> httpx.Response:
    async with service.client(who) as client:
        return await client.post(f"/v1/cases/{case_id}/{path}", json=body)


async def posted(service: Service, case_id: str, path: str, body: Body) -> None:
    response = await post(service, "operator", case_id, path, body)
    assert response.status_code == 200, (path, response.text)


async def read(service: Service, case_id: str) -> dict[str, Any]:
    async with service.client("operator") as operator:
        response = await operator.get(f"/v1/cases/{case_id}")
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


async def until(
    service: Service, case_id: str, ready: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    for _ in range(240):
        case = await read(service, case_id)
        if ready(case):
            return case
        await asyncio.sleep(0.5)
    raise AssertionError(f"case {case_id} never got {what}: {case['stage']}, {case['holds']}")


@pytest.fixture(scope="module")
async def cases(service: Service) -> Cases:
    opened = await asyncio.gather(
        open_case(service, policy="demo"),
        open_case(service, policy="demo", email=f"compta@{BOUNCING_DOMAIN}"),
        *(open_case(service) for _ in range(4)),
    )
    timeline, bouncing, pristine, shared, closed, busy = opened
    await posted(service, closed, "close", {"outcome": "written_off", "reason": "test"})
    await posted(service, busy, "disputes", {"reason": "contestation"})
    await posted(
        service,
        busy,
        "insolvency",
        {"published_on": day(0), "proceeding": "sauvegarde", "mandataire": "Me Martin"},
    )
    return Cases(service, pristine, shared, closed, busy, timeline, bouncing)


async def _formal_notice(cases: Cases) -> str:
    await until(cases.service, cases.timeline, lambda c: c["formal_notice"] is not None, "a letter")
    return cases.timeline


async def _escalated(cases: Cases) -> str:
    case = await until(
        cases.service, cases.timeline, lambda c: c["formal_notice"] is not None, "a letter"
    )
    if case["formal_notice"]["first_presented_on"] is None:
        await posted(
            cases.service,
            cases.timeline,
            "registered-letter-status",
            {"status": "presented", "on": day(0)},
        )
    await until(cases.service, cases.timeline, lambda c: c["stage"] in ESCALATED, "a hand-off")
    return cases.timeline


async def _blocked(cases: Cases) -> str:
    await until(
        cases.service,
        cases.bouncing,
        lambda c: any(h["kind"] == "blocked" for h in c["holds"]),
        "a blocked step",
    )
    return cases.bouncing


async def case_for(cases: Cases, route: Route) -> str:
    """A case on which ``route``'s event applies."""
    if route.state == "fresh":
        case_id = await open_case(cases.service)
        for path, body in route.setup:
            await posted(cases.service, case_id, path, body)
        return case_id
    waits: dict[str, Callable[[Cases], Awaitable[str]]] = {
        "formal_notice": _formal_notice,
        "escalated": _escalated,
        "blocked": _blocked,
    }
    if route.state in waits:
        return await waits[route.state](cases)
    return cases.of(route.state)


def _with_bad_role() -> list[tuple[str, str]]:
    return [(name, role) for name, r in ROUTES.items() for role in ROLES if role not in r.roles]


def _with_good_role() -> list[tuple[str, str]]:
    # The demo-timeline routes last: by then their cases have got there.
    order = sorted(ROUTES, key=lambda n: ROUTES[n].state in {"formal_notice", "escalated"})
    return [(name, role) for name in order for role in ROUTES[name].roles]


@pytest.mark.parametrize(("name", "role"), _with_bad_role())
async def test_other_roles_are_forbidden(cases: Cases, name: str, role: str) -> None:
    route = ROUTES[name]
    response = await post(cases.service, role, cases.pristine, route.path, route.body())
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("name", ROUTES)
async def test_no_key_is_401(cases: Cases, name: str) -> None:
    route = ROUTES[name]
    response = await post(cases.service, None, cases.pristine, route.path, route.body())
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("name", ROUTES)
async def test_another_tenants_case_is_404(cases: Cases, name: str) -> None:
    route = ROUTES[name]
    other = "other_operator" if "operator" in route.roles else "other_erp"
    response = await post(cases.service, other, cases.pristine, route.path, route.body())
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("name", ROUTES)
async def test_the_cases_state_refuses_with_409(cases: Cases, name: str) -> None:
    route = ROUTES[name]
    case_id = cases.of(CONFLICTS[name])
    body = CONFLICT_BODIES.get(name) or route.body()
    response = await post(cases.service, route.roles[-1], case_id, route.path, body)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] in {"conflict", "case_closed"}


@pytest.mark.parametrize("name", ROUTES)
async def test_a_bad_field_is_422_naming_it(cases: Cases, name: str) -> None:
    route = ROUTES[name]
    path, body, wanted = INVALID[name]
    response = await post(cases.service, route.roles[-1], cases.pristine, path or route.path, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert wanted in [d["field"] for d in error["details"]], error


@pytest.mark.parametrize("name", ROUTES)
async def test_by_in_the_body_is_refused(cases: Cases, name: str) -> None:
    route = ROUTES[name]
    body = {**route.body(), "by": "quelqu'un d'autre"}
    response = await post(cases.service, route.roles[0], cases.pristine, route.path, body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["by"]


@pytest.mark.parametrize(("name", "role"), _with_good_role())
async def test_allowed_roles_get_an_ack_not_the_case(cases: Cases, name: str, role: str) -> None:
    route = ROUTES[name]
    case_id = await case_for(cases, route)
    response = await post(cases.service, role, case_id, route.path, route.body())
    assert response.status_code == 200, response.text
    ack = response.json()
    assert set(ack) == ACK_FIELDS, "a write answers the ack only (no journal, no debtor)"
    assert ack["case_id"] == case_id
    for key, value in route.expect.items():
        assert ack[key] == value, (key, ack)
    if route.hold is not None:
        assert route.hold in ack["holds"], ack


async def test_the_actor_is_the_callers_key_not_the_body(cases: Cases) -> None:
    service = cases.service
    case_id = await open_case(service)
    disputed = await post(service, "erp", case_id, "disputes", {"reason": "facture en double"})
    paused = await post(service, "operator", case_id, "pause", {"reason": "attente avoir"})
    assert (disputed.status_code, paused.status_code) == (200, 200), paused.text
    case = await read(service, case_id)
    by_kind = {h["kind"]: h["by"] for h in case["holds"]}
    assert by_kind == {"dispute": actor("erp"), "operator": actor("operator")}
    journaled = {j["type"]: j["by"] for j in case["journal"] if j["by"]}
    assert journaled["DisputeOpened"] == actor("erp")
    assert journaled["CasePaused"] == actor("operator")
    assert KEYS["erp"] not in str(case) and KEYS["operator"] not in str(case)


async def test_the_openapi_hides_by_and_names_the_ack(service: Service) -> None:
    async with service.client(None) as client:
        spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for name in ("DisputeOpened", "OperatorPause", "PhoneOutcome", "PaymentIn"):
        assert "by" not in schemas[name]["properties"], name
    operations = {
        op["operationId"]: op
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert "retryStep" in operations
    for operation_id in ("recordPayment", "openDispute", "retryStep", "recordPhoneTaskOutcome"):
        answer = operations[operation_id]["responses"]["200"]["content"]["application/json"]
        assert answer["schema"]["$ref"].endswith("/CaseAck"), operation_id
