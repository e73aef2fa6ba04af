"""The debtor portal in Chromium, opened from the link of a real reminder: the claim and
its amounts, a dispute and a promise recorded on the case as the debtor's, a proposed plan
and new contact details waiting for the creditor, online payment or the transfer
instructions, expired and forged links, a new link by email, and forms from elsewhere
refused. Screenshots go to docs/screenshots/ (docs/portal.md)."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from html import unescape
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.portal_link import portal_token, portal_url
from services.api.keys import key_id
from services.debtor_keys import debtor_vault
from services.embedded.mailbox_server import read_mailbox
from storage.tables import portal_requests
from tests.conftest import Smtp
from tests.console.conftest import sign_in
from tests.portal.conftest import portal_link, screenshot
from tests.support.invoices import fresh_siren, invoice_payload
from tests.support.mailbox import messages_for_case, text_of
from tests.support.service import KEYS, Service

pytestmark = pytest.mark.e2e
NNBSP, NBSP = "\u202f", "\u00a0"
OPERATOR_ACTOR = f"operator:{key_id(KEYS['operator'])}@acme"


@dataclass(frozen=True)
class Debtor:
    tag: str
    email: str
    debtor_id: str
    disputed: str
    disputed_number: str
    promised: str
    promised_number: str
    link: str


def _debtor_body(tag: str, siren: str, email: str, amount: str, **more: Any) -> dict[str, Any]:
    body = invoice_payload(
        policy="demo", amount_due=amount, issue_date="2026-09-01", due_date="2026-09-30", **more
    )
    body["debtor"]["name"] = f"Portail Débiteur {tag}"
    body["debtor"]["siren"] = siren
    body["debtor"]["email"] = email
    return body


async def _first_reminder(smtp: Smtp, *case_ids: str) -> EmailMessage:
    """The first reminder of the debtor: both invoices fall due together, so it is one
    grouped message, headed (X-Recouvre-Case) by whichever case reached the debtor's
    conversation first."""
    for _ in range(300):
        found = [m for c in case_ids for m in messages_for_case(smtp.maildir, c)]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no reminder for {case_ids} within 60 s")


@pytest.fixture(scope="module")
async def debtor(service: Service, smtp: Smtp) -> Debtor:
    """One business debtor of acme with two late invoices on the demo policy (reminder 1
    within seconds); the link is the one reminder 1 carried."""
    tag = uuid.uuid4().hex[:8]
    email, siren = f"portail-{tag}@debiteur.example", fresh_siren()
    async with service.client("erp") as erp, service.client("operator") as operator:
        first = await erp.post("/v1/invoices", json=_debtor_body(tag, siren, email, "800.00"))
        assert first.status_code == 201, first.text
        disputed = first.json()["case_id"]
        second_body = _debtor_body(tag, siren, email, "450.00")
        second = await erp.post("/v1/invoices", json=second_body)
        assert second.status_code == 201, second.text
        promised = second.json()["case_id"]
        case = (await operator.get(f"/v1/cases/{disputed}")).json()
    reminder = await _first_reminder(smtp, disputed, promised)
    assert reminder["To"] == email
    return Debtor(
        tag=tag,
        email=email,
        debtor_id=case["debtor_id"],
        disputed=disputed,
        disputed_number=case["invoice_number"],
        promised=promised,
        promised_number=second_body["invoice_number"],
        link=portal_link(service, reminder),
    )


async def _journal(service: Service, case_id: str, kind: str) -> dict[str, Any]:
    """The case's journal entry of this type, read live (waits for the update's view)."""
    async with service.client("operator") as operator:
        for _ in range(100):
            case = (
                await operator.get(f"/v1/cases/{case_id}", params={"consistency": "live"})
            ).json()
            found = [e for e in case["journal"] if e["type"] == kind]
            if found:
                return found[-1]  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} in the journal of {case_id}")


async def test_the_reminder_link_opens_the_claim(page: Page, debtor: Debtor) -> None:
    response = await page.goto(debtor.link)
    assert response is not None and response.status == 200
    assert await page.get_attribute("html", "lang") == "fr"
    assert response.headers["cache-control"] == "no-store"
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Votre dossier chez Démo Créancier SAS"
    )
    await expect(page.get_by_text(f"Portail Débiteur {debtor.tag}")).to_be_visible()
    rows = page.get_by_test_id("invoices")
    first = rows.locator(f'tr[data-case-id="{debtor.disputed}"]')
    await expect(first).to_contain_text(debtor.disputed_number)
    await expect(first).to_contain_text("30/09/2026")
    await expect(first).to_contain_text(f"800,00{NBSP}€")
    await expect(first).to_contain_text(f"40,00{NBSP}€")  # the B2B indemnity (D441-5)
    await expect(rows.locator(f'tr[data-case-id="{debtor.promised}"]')).to_contain_text(
        f"450,00{NBSP}€"
    )
    await expect(rows.get_by_role("columnheader", name="Pénalités de retard")).to_be_visible()
    total = await page.get_by_test_id("total").inner_text()
    amount = float(total.replace(NNBSP, "").replace(NBSP, "").replace("€", "").replace(",", "."))
    assert amount > 800 + 450 + 80, f"principal, two indemnities and penalties: {total}"
    await expect(page.get_by_test_id("documents")).to_contain_text(debtor.disputed_number)
    await expect(page.get_by_role("button", name=re.compile("Payer .* en ligne"))).to_be_visible()
    await page.keyboard.press("Tab")  # keyboard first: the skip link, then the content
    await expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    await screenshot(page, "portal-claim")


async def test_a_dispute_is_recorded_on_the_case_as_the_debtors(
    page: Page, debtor: Debtor, service: Service
) -> None:
    await page.goto(debtor.link)
    form = page.locator("#form-contestation")
    await form.get_by_label("Facture").select_option(debtor.disputed)
    await form.get_by_role("button", name="Envoyer ma contestation").click()
    await expect(page.get_by_test_id("contestation-errors")).to_contain_text("Motif")
    reason = page.locator("#form-contestation").get_by_label("Motif de la contestation")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "portal-dispute-error")

    await reason.fill("La livraison du 12 septembre était incomplète.")
    await (
        page.locator("#form-contestation")
        .get_by_role("button", name="Envoyer ma contestation")
        .click()
    )
    await expect(page.get_by_test_id("flash")).to_contain_text("contestation est enregistrée")
    entry = await _journal(service, debtor.disputed, "DisputeOpened")
    assert entry["by"] == f"debtor:{debtor.debtor_id}@acme"
    assert "livraison" in entry["detail"]
    await page.reload()
    row = page.locator(f'tr[data-case-id="{debtor.disputed}"]')
    await expect(row).to_contain_text("Contestation en cours")


async def test_a_promise_to_pay_is_recorded_by_date(
    page: Page, debtor: Debtor, service: Service
) -> None:
    await page.goto(debtor.link)
    form = page.locator("#form-promesse")
    await form.get_by_label("Facture").select_option(debtor.promised)
    await form.get_by_label("Date de paiement promise").fill(str(date.today() - timedelta(days=3)))
    await form.get_by_role("button", name="Enregistrer ma promesse").click()
    await expect(page.get_by_test_id("promesse-errors")).to_contain_text(
        "Date : la date ne peut pas être passée"
    )
    promised_on = date.today() + timedelta(days=10)
    form = page.locator("#form-promesse")
    await form.get_by_label("Date de paiement promise").fill(str(promised_on))
    await form.get_by_role("button", name="Enregistrer ma promesse").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("promesse de paiement")
    entry = await _journal(service, debtor.promised, "PromiseToPayMade")
    assert entry["by"] == f"debtor:{debtor.debtor_id}@acme"
    assert str(promised_on) in entry["detail"]


async def test_a_proposed_plan_and_new_details_await_validation(
    page: Page, debtor: Debtor, engine: AsyncEngine
) -> None:
    await page.goto(debtor.link)
    form = page.locator("#form-echeancier")
    await form.get_by_label("Facture").select_option(debtor.promised)
    first, second = date.today() + timedelta(days=15), date.today() + timedelta(days=45)
    await form.get_by_label("Échéance 1, date").fill(str(first))
    await form.get_by_label("Échéance 1, montant (€)").fill("200")
    await form.get_by_label("Échéance 2, date").fill(str(second))
    await form.get_by_label("Échéance 2, montant (€)").fill("200")
    await form.get_by_role("button", name="Proposer cet échéancier").click()
    await expect(page.get_by_test_id("echeancier-errors")).to_contain_text(
        f"elles doivent totaliser le solde de la facture, 450,00{NBSP}€"
    )
    form = page.locator("#form-echeancier")
    await form.get_by_label("Échéance 2, montant (€)").fill("250,00")
    await form.get_by_role("button", name="Proposer cet échéancier").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("en attente de validation")

    details = page.locator("#form-coordonnees")
    await details.get_by_label("Nouveau téléphone").fill("not a phone!")
    await details.get_by_role("button", name="Transmettre mes coordonnées").click()
    await expect(page.get_by_test_id("coordonnees-errors")).to_contain_text("Téléphone")
    details = page.locator("#form-coordonnees")
    await details.get_by_label("Nouveau téléphone").fill("+33 6 12 34 56 78")
    await details.get_by_label("Nouvelle adresse postale").fill("3 rue Neuve\n69002 Lyon")
    await details.get_by_role("button", name="Transmettre mes coordonnées").click()
    await expect(page.get_by_test_id("pending-request")).to_have_count(2)
    await expect(page.get_by_test_id("pending-request").first).to_contain_text(
        "en attente de validation"
    )
    await screenshot(page, "portal-pending")

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(portal_requests).where(portal_requests.c.debtor_id == debtor.debtor_id)
            )
        ).all()
    assert sorted(r.kind for r in rows) == ["contact_details", "payment_plan"]
    assert {r.status for r in rows} == {"pending"}
    for row in rows:
        assert row.payload.startswith("sealed1:"), "the payload is sealed with the debtor's key"
        assert "Lyon" not in row.payload and "250" not in row.payload


async def _nonce(client: httpx.AsyncClient, link: str) -> str:
    page = await client.get(link)
    found = re.search(r'name="nonce" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found[1]


async def test_pay_online_redirects_to_checkout(service: Service, debtor: Debtor) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        nonce = await _nonce(client, debtor.link)
        paid = await client.post(
            f"{debtor.link}/payer", data={"nonce": nonce}, headers={"Origin": service.base_url}
        )
    assert paid.status_code == 303, paid.text[:500]
    assert paid.headers["location"].startswith("http")
    assert "/portail/" not in paid.headers["location"], "the debtor is sent to the checkout"


async def test_without_stripe_the_transfer_instructions(
    page: Page, service: Service, smtp: Smtp
) -> None:
    body = invoice_payload(amount_due="300.00")
    async with service.client("other_erp") as erp, service.client("other_operator") as operator:
        created = await erp.post("/v1/invoices", json=body)
        assert created.status_code == 201, created.text
        case = (await operator.get(f"/v1/cases/{created.json()['case_id']}")).json()
    token = portal_token(
        service.settings.portal_secret.encode(), "other", case["debtor_id"], date.today()
    )
    await page.goto(portal_url(service.base_url, token))
    await page.get_by_role("button", name=re.compile("Payer .* en ligne")).click()
    await expect(page.get_by_test_id("transfer")).to_contain_text("IBAN")
    # The balance the online payment would take (the claim's total adds the penalties).
    await expect(page.get_by_test_id("transfer")).to_contain_text(
        f"régler le solde de 300,00{NBSP}€"
    )
    await screenshot(page, "portal-transfer")


async def test_forms_from_another_site_are_refused(service: Service, debtor: Debtor) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        nonce = await _nonce(client, debtor.link)
        form = {"nonce": nonce, "facture": debtor.promised, "date": str(date.today())}
        elsewhere = await client.post(
            f"{debtor.link}/promesse", data=form, headers={"Origin": "https://evil.example"}
        )
        no_nonce = await client.post(
            f"{debtor.link}/promesse",
            data={"facture": debtor.promised, "date": str(date.today())},
            headers={"Origin": service.base_url},
        )
        another = await client.post(
            f"{debtor.link}/contestation",
            data={"nonce": nonce, "facture": "case-of-someone-else", "motif": "x"},
            headers={"Origin": service.base_url},
        )
    assert elsewhere.status_code == 403 and "Formulaire refusé" in elsewhere.text
    assert no_nonce.status_code == 403
    assert another.status_code == 422
    assert "Facture : cette facture n'est pas parmi vos factures ouvertes" in unescape(another.text)


async def test_the_worst_values_a_form_allows_are_refused_by_field(
    service: Service, debtor: Debtor
) -> None:
    """Absurd amounts and dates, and junk in every field, answer 422 naming the field:
    never a 500, and nothing is stored."""
    cases = [
        ("echeancier", {"date_1": str(date.today()), "montant_1": "1e999999999"}, "montant_1"),
        ("echeancier", {"date_1": str(date.today()), "montant_1": "9" * 40}, "montant_1"),
        ("echeancier", {"date_1": str(date.today()), "montant_1": "NaN"}, "montant_1"),
        ("echeancier", {"date_1": "9999-12-31", "montant_1": "450"}, "date_1"),
        ("promesse", {"date": "31/02/2027"}, "date"),
        ("promesse", {"date": "0001-01-01"}, "date"),
        ("contestation", {"motif": ""}, "motif"),
    ]
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        for form, fields, field in cases:
            answer = await client.post(
                f"{debtor.link}/{form}",
                data={"nonce": await _nonce(client, debtor.link), "facture": debtor.promised}
                | fields,
                headers={"Origin": service.base_url},
            )
            assert answer.status_code == 422, (form, fields, answer.status_code)
            assert f'data-field="{field}"' in answer.text, (form, fields)


async def test_expired_and_forged_links_offer_a_new_one(
    page: Page, service: Service, debtor: Debtor, smtp: Smtp
) -> None:
    secret = service.settings.portal_secret.encode()
    yesterday = date.today() - timedelta(days=1)
    expired = portal_url(
        service.base_url, portal_token(secret, "acme", debtor.debtor_id, yesterday)
    )
    response = await page.goto(expired)
    assert response is not None and response.status == 410
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien n'est plus valable")
    assert debtor.disputed_number not in await page.content(), "an expired link shows nothing"

    forged = debtor.link[:-3] + ("AAA" if not debtor.link.endswith("AAA") else "BBB")
    response = await page.goto(forged)
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=2)).to_have_text("Recevoir un nouveau lien")
    await page.get_by_label("Adresse électronique").fill("personne-inconnue@nulle.example")
    await page.get_by_role("button", name="Recevoir un nouveau lien").click()
    unknown_answer = await page.get_by_test_id("link-sent").inner_text()

    await page.goto(expired)
    await screenshot(page, "portal-expired")
    await page.get_by_label("Adresse électronique").fill(debtor.email.upper())
    await page.get_by_role("button", name="Recevoir un nouveau lien").click()
    assert await page.get_by_test_id("link-sent").inner_text() == unknown_answer, "neutral"

    sent = await _lost_link_mail(smtp, debtor.email)
    link = re.search(r"(http\S+/portail/\S+)", text_of(sent))
    assert link is not None
    fresh = service.base_url + link[1][len(service.settings.portal_base_url) :]
    await page.goto(fresh)
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Votre dossier chez Démo Créancier SAS"
    )
    assert not [
        m for m in read_mailbox(smtp.maildir) if m["To"] == "personne-inconnue@nulle.example"
    ]


async def _lost_link_mail(smtp: Smtp, email: str) -> Any:
    for _ in range(150):
        found = [
            m
            for m in read_mailbox(smtp.maildir)
            if m["X-Recouvre-Portal"] == "lost-link" and m["To"] == email
        ]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError("no new link was mailed")


async def test_the_operator_decides_on_the_worklist(
    page: Page, debtor: Debtor, service: Service, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        rows = {
            r.kind: r.request_id
            for r in await conn.execute(
                select(portal_requests).where(
                    portal_requests.c.debtor_id == debtor.debtor_id,
                    portal_requests.c.status == "pending",
                )
            )
        }
    assert set(rows) == {"payment_plan", "contact_details"}
    await sign_in(page, "operator")
    plan = page.locator(f'li[data-request-id="{rows["payment_plan"]}"]')
    await expect(plan).to_contain_text("Proposition d'échéancier")
    await expect(plan).to_contain_text(f"Portail Débiteur {debtor.tag}")
    await expect(plan).to_contain_text(f"250,00{NBSP}€")
    await screenshot(page, "portal-worklist")
    await plan.get_by_label("Note (facultative)").fill("D'accord au téléphone")
    await plan.get_by_role("button", name="Accepter").click()
    await expect(page.get_by_role("status")).to_have_text("Demande acceptée.")
    entry = await _journal(service, debtor.promised, "PaymentPlanAgreed")
    assert entry["by"] == OPERATOR_ACTOR
    details = page.locator(f'li[data-request-id="{rows["contact_details"]}"]')
    await expect(details).to_contain_text("69002 Lyon")
    await details.get_by_role("button", name="Accepter").click()
    await expect(page.get_by_role("status")).to_contain_text("Reportez l'adresse postale")
    await expect(page.locator(f'li[data-request-id="{rows["contact_details"]}"]')).to_have_count(0)
    async with engine.connect() as conn:  # the next reminder calls the corrected number
        identity = await debtor_vault(service.settings).identity(conn, "acme", debtor.debtor_id)
    assert identity.phone == "+33 6 12 34 56 78" and identity.email == debtor.email

    # A second correction, refused: the debtor's details stay as they are.
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        sent = await client.post(
            f"{debtor.link}/coordonnees",
            data={"nonce": await _nonce(client, debtor.link), "email": "autre@ailleurs.example"},
            headers={"Origin": service.base_url},
        )
    assert sent.status_code in (200, 303), sent.text[:300]
    await page.goto("/")
    refused = page.locator("#portal-requests li", has_text="autre@ailleurs.example")
    await refused.get_by_role("button", name="Refuser").click()
    await expect(page.get_by_role("status")).to_have_text("Demande refusée.")
    await expect(page.locator("#portal-requests li")).to_have_count(0)
    async with engine.connect() as conn:
        identity = await debtor_vault(service.settings).identity(conn, "acme", debtor.debtor_id)
    assert identity.email == debtor.email
    async with engine.connect() as conn:
        decided = {
            r.kind: r
            for r in await conn.execute(
                select(portal_requests).where(portal_requests.c.debtor_id == debtor.debtor_id)
            )
        }
    assert decided["payment_plan"].status == "accepted"
    assert decided["payment_plan"].decided_by == OPERATOR_ACTOR
    assert decided["payment_plan"].decision_note == "D'accord au téléphone"
    assert decided["contact_details"].status == "refused"
