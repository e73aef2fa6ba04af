"""ERP webhooks end to end: a real receiver that fails, times out and answers late gets
each event of its cases once, signed, in order; the log shows every attempt.

The session's API runs the outbox and the dispatcher with seconds for days
(tests/support/service.py): first retry 0.5 s, doubling up to 2 s, a 1 s timeout,
abandoned after 8 s."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.api.keys import key_id
from tests.e2e.conftest import KEYS, Service
from tests.support.invoices import invoice_payload
from tests.support.webhook_receiver import Received, Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def subscribe(client: httpx.AsyncClient, url: str, **extra: Any) -> dict[str, Any]:
    made = await client.post("/v1/webhooks/subscriptions", json={"url": url, **extra})
    assert made.status_code == 201, made.text
    subscription: dict[str, Any] = made.json()
    return subscription


def assert_signed(received: Received, secret: str) -> None:
    """Verified as docs/erp-webhooks.md tells an ERP to: HMAC-SHA256 of "t.body"."""
    parts = dict(p.split("=", 1) for p in received.headers["recouvre-signature"].split(","))
    signed = parts["t"].encode() + b"." + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "signature does not verify"
    assert abs(time.time() - int(parts["t"])) < 120
    assert received.headers["recouvre-event-id"] == received.payload["id"]
    assert received.headers["recouvre-event-type"] == received.payload["type"]


async def open_case(erp: httpx.AsyncClient, amount: str = "800.00") -> str:
    created = await erp.post("/v1/invoices", json=invoice_payload(amount_due=amount))
    assert created.status_code == 201, created.text
    case_id: str = created.json()["case_id"]
    return case_id


async def pay_in_full(erp: httpx.AsyncClient, case_id: str, amount: str = "800.00") -> None:
    paid = await erp.post(
        f"/v1/cases/{case_id}/payments",
        json={"amount": amount, "paid_on": "2026-11-20", "reference": f"VIR-{case_id[-6:]}"},
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["stage"] == "closed"


async def deliveries_of(client: httpx.AsyncClient, subscription_id: str, case_id: str) -> list[Any]:
    found = await client.get(
        "/v1/webhooks/deliveries", params={"subscription_id": subscription_id, "case_id": case_id}
    )
    assert found.status_code == 200, found.text
    log: list[Any] = found.json()
    return log


async def wait_for_status(
    client: httpx.AsyncClient, subscription_id: str, case_id: str, status: str
) -> list[Any]:
    """The case's delivery log once its (one) delivery has ``status``."""

    async def reached() -> list[Any]:
        while True:
            log = await deliveries_of(client, subscription_id, case_id)
            if log and log[0]["status"] == status:
                return log
            await asyncio.sleep(0.3)

    return await asyncio.wait_for(reached(), 30)


async def test_a_failed_first_delivery_is_retried_and_each_event_arrives_once_in_order(
    service: Service, receiver: Receiver
) -> None:
    receiver.script = ["fail"]  # the ERP is down for the first request
    async with service.client("erp") as erp:
        subscription = await subscribe(erp, receiver.url, description="ERP test receiver")
        secret = subscription["secret"]
        assert secret.startswith("whsec_")
        case_id = await open_case(erp)
        await pay_in_full(erp, case_id)

        await receiver.wait_for(case_id, "case.closed")
        await asyncio.sleep(1.5)  # time for any duplicate to show up

        accepted = receiver.accepted(case_id)
        types = [r.payload["type"] for r in accepted]
        assert types == ["case.opened", "payment.recorded", "stage.changed", "case.closed"]
        assert Counter(r.event_id for r in accepted).most_common(1)[0][1] == 1
        for received in receiver.for_case(case_id):
            assert_signed(received, secret)
        refused = [r for r in receiver.for_case(case_id) if not r.accepted]
        assert [r.payload["type"] for r in refused] == ["case.opened"]

        payment = accepted[1].payload
        assert payment["tenant"] == "acme"
        assert payment["data"]["amount"] == "800.00"
        assert payment["data"]["balance_after"] == "0.00"
        assert payment["data"]["collected_by"].startswith("erp:")
        assert payment["data"]["invoice_number"].startswith("F-TEST-")
        closed = accepted[3].payload["data"]
        assert (closed["outcome"], closed["balance"]) == ("paid", "0.00")
        assert accepted[2].payload["data"]["to"] == "closed"

        log = await deliveries_of(erp, subscription["subscription_id"], case_id)
        assert {d["status"] for d in log} == {"delivered"}
        first = next(d for d in log if d["event_type"] == "case.opened")
        assert [a["status_code"] for a in first["attempts"]] == [500, 204]
        again = (await erp.get("/v1/webhooks/subscriptions")).json()
        assert all(s["secret"] is None for s in again), "the secret is shown once"
        await erp.delete(f"/v1/webhooks/subscriptions/{subscription['subscription_id']}")


async def test_a_receiver_that_times_out_or_answers_late(
    service: Service, receiver: Receiver
) -> None:
    receiver.script = ["hang", "late"]  # 2.5 s (past the 1 s timeout), then 0.4 s
    async with service.client("operator") as operator, service.client("erp") as erp:
        subscription = await subscribe(operator, receiver.url, event_types=["case.opened"])
        case_id = await open_case(erp)
        await receiver.wait_for(case_id, "case.opened")
        await asyncio.sleep(2.5)  # the hung request's late 200 arrives too

        log = await deliveries_of(operator, subscription["subscription_id"], case_id)
        assert len(log) == 1 and log[0]["status"] == "delivered"
        attempts = log[0]["attempts"]
        assert attempts[0]["status_code"] is None
        assert "no answer within 1 s" in attempts[0]["error"]
        assert attempts[1]["status_code"] == 204 and attempts[1]["duration_ms"] >= 400
        # The hung request was processed after recouvre gave up on it: the ERP got the
        # same event twice and drops the repeat by its id, as the docs tell it to.
        got = receiver.accepted(case_id)
        assert len(got) == 2 and got[0].event_id == got[1].event_id
        await operator.delete(f"/v1/webhooks/subscriptions/{subscription['subscription_id']}")


async def test_a_receiver_down_for_the_whole_retry_period_is_abandoned_then_replayed(
    service: Service, receiver: Receiver
) -> None:
    receiver.script = ["fail"] * 50
    async with service.client("erp") as erp:
        subscription = await subscribe(erp, receiver.url, event_types=["case.opened"])
        case_id = await open_case(erp)

        log = await wait_for_status(erp, subscription["subscription_id"], case_id, "abandoned")
        tries = log[0]["attempts"]
        assert len(tries) >= 4 and {a["status_code"] for a in tries} == {500}
        at = [datetime.fromisoformat(t["attempted_at"]) for t in tries]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(at)]
        assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95, gaps  # doubling
        assert max(gaps) < 3.5, f"capped at 2 s (plus a pass): {gaps}"
        queued = datetime.fromisoformat(log[0]["queued_at"])
        assert (at[-1] - queued).total_seconds() >= 8.0, "the last try ends the 8 s period"

        # The ERP is back but stumbles once more: the replay starts a new backoff series.
        receiver.script = ["fail"] * (len(receiver.for_case(case_id)) + 1)
        replay = await erp.post(f"/v1/webhooks/deliveries/{log[0]['delivery_id']}/replay")
        assert replay.status_code == 202, replay.text
        await receiver.wait_for(case_id, "case.opened")
        log = await wait_for_status(erp, subscription["subscription_id"], case_id, "delivered")
        *_, replayed, failed, delivered = log[0]["attempts"]
        assert replayed["replayed_by"] == f"erp:{key_id(KEYS['erp'])}@acme", replayed
        assert replayed["status_code"] is None and replayed["attempt"] == len(tries) + 1
        assert (failed["status_code"], delivered["status_code"]) == (500, 204)
        gap = (
            datetime.fromisoformat(delivered["attempted_at"])
            - datetime.fromisoformat(failed["attempted_at"])
        ).total_seconds()
        assert 0.45 <= gap < 1.5, f"the first retry's wait again, not the 2 s cap: {gap}"
        await erp.delete(f"/v1/webhooks/subscriptions/{subscription['subscription_id']}")


async def test_subscriptions_are_checked_and_kept_to_their_tenant(service: Service) -> None:
    async with (
        service.client("erp") as erp,
        service.client("other_erp") as other,
        service.client("auditor") as auditor,
    ):
        bad = await erp.post("/v1/webhooks/subscriptions", json={"url": "ftp://erp.example"})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "url"
        unknown = await erp.post(
            "/v1/webhooks/subscriptions",
            json={"url": "https://erp.example/hook", "event_types": ["case.reopened"]},
        )
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"][0]["field"].startswith("event_types")
        refused = await auditor.post(
            "/v1/webhooks/subscriptions", json={"url": "https://erp.example/hook"}
        )
        assert refused.status_code == 403

        mine = await subscribe(erp, "https://erp.example/hook")
        assert set(mine["event_types"]) >= {"payment.recorded", "case.closed"}
        theirs = (await other.get("/v1/webhooks/subscriptions")).json()
        assert mine["subscription_id"] not in {s["subscription_id"] for s in theirs}
        gone = await other.delete(f"/v1/webhooks/subscriptions/{mine['subscription_id']}")
        assert gone.status_code == 404
        disabled = await erp.delete(f"/v1/webhooks/subscriptions/{mine['subscription_id']}")
        assert disabled.status_code == 200 and disabled.json()["disabled_at"]
        no_replay = await other.post("/v1/webhooks/deliveries/1/replay")
        assert no_replay.status_code == 404
        types = (await auditor.get("/v1/webhooks/event-types")).json()
        assert "write_off.recorded" in {t["event_type"] for t in types}
