"""Approving a costly step from the console: the worklist names the case whose formal
notice waits for approval; on the case page an operator approves it and the registered
letter leaves; a rejection without a reason is refused next to the field."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.case_view_store import load_case_view
from tests.console.conftest import screenshot, sign_in
from tests.support.approvals import start_asking_case
from tests.support.service import Service

TENANT = "acme"


async def _asking(engine: AsyncEngine, case_id: str) -> None:
    for _ in range(150):
        async with engine.connect() as conn:
            stored = await load_case_view(conn, TENANT, case_id)
        if stored is not None and stored.view.pending_approvals == ["formal_notice"]:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"case {case_id} never asked for approval")


async def test_operator_approves_the_formal_notice_and_the_letter_leaves(
    page: Page, service: Service, engine: AsyncEngine
) -> None:
    case_id = await start_asking_case(service, engine, TENANT)
    await _asking(engine, case_id)

    await sign_in(page, "operator")
    link = page.locator(f'#approvals a[href="/cases/{case_id}"]')
    await expect(link).to_be_visible()
    await link.click()
    await page.wait_for_url(f"**/cases/{case_id}")
    section = page.locator("#approvals")
    await expect(section).to_contain_text("Mise en demeure")

    await section.get_by_label("Décision").select_option("reject")
    await section.get_by_role("button", name="Enregistrer la décision").click()
    error = page.locator('#approvals .field-error[data-field="reason"]')
    await expect(error).to_be_visible()  # a rejection needs a reason: the API's 422, in place

    await page.locator("#approvals").get_by_label("Décision").select_option("approve")
    await (
        page.locator("#approvals")
        .get_by_label("Motif (obligatoire pour rejeter)")
        .fill("montant vérifié")
    )
    await page.locator("#approvals").get_by_role("button", name="Enregistrer la décision").click()
    await expect(page.get_by_role("status")).to_have_text("Décision enregistrée.")
    await expect(page.get_by_test_id("timeline")).to_contain_text("montant vérifié")
    await screenshot(page, "approval")

    for _ in range(100):  # the letter goes out once the workflow runs the step
        async with engine.connect() as conn:
            stored = await load_case_view(conn, TENANT, case_id)
        sent = stored is not None and any(
            a.step == "formal_notice" and a.status == "sent" for a in stored.view.actions
        )
        if sent:
            break
        await asyncio.sleep(0.2)
    assert sent, "the approved formal notice was sent"
    await page.reload()
    await expect(page.locator("#approvals")).to_contain_text("Aucune.")
    await expect(page.get_by_test_id("timeline")).to_contain_text("Mise en demeure")
