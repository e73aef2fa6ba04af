"""The console in a real browser: Debian's Chromium (installed by deploy/bootstrap.sh),
headless, driven by Playwright, against the session's real service (tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.service import KEYS, Service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail("Chromium is missing: run `make bootstrap` (deploy/bootstrap.sh installs it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--lang=fr-FR"], headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, service: Service) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context(
        base_url=service.base_url,
        accept_downloads=True,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        viewport={"width": 1280, "height": 900},
    )
    opened.set_default_timeout(15_000)
    yield opened
    await opened.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def sign_in(page: Page, who: str) -> None:
    """Sign in through the form, as a person would."""
    await page.goto("/login")
    await page.get_by_label("Clé d'API").fill(KEYS[who])
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/")


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
