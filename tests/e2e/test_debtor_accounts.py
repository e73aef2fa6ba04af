"""One debtor, three invoices, one conversation (issue 12): through the real API, worker,
Temporal dev server, PostgreSQL and SMTP server."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.conversation_requests import conversation_id
from services.api.case_ids import workflow_id_for
from services.embedded.mailbox_server import read_mailbox
from storage.tables import cases, channel_outbox, deliveries
from tests.conftest import BOUNCING_DOMAIN, Smtp
from tests.e2e.conftest import Service
from tests.support.histories import record_history
from tests.support.invoices import fresh_siren, invoice_payload
from tests.support.mailbox import text_of


def _debtor(token: str) -> dict[str, Any]:
    return {
        "kind": "business",
        "name": f"Quincaillerie Lemaire {token}",
        "siren": fresh_siren(),
        "email": f"compta.{token}@lemaire.example",
        "phone": "03 20 11 22 33",
        "address": {
            "line1": f"8 rue des Arbalétriers {token}",
            "postal_code": "59000",
            "city": "Lille",
            "country": "FR",
        },
    }


def _secrets(debtor: dict[str, Any]) -> list[str]:
    return [debtor["name"], debtor["email"], debtor["phone"], debtor["address"]["line1"]]


def _to(smtp: Smtp, address: str) -> list[EmailMessage]:
    return [m for m in read_mailbox(smtp.maildir) if m["To"] == address]


async def _read(service: Service, case_id: str, *, live: bool = False) -> dict[str, Any]:
    """The case; ``live`` asks its workflow (the debtor payment's answer carries no journal
    position to wait for in the read model)."""
    params = {"consistency": "live"} if live else {}
    async with service.client("operator") as operator:
        response = await operator.get(f"/v1/cases/{case_id}", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _until_sent(service: Service, case_ids: list[str], step: str) -> list[dict[str, Any]]:
    async with asyncio.timeout(90):
        while True:
            views = [await _read(service, c) for c in case_ids]
            if all(any(a["step"] == step for a in v["actions"]) for v in views):
                return views
            await asyncio.sleep(0.3)


def _action(view: dict[str, Any], step: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in view["actions"] if a["step"] == step)
    return found


async def _open_three(service: Service, debtor: dict[str, Any]) -> tuple[list[str], list[str]]:
    bodies = [
        invoice_payload(policy="demo", debtor=debtor, amount_due=amount)
        for amount in ("100.00", "200.00", "300.00")
    ]
    async with service.client("erp") as erp:
        created = await asyncio.gather(*(erp.post("/v1/invoices", json=b) for b in bodies))
    assert all(c.status_code == 201 for c in created), [c.text for c in created]
    return [c.json()["case_id"] for c in created], [b["invoice_number"] for b in bodies]


async def test_three_invoices_one_reminder_and_a_dispute_leaves_the_others_running(
    service: Service, smtp: Smtp, engine: AsyncEngine, dev_env: WorkflowEnvironment
) -> None:
    token = uuid.uuid4().hex[:8]
    debtor = _debtor(token)
    case_ids, numbers = await _open_three(service, debtor)

    views = await _until_sent(service, case_ids, "reminder_1")
    assert {v["debtor_id"] for v in views} == {views[0]["debtor_id"]}, "one debtor account"
    assert all(v["debtor_name"] == debtor["name"] for v in views), "reads open the vault"
    reminders = [_action(v, "reminder_1") for v in views]
    assert all(r["status"] == "sent" for r in reminders), reminders
    assert len({r["reference"] for r in reminders}) == 1, "the same message for all three"
    [mail] = _to(smtp, debtor["email"])
    assert mail["Message-ID"] == reminders[0]["reference"]
    text = text_of(mail)
    assert all(number in text for number in numbers), text
    assert "Total des soldes : 600,00\u00a0€" in text, text
    assert mail["Subject"].startswith("Relance : 3 factures impayées")

    debtor_id = views[0]["debtor_id"]
    async with service.client("operator") as operator:
        account = (await operator.get(f"/v1/debtors/{debtor_id}")).json()
        listed = (await operator.get("/v1/debtors", params={"open_only": "true"})).json()
    assert account["identity"]["siren"] == debtor["siren"]
    assert sorted(i["invoice_number"] for i in account["open_invoices"]) == sorted(numbers)
    assert account["total_balance"] == "600.00"
    assert sum(float(v) for v in account["aged"].values()) == 600.0
    assert {c["reference"] for c in account["contacts"] if c["step"] == "reminder_1"} == {
        mail["Message-ID"]
    }
    assert debtor_id in [d["debtor_id"] for d in listed["debtors"]]

    # Every invoice's dossier holds the message: one ledger row per invoice, same Message-ID.
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(deliveries.c.case_id, deliveries.c.message_id, deliveries.c.body).where(
                    deliveries.c.message_id == mail["Message-ID"]
                )
            )
        ).all()
    assert set(case_ids) <= {row.case_id for row in rows}
    assert not any(debtor["email"] in row.body for row in rows), "mail copies are sealed"

    # A dispute on one invoice holds that invoice only: the other two get reminder 2 together.
    disputed, *running = case_ids
    async with service.client("operator") as operator:
        opened = await operator.post(
            f"/v1/cases/{disputed}/disputes", json={"reason": "livraison incomplète"}
        )
    assert opened.status_code == 200, opened.text
    later = await _until_sent(service, running, "reminder_2")
    second = {_action(v, "reminder_2")["reference"] for v in later}
    assert len(second) == 1
    [grouped] = [m for m in _to(smtp, debtor["email"]) if m["Message-ID"] in second]
    body = text_of(grouped)
    assert numbers[1] in body and numbers[2] in body and numbers[0] not in body, body
    held = await _read(service, disputed)
    assert [h["kind"] for h in held["holds"]] == ["dispute"]
    assert not any(a["step"] == "reminder_2" for a in held["actions"])

    # Temporal's history (no codec in this test service) names the debtor by id only.
    async with engine.connect() as conn:
        workflow_ids = (
            await conn.execute(select(cases.c.workflow_id).where(cases.c.case_id.in_(case_ids)))
        ).scalars()
        case_workflows = list(workflow_ids)
    for workflow_id in [*case_workflows, conversation_id("acme", debtor_id)]:
        history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
        raw = history.to_json()
        assert not any(secret in raw for secret in _secrets(debtor)), workflow_id
    client = dev_env.client
    conversation = client.get_workflow_handle(conversation_id("acme", debtor_id))
    await record_history(conversation, "debtor_conversation_v1_grouped_twice")
    grouped_case = client.get_workflow_handle(workflow_id_for("acme", numbers[1]))
    await record_history(grouped_case, "collection_case_v7_grouped_reminders")
    held_case = client.get_workflow_handle(workflow_id_for("acme", numbers[0]))
    await record_history(held_case, "collection_case_v7_grouped_then_disputed")


async def test_an_erased_debtor_reads_back_as_erased_while_the_chains_verify(
    service: Service, smtp: Smtp, engine: AsyncEngine
) -> None:
    token = uuid.uuid4().hex[:8]
    person = {
        "kind": "consumer",
        "name": f"Camille Roussel {token}",
        "email": f"camille.{token}@example.org",
        "phone": "06 12 34 56 78",
        "customer_id": f"CLI-{token}",
        "address": {
            "line1": f"14 allée des Cerisiers {token}",
            "postal_code": "35000",
            "city": "Rennes",
            "country": "FR",
        },
    }
    body = invoice_payload(policy="demo", debtor=person, amount_due="80.00")
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=body)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    [view] = await _until_sent(service, [case_id], "reminder_1")
    debtor_id = view["debtor_id"]
    assert _to(smtp, person["email"]), "the reminder reached the person"

    async with service.client("operator") as operator:
        early = await operator.post(
            f"/v1/debtors/{debtor_id}/erasure",
            json={"basis": "erasure_request", "reason": "demande du 02/12"},
        )
        assert early.status_code == 409, "an open case keeps its debtor's data"
        paid = await operator.post(
            f"/v1/cases/{case_id}/payments",
            json={"amount": "80.00", "paid_on": "2026-12-01", "reference": f"VIR-{token}"},
        )
        assert paid.status_code == 200, paid.text
        async with asyncio.timeout(60):
            while True:
                if (await _read(service, case_id))["stage"] == "closed":
                    break
                await asyncio.sleep(0.3)
        kept = await operator.post(
            f"/v1/debtors/{debtor_id}/erasure",
            json={"basis": "retention_ended", "reason": "fin de conservation"},
        )
        assert kept.status_code == 409, "the claim's prescription period has not run"
        assert kept.json()["error"]["code"] == "retention_not_ended", kept.text
        erased = await operator.post(
            f"/v1/debtors/{debtor_id}/erasure",
            json={"basis": "erasure_request", "reason": "demande du 02/12"},
        )
        assert erased.status_code == 200, erased.text
        assert erased.json()["identity"] is None and erased.json()["erased_at"]
        again = await operator.post(
            f"/v1/debtors/{debtor_id}/erasure",
            json={"basis": "erasure_request", "reason": "demande du 02/12"},
        )
        assert again.status_code == 200, "erasure is idempotent"
    async with service.client("auditor") as auditor:
        events = (await auditor.get(f"/v1/cases/{case_id}/events")).json()
        dossier = await auditor.get(f"/v1/cases/{case_id}/dossier")
    assert events["verification"]["ok"], events["verification"]
    assert dossier.status_code == 200
    assert not any(secret in dossier.content for secret in map(str.encode, _secrets(person)))
    assert (await _read(service, case_id))["debtor_name"] == "[données effacées]"

    # What was stored stays stored, and unreadable: the mail copy is ciphertext whose key
    # no longer exists.
    async with engine.connect() as conn:
        copies = (
            await conn.execute(select(deliveries.c.body).where(deliveries.c.case_id == case_id))
        ).scalars()
        stored = list(copies)
    assert stored and all(b.startswith("sealed1:") for b in stored)
    assert not any(person["email"] in b for b in stored)


async def test_an_unallocated_payment_pays_the_oldest_due_invoice_first_c_civ_1342_10(
    service: Service,
) -> None:
    """C. civ. 1342-10: without the debtor's choice, a payment goes to the debts due, the
    oldest first; each invoice's share is a payment of its own case, recorded once."""
    debtor = _debtor(uuid.uuid4().hex[:8])
    bodies = [
        invoice_payload(
            policy="demo", debtor=debtor, amount_due="100.00",
            issue_date="2026-09-01", due_date=due,
        )
        for due in ("2026-10-15", "2026-09-30", "2026-11-15")
    ]  # fmt: skip
    async with service.client("erp") as erp:
        created = [await erp.post("/v1/invoices", json=b) for b in bodies]
        assert all(c.status_code == 201 for c in created), [c.text for c in created]
        later, oldest, newest = (c.json()["case_id"] for c in created)
        view = await _read(service, oldest)
        debtor_id = view["debtor_id"]
        payment = {"amount": "150.00", "paid_on": "2026-11-30", "reference": "VIR-ALLOC-1"}
        paid = await erp.post(f"/v1/debtors/{debtor_id}/payments", json=payment)
        again = await erp.post(f"/v1/debtors/{debtor_id}/payments", json=payment)
        other = await erp.post(
            f"/v1/debtors/{debtor_id}/payments", json={**payment, "amount": "10.00"}
        )
    assert paid.status_code == 200, paid.text
    shares = {s["case_id"]: s for s in paid.json()["shares"]}
    assert shares[oldest]["amount"] == "100.00" and shares[oldest]["applied"]
    assert shares[later]["amount"] == "50.00" and shares[later]["applied"]
    assert newest not in shares, "the invoice due last gets nothing while older ones are owed"
    assert paid.json()["article"] == "C. civ. 1342-10"
    assert again.status_code == 200 and again.json()["shares"] == paid.json()["shares"]
    assert other.status_code == 422, "a reference names one payment"
    balances = {c: (await _read(service, c, live=True))["balance"] for c in (oldest, later, newest)}
    assert balances == {oldest: "0.00", later: "50.00", newest: "100.00"}, "applied once"
    async with service.client("operator") as operator:
        account = (await operator.get(f"/v1/debtors/{debtor_id}")).json()
        riskiest = (await operator.get("/v1/debtors", params={"sort": "risk"})).json()
    assert account["risk"]["score"] >= 0 and account["risk"]["factors"]
    assert [d["risk"]["score"] for d in riskiest["debtors"]] == sorted(
        (d["risk"]["score"] for d in riskiest["debtors"]), reverse=True
    )


async def test_a_pause_on_the_debtor_holds_each_of_its_open_invoices(service: Service) -> None:
    debtor = _debtor(uuid.uuid4().hex[:8])
    case_ids, _ = await _open_three(service, debtor)
    debtor_id = (await _read(service, case_ids[0]))["debtor_id"]
    async with service.client("operator") as operator:
        paused = await operator.post(
            f"/v1/debtors/{debtor_id}/pause", json={"reason": "négociation globale"}
        )
        assert paused.status_code == 200, paused.text
        assert sorted(c["case_id"] for c in paused.json()["cases"]) == sorted(case_ids)
        assert all(c["applied"] for c in paused.json()["cases"])
        for case_id in case_ids:
            view = await _read(service, case_id, live=True)
            assert [h["kind"] for h in view["holds"]] == ["operator"], view["holds"]
        resumed = await operator.post(
            f"/v1/debtors/{debtor_id}/resume", json={"reason": "accord conclu"}
        )
        assert resumed.status_code == 200, resumed.text
        assert all(c["applied"] for c in resumed.json()["cases"])
        unknown = await operator.post(
            "/v1/debtors/dbt-000000000000000000000000/pause", json={"reason": "x"}
        )
    assert unknown.status_code == 404


async def test_a_bounced_reminder_retried_by_the_operator_goes_through_the_conversation_again(
    service: Service,
) -> None:
    """The conversation answers a repeated request it sent with the same answer, and sends
    again one that failed: an operator's retry after a bounce is never swallowed."""
    debtor = {**_debtor(uuid.uuid4().hex[:8]), "email": f"compta@{BOUNCING_DOMAIN}"}
    async with service.client("erp") as erp:
        created = await erp.post("/v1/invoices", json=invoice_payload(policy="demo", debtor=debtor))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]

    async def attempts(count: int) -> list[dict[str, Any]]:
        """The reminder's attempts, once there are ``count`` of them."""
        async with asyncio.timeout(60):
            while True:
                view = await _read(service, case_id, live=True)
                found = [a for a in view["actions"] if a["step"] == "reminder_1"]
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.3)

    [first] = await attempts(1)
    assert first["status"] == "failed" and "InvalidRecipient" in first["detail"], first
    async with asyncio.timeout(60):  # the step is blocked once its bounce task is open
        while True:
            holds = (await _read(service, case_id, live=True))["holds"]
            if any(h["kind"] == "blocked" for h in holds):
                break
            await asyncio.sleep(0.3)
    async with service.client("operator") as operator:
        retried = await operator.post(
            f"/v1/cases/{case_id}/steps/reminder_1/retry", json={"note": "adresse vérifiée"}
        )
    assert retried.status_code == 200, retried.text
    assert [a["status"] for a in await attempts(2)] == ["failed", "failed"], "tried again"


async def test_three_invoices_one_statement_and_one_formal_notice_with_a_decompte_each(
    service: Service, engine: AsyncEngine, dev_env: WorkflowEnvironment
) -> None:
    """Issue 12's done-when: the debtor's three invoices get one statement of account
    (reminder 3's letter) and one formal notice (one registered letter, a décompte per
    invoice and the total); each invoice's case records its own facts."""
    token = uuid.uuid4().hex[:8]
    debtor = _debtor(token)
    case_ids, numbers = await _open_three(service, debtor)
    views = await _until_sent(service, case_ids, "formal_notice")
    # The last invoice's dossier holds both letters, each listing the three invoices.
    async with service.client("auditor") as auditor:
        dossier = await auditor.get(f"/v1/cases/{case_ids[2]}/dossier")
    assert dossier.status_code == 200, dossier.text
    with zipfile.ZipFile(io.BytesIO(dossier.content)) as archive:
        texts = [
            archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith("documents/") and name.endswith(".txt")
        ]
    for title in ("relevé de compte — 3 factures", "mise en demeure de payer — 3 factures"):
        [letter] = [t for t in texts if title in t]
        assert all(number in letter for number in numbers), letter
        assert "Total réclamé :" in letter and debtor["name"] in letter, letter
    for step, channel in (("reminder_3", "letter"), ("formal_notice", "registered_letter")):
        actions = [
            next(a for a in v["actions"] if a["step"] == step and a["channel"] == channel)
            for v in views
        ]
        assert all(a["status"] == "sent" for a in actions), actions
        assert len({a["reference"] for a in actions}) == 1, f"one {channel} for the three"
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(channel_outbox).where(
                        channel_outbox.c.case_id.in_(case_ids),
                        channel_outbox.c.step == step,
                        channel_outbox.c.channel == channel,
                        channel_outbox.c.grouped_in.is_not(None),
                    )
                )
            ).all()
            assert {r.case_id for r in rows} == set(case_ids), "each invoice's own record"
            [grouped_key] = {r.grouped_in for r in rows}
            grouped = (
                await conn.execute(
                    select(channel_outbox).where(channel_outbox.c.idempotency_key == grouped_key)
                )
            ).one()
        assert grouped.template.startswith("grouped_")
        assert grouped.layout is not None, "laid out: one table row per invoice"
        assert debtor["name"] not in grouped.body, "the letter is sealed with the debtor's key"
    stages = {v["stage"] for v in views}
    assert stages <= {"formal_notice", "awaiting_next_phase", "small_claims"}, stages
    assert all(v["formal_notice"] is not None for v in views)
    assert len({v["formal_notice"]["letter_reference"] for v in views}) == 1
    # Each case journals its own facts (FormalNoticeSent with its own décompte).
    for view in views:
        assert [j for j in view["journal"] if j["type"] == "FormalNoticeSent"], view["journal"]
    debtor_id = views[0]["debtor_id"]
    async with service.client("operator") as operator:
        account = (await operator.get(f"/v1/debtors/{debtor_id}")).json()
    for step in ("reminder_3", "formal_notice"):
        shown = [c for c in account["contacts"] if c["step"] == step]
        assert {c["invoice_number"] for c in shown} >= set(numbers), shown
        letters = [c for c in shown if c["channel"] != "email"]
        assert len({c["reference"] for c in letters}) == 1, "the account shows the one letter"
    conversation = dev_env.client.get_workflow_handle(conversation_id("acme", debtor_id))
    await record_history(conversation, "debtor_conversation_v2_grouped_letters")
    async with engine.connect() as conn:
        workflow_id = (
            await conn.execute(select(cases.c.workflow_id).where(cases.c.case_id == case_ids[0]))
        ).scalar_one()
    await record_history(
        dev_env.client.get_workflow_handle(workflow_id), "collection_case_v8_grouped_letters"
    )


async def test_a_policy_picks_the_firmer_timeline_for_a_debtor_known_to_be_insolvent(
    service: Service,
) -> None:
    """fr-b2b-by-risk: the debtor's first invoice runs it; once the debtor's insolvency is
    recorded (high risk, C. com. L622-21), its next invoice runs fr-b2b-firm, and the case
    says why."""
    debtor = _debtor(uuid.uuid4().hex[:8])
    async with service.client("erp") as erp, service.client("operator") as operator:
        first = await erp.post(
            "/v1/invoices", json=invoice_payload(policy="fr-b2b-by-risk", debtor=debtor)
        )
        assert first.status_code == 201, first.text
        assert first.json()["policy_id"] == "fr-b2b-by-risk", "no history: the policy itself"
        view = await _read(service, first.json()["case_id"])
        insolvency = await operator.post(
            f"/v1/debtors/{view['debtor_id']}/insolvency",
            json={
                "published_on": "2026-11-20",
                "proceeding": "redressement",
                "mandataire": "Me Martin",
            },
        )
        assert insolvency.status_code == 200, insolvency.text
        async with asyncio.timeout(30):  # the read model shows the debtor high-risk
            while True:
                account = (await operator.get(f"/v1/debtors/{view['debtor_id']}")).json()
                if account["risk"]["band"] == "high":
                    break
                await asyncio.sleep(0.2)
        second = await erp.post(
            "/v1/invoices", json=invoice_payload(policy="fr-b2b-by-risk", debtor=debtor)
        )
    assert second.status_code == 201, second.text
    assert second.json()["policy_id"] == "fr-b2b-firm", second.json()
    case = await _read(service, second.json()["case_id"])
    assert case["policy_id"] == "fr-b2b-firm"
    [registered] = [j for j in case["journal"] if j["type"] == "InvoiceRegistered"]
    assert "chosen for its risk band high" in registered["detail"], registered


async def test_one_payment_plan_for_the_debtor_is_shared_out_oldest_invoice_first(
    service: Service,
) -> None:
    """A global plan (issue 12): 600 EUR over three invoices of 100, 200 and 300 EUR, in
    two instalments of 300; each instalment is imputed as a payment on its date would be
    (C. civ. 1342-10: due invoices first, the oldest first; equal ones in proportion), so
    each case gets its own plan totalling its balance, and every timeline is held."""
    debtor = _debtor(uuid.uuid4().hex[:8])
    case_ids, _ = await _open_three(service, debtor)
    debtor_id = (await _read(service, case_ids[0]))["debtor_id"]
    async with service.client("operator") as operator:
        wrong = await operator.post(
            f"/v1/debtors/{debtor_id}/payment-plan",
            json={
                "agreed_on": "2026-12-02",
                "instalments": [{"due_on": "2026-12-15", "amount": "500.00"}],
            },
        )
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["error"]["details"][0]["field"] == "instalments"
        unordered = await operator.post(
            f"/v1/debtors/{debtor_id}/payment-plan",
            json={
                "agreed_on": "2026-12-02",
                "instalments": [
                    {"due_on": "2027-01-15", "amount": "300.00"},
                    {"due_on": "2026-12-15", "amount": "300.00"},
                ],
            },
        )
        assert unordered.status_code == 422 and "instalments" in unordered.text, unordered.text
        agreed = await operator.post(
            f"/v1/debtors/{debtor_id}/payment-plan",
            json={
                "agreed_on": "2026-12-02",
                "instalments": [
                    {"due_on": "2026-12-15", "amount": "300.00"},
                    {"due_on": "2027-01-15", "amount": "300.00"},
                ],
            },
        )
    assert agreed.status_code == 200, agreed.text
    assert all(c["applied"] for c in agreed.json()["cases"]), agreed.json()
    plans = {}
    for case_id in case_ids:
        view = await _read(service, case_id, live=True)
        assert "payment_plan" in [h["kind"] for h in view["holds"]], view["holds"]
        plans[view["amount_due"]] = [(i[0], i[1]) for i in view["plan"]["instalments"]]
    total = {amount: sum(float(a) for _, a in parts) for amount, parts in plans.items()}
    assert total == {"100.00": 100.0, "200.00": 200.0, "300.00": 300.0}, plans
