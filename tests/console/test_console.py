"""The console in Chromium: sign-in and roles, CSRF, the case list, a case worked to
payment, the worklist's call outcome, the aged balance chart and CSV, the auditor's
stream and dossier, keyboard use and labels. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import asyncio
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from projections.projector import project_batch
from tests.console.conftest import screenshot, sign_in
from tests.support.invoices import invoice_payload
from tests.support.service import Service

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Cases:
    paying: str
    paying_number: str
    paying_debtor: str
    demo: str
    demo_number: str
    demo_debtor: str
    started: float


async def _project_until_listed(service: Service, engine: AsyncEngine, debtors: list[str]) -> None:
    async with service.client("operator") as operator:
        for _ in range(150):
            await project_batch(engine, EventStore(engine))  # what `make run`'s projector does
            found = [
                (await operator.get("/v1/cases", params={"debtor": d})).json()["items"]
                for d in debtors
            ]
            if all(found):
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the case list never showed {debtors}")


@pytest.fixture(scope="module")
async def cases(service: Service, engine: AsyncEngine) -> Cases:
    """Two invoices of tenant acme: one on the standard policy (worked to payment), one on
    the demo policy (reminders after 5 and 10 s, the call task after 15 s)."""
    tag = uuid.uuid4().hex[:6]
    paying = invoice_payload(amount_due="1200.00", issue_date="2026-10-01", due_date="2026-10-31")
    paying["debtor"]["name"] = f"Durand Console {tag}"
    demo = invoice_payload(amount_due="800.00", issue_date="2026-09-01", due_date="2026-09-30")
    demo["policy"] = "demo"
    demo["debtor"]["name"] = f"Martin Appel {tag}"
    demo["debtor"]["siren"] = "552100554"
    demo["debtor"]["phone"] = "+33 1 23 45 67 89"
    started = time.monotonic()
    async with service.client("erp") as erp:
        ids = []
        for body in (paying, demo):
            created = await erp.post("/v1/invoices", json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["case_id"])
    await _project_until_listed(service, engine, [paying["debtor"]["name"], demo["debtor"]["name"]])
    return Cases(
        ids[0],
        paying["invoice_number"],
        paying["debtor"]["name"],
        ids[1],
        demo["invoice_number"],
        demo["debtor"]["name"],
        started,
    )


async def test_sign_in_cookie_roles_and_sign_out(page: Page, service: Service) -> None:
    response = await page.goto("/")
    assert page.url.endswith("/login"), "not signed in: / leads to /login"
    assert response is not None and response.ok
    await screenshot(page, "login")

    await page.get_by_label("Clé d'API").fill("erp-key-acme-0123456789")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("alert")).to_contain_text("Une clé ERP n'ouvre pas la console")
    await page.get_by_label("Clé d'API").fill("not-a-key-at-all-0000")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("alert")).to_contain_text("Clé inconnue")

    await sign_in(page, "operator")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("À traiter")
    [cookie] = [c for c in await page.context.cookies() if c["name"] == "recouvre_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["expires"] > time.time() + 3600, "the session has an expiry, hours ahead"
    assert "operator-key" not in cookie["value"], "the cookie never carries the key"

    await page.get_by_role("button", name="Se déconnecter").click()
    await page.wait_for_url("**/login")
    await page.goto("/cases")
    assert page.url.endswith("/login"), "signed out: pages lead to /login again"


async def test_operator_filters_opens_a_case_and_records_payments(page: Page, cases: Cases) -> None:
    await sign_in(page, "operator")
    await page.get_by_role("link", name="Dossiers").click()
    await page.get_by_label("Débiteur").fill(cases.paying_debtor)
    await page.get_by_label("Retard").select_option("31-60")
    await page.get_by_role("button", name="Filtrer").click()
    row = page.locator(f'tr[data-case-id="{cases.paying}"]')
    await expect(row).to_be_visible()
    await expect(page.get_by_test_id("total")).to_contain_text("1 dossier")
    await expect(row).to_contain_text(cases.paying_number)
    await expect(row).to_contain_text("1\u202f200,00\u00a0€")
    await expect(row).to_contain_text("Amiable")
    await expect(row).to_contain_text("Relance")  # the next action, from the read model
    assert "debtor=" in page.url, "the filters are in the address (htmx pushes it)"
    await page.get_by_label("Retard").select_option("1-30")  # live filter: 32 days is out
    await expect(row).to_have_count(0)
    await page.get_by_label("Retard").select_option("")
    await expect(row).to_be_visible()
    await screenshot(page, "cases")

    await row.get_by_role("link", name=cases.paying_number).click()
    await page.wait_for_url(f"**/cases/{cases.paying}")
    balance = page.get_by_test_id("balance")
    await expect(balance).to_have_text("1\u202f200,00\u00a0€")
    await expect(page.get_by_test_id("claim-total")).not_to_have_text("—")
    await expect(page.get_by_role("heading", name="Prochaine action")).to_be_visible()

    payment = page.locator("#form-payment")
    await payment.get_by_label("Montant").fill("5000.00")
    await payment.get_by_label("Référence (virement, chèque)").fill("VIR-TOO-MUCH")
    await payment.get_by_role("button", name="Enregistrer le paiement").click()
    error = page.locator('#form-payment .field-error[data-field="amount"]')
    await expect(error).to_be_visible()  # the API's 422, next to its field
    assert await page.locator("#payment-amount").get_attribute("aria-invalid") == "true"
    await expect(balance).to_have_text("1\u202f200,00\u00a0€")

    await payment.get_by_label("Montant").fill("200,00")
    await payment.get_by_label("Référence (virement, chèque)").fill("VIR-CONSOLE-1")
    await payment.get_by_role("button", name="Enregistrer le paiement").click()
    await expect(page.get_by_role("status")).to_have_text("Paiement enregistré.")
    await expect(balance).to_have_text("1\u202f000,00\u00a0€")
    await expect(page.get_by_test_id("timeline")).to_contain_text("Paiement reçu")
    await screenshot(page, "case")

    await page.locator("#form-payment").get_by_label("Montant").fill("1000.00")
    await page.locator("#form-payment").get_by_label("Référence (virement, chèque)").fill("VIR-2")
    await page.get_by_role("button", name="Enregistrer le paiement").click()
    await expect(balance).to_have_text("0,00\u00a0€")
    await expect(page.get_by_test_id("stage")).to_have_text("Clos")
    await expect(page.locator("#form-payment")).to_have_count(0), "a closed case has no forms"


async def test_a_form_without_its_csrf_token_is_refused(page: Page, cases: Cases) -> None:
    await sign_in(page, "operator")
    today = datetime.now(UTC).date().isoformat()
    form = {"amount": "1.00", "paid_on": today, "reference": "VIR-NO-CSRF"}
    refused = await page.request.post(f"/cases/{cases.demo}/payment", form=form)
    assert refused.status == 403
    assert "jeton CSRF" in await refused.text()
    forged = await page.request.post(
        f"/cases/{cases.demo}/payment", form={**form, "csrf_token": "0" * 64}
    )
    assert forged.status == 403
    logout = await page.request.post("/logout", form={})
    assert logout.status == 403, "sign-out is a form too"


async def test_auditor_reads_downloads_and_cannot_post(
    page: Page, cases: Cases, tmp_path: Path
) -> None:
    await sign_in(page, "auditor")
    await page.goto(f"/cases/{cases.demo}")
    await expect(page.get_by_test_id("balance")).to_be_visible()
    assert await page.locator("form[action$='/payment']").count() == 0, "no forms to act"
    token = await page.locator("input[name=csrf_token]").first.input_value()
    today = datetime.now(UTC).date().isoformat()
    posted = await page.request.post(
        f"/cases/{cases.demo}/payment",
        form={"csrf_token": token, "amount": "1.00", "paid_on": today, "reference": "AUD-1"},
    )
    assert posted.status == 403, "an auditor reads and downloads; it does not act"
    assert "seul un opérateur" in await posted.text()

    await page.get_by_role("link", name="Flux d'événements et vérification de la chaîne").click()
    await expect(page.get_by_test_id("chain")).to_contain_text("Chaîne de hachage vérifiée")
    await screenshot(page, "audit-events")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Télécharger le dossier de preuves (ZIP)").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".zip")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        assert "manifest.json" in bundle.namelist()

    await page.get_by_role("link", name="Journal des lectures").click()
    await expect(page.locator("table.report")).to_contain_text("case_dossier")


async def test_another_tenants_case_is_not_found(page: Page, cases: Cases) -> None:
    await sign_in(page, "other_operator")
    response = await page.goto(f"/cases/{cases.demo}")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Introuvable")
    assert cases.demo_debtor not in await page.content()


async def test_worklist_call_outcome_and_documents(page: Page, cases: Cases) -> None:
    await sign_in(page, "operator")
    card = page.locator("li.card", has_text=cases.demo_number)
    deadline = cases.started + 40  # the demo policy's call task comes 15 s after the start
    while not await card.count():
        assert time.monotonic() < deadline, "the demo case's call task never showed"
        await asyncio.sleep(1)
        await page.reload()
    await expect(card).to_contain_text("+33 1 23 45 67 89")
    await screenshot(page, "worklist")

    await card.get_by_label("Résultat de l'appel").select_option("promise")
    await card.get_by_role("button", name="Enregistrer le résultat").click()
    card = page.locator("li.card", has_text=cases.demo_number)
    error = card.locator('.field-error[data-field="promised_on"]')
    await expect(error).to_contain_text("required when the outcome is a promise")

    await card.get_by_label("Date promise (si promesse)").fill("2026-12-20")
    await card.get_by_role("button", name="Enregistrer le résultat").click()
    await expect(page.get_by_role("status")).to_have_text("Résultat de l'appel enregistré.")
    await expect(page.locator("li.card", has_text=cases.demo_number)).to_have_count(0)

    await page.goto(f"/cases/{cases.demo}")
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("Promesse de paiement")
    link = timeline.locator("li.doc", has_text="Courriel").first.get_by_role("link", name="Voir")
    href = await link.get_attribute("href")
    assert href is not None
    shown = await page.request.get(href)
    assert shown.ok and cases.demo_number in await shown.text()
    async with page.expect_download() as download_info:
        await timeline.locator("li.doc").first.get_by_role("link", name="Télécharger").click()
    assert (await download_info.value).suggested_filename.endswith(".txt")


async def test_case_forms_answer_with_the_apis_field_errors(page: Page, cases: Cases) -> None:
    await sign_in(page, "operator")
    await page.goto(f"/cases/{cases.demo}")
    plan = page.locator("#form-payment-plan")
    await plan.locator("summary").click()
    await plan.get_by_label("Date n° 1").fill("2026-12-15")
    await plan.get_by_label("Montant n° 1").fill("1.00")
    await plan.get_by_role("button", name="Accorder l'échéancier").click()
    plan = page.locator("#form-payment-plan")
    await expect(plan).to_have_attribute("open", "")
    await expect(plan.locator('.field-error[data-field^="instalments"]')).to_be_visible()

    pause = page.locator("#form-pause")
    await pause.locator("summary").click()
    await pause.get_by_role("button", name="Mettre en pause").click()  # no reason
    await expect(page.locator('#form-pause .field-error[data-field="reason"]')).to_be_visible()
    await page.locator("#form-pause").get_by_label("Motif de la pause").fill("appel du client")
    await page.locator("#form-pause").get_by_role("button", name="Mettre en pause").click()
    await expect(page.get_by_role("status")).to_have_text("Dossier mis en pause.")
    await expect(page.locator("section.next")).to_contain_text("Pause opérateur")

    resume = page.locator("#form-resume")
    await resume.locator("summary").click()
    await resume.get_by_role("button", name="Reprendre le recouvrement").click()
    await expect(page.get_by_role("status")).to_have_text("Dossier repris.")
    await expect(page.locator("#form-pause")).to_have_count(1)


async def test_aged_balance_chart_and_csv(
    page: Page, cases: Cases, tmp_path: Path, engine: AsyncEngine
) -> None:
    await project_batch(engine, EventStore(engine))  # include the payments made above
    await sign_in(page, "operator")
    await page.get_by_role("link", name="Balance âgée").click()
    await expect(page.locator("table.report").first).to_contain_text(cases.demo_debtor)
    drawn = await page.wait_for_function(
        """() => {
            const c = document.getElementById('aged-chart');
            const d = document.getElementById('dso-chart');
            if (!window.Chart || !Chart.getChart(c) || !Chart.getChart(d)) return false;
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
            return ink;
        }"""
    )
    assert await drawn.json_value() > 1000, "the stacked bars are drawn on the canvas"
    assert (
        await page.evaluate("Chart.getChart(document.getElementById('aged-chart')).config.type")
        == "bar"
    )
    await screenshot(page, "aged-balance")

    for name, expected in (
        ("Exporter la balance âgée (CSV)", cases.demo_debtor),
        ("Exporter le DSO (CSV)", "dso_jours"),
    ):
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name=name).click()
        saved = tmp_path / (await download_info.value).suggested_filename
        await (await download_info.value).save_as(saved)
        assert expected in saved.read_text(encoding="utf-8-sig")


LABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden')
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map(el => el.name || el.id)"""


async def test_keyboard_only_and_every_field_labelled(
    browser: Browser, service: Service, cases: Cases
) -> None:
    context = await browser.new_context(base_url=service.base_url)
    page = await context.new_page()
    try:
        await page.goto("/login")
        assert await page.evaluate("document.activeElement.id") == "api_key", "autofocus"
        assert await page.evaluate(LABELLED) == []
        await page.keyboard.type("operator-key-acme-0123456789")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/")
        for path in ("/", "/cases", f"/cases/{cases.demo}", "/reports/aged-balance"):
            await page.goto(path)
            assert await page.evaluate(LABELLED) == [], f"unlabelled fields on {path}"

        await page.goto(f"/cases/{cases.demo}")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Aller au contenu"
        for _ in range(80):  # the payment form is reachable with Tab alone
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "payment-amount":
                break
        else:
            raise AssertionError("Tab never reached the payment amount")
        await page.keyboard.type("10.00")
        for _ in range(5):  # through the date (already today; day, month, year stops)
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "payment-reference":
                break
        else:
            raise AssertionError("Tab never reached the payment reference")
        await page.keyboard.type("VIR-CLAVIER")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text("Paiement enregistré.")
    finally:
        await context.close()


async def test_the_core_forms_work_without_javascript(
    browser: Browser, service: Service, cases: Cases
) -> None:
    context = await browser.new_context(base_url=service.base_url, java_script_enabled=False)
    page = await context.new_page()
    try:
        await sign_in(page, "operator")
        await page.goto("/cases")
        await page.get_by_label("Débiteur").fill(cases.demo_debtor)
        await page.get_by_role("button", name="Filtrer").click()
        await page.get_by_role("link", name=cases.demo_number).click()
        await page.wait_for_url(f"**/cases/{cases.demo}")
        payment = page.locator("#form-payment")
        await payment.get_by_label("Montant").fill("5.00")
        await payment.get_by_label("Référence (virement, chèque)").fill("VIR-SANS-JS")
        await payment.get_by_role("button", name="Enregistrer le paiement").click()
        await expect(page.get_by_role("status")).to_have_text("Paiement enregistré.")
        await expect(page.get_by_test_id("timeline")).to_contain_text("VIR-SANS-JS")
    finally:
        await context.close()
