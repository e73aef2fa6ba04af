"""The per-tenant choice of registered-mail provider (activities/registered_mail/roster.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities
from activities.channel_requests import ChannelRequest, Recipient
from activities.registered_mail.letter_pdf import render_letter_pdf
from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.merci_facteur_client import MerciFacteurClient
from activities.registered_mail.merci_facteur_settings import MerciFacteurSettings
from activities.registered_mail.provider import Letter, MemoryJournal, PostalAddress
from activities.registered_mail.roster import (
    RegisteredMailRoster,
    RosterError,
    RosterSettings,
    parse_tenant_providers,
)
from activities.registered_mail.settings import RegisteredMailSettings
from sandboxes import SandboxHandle
from sandboxes.merci_facteur_server import (
    MerciFacteurSandboxHandle,
    MerciFacteurSchedule,
    start_sandbox_merci_facteur,
)
from storage.tables import registered_letters
from tests.activities.test_channel_activities import BUSINESS_CONTEXT

MAILEVA = RegisteredMailSettings(
    REGISTERED_MAIL_PROVIDER_URL="http://127.0.0.1:9",
    REGISTERED_MAIL_AUTH_URL="http://127.0.0.1:9/token",
)
NO_MAILEVA = RegisteredMailSettings(REGISTERED_MAIL_PROVIDER_URL="")
MERCI_FACTEUR = MerciFacteurSettings(
    base_url="http://127.0.0.1:9/api/1.2/prod/service",
    service_id="public-x",
    secret_key="secret-x",
    user_id=7,
)
NO_MERCI_FACTEUR = MerciFacteurSettings(service_id="", user_id=None)


def roster_of(
    tenants: str,
    default: str = "maileva",
    *,
    maileva: RegisteredMailSettings = MAILEVA,
    merci_facteur: MerciFacteurSettings = MERCI_FACTEUR,
) -> RegisteredMailRoster:
    return RegisteredMailRoster.from_settings(
        maileva,
        merci_facteur,
        RosterSettings(
            REGISTERED_MAIL_TENANT_PROVIDERS=tenants, REGISTERED_MAIL_DEFAULT_PROVIDER=default
        ),
    )


def test_listed_tenants_get_their_provider_and_the_others_the_default() -> None:
    roster = roster_of(" acme = merci_facteur , globex=maileva ")
    acme, globex, other = (roster.for_tenant(t) for t in ("acme", "globex", "initech"))
    assert isinstance(acme, MerciFacteurClient) and acme.name == "merci_facteur"
    assert isinstance(globex, MailevaClient) and other is globex
    assert roster.tenants == {"acme": "merci_facteur", "globex": "maileva"}
    assert roster.by_name("merci_facteur") is acme and roster.by_name("maileva") is globex
    assert roster.by_name("laposte") is None
    assert [p.name for p in roster.all()] == ["maileva", "merci_facteur"]

    flipped = roster_of("globex=maileva", default="merci_facteur")
    assert isinstance(flipped.for_tenant("initech"), MerciFacteurClient)
    assert flipped.provider_name_for("globex") == "maileva"


def test_an_unconfigured_default_leaves_unlisted_tenants_record_only() -> None:
    roster = roster_of("acme=merci_facteur", maileva=NO_MAILEVA)
    assert roster.for_tenant("initech") is None
    assert isinstance(roster.for_tenant("acme"), MerciFacteurClient)
    assert [p.name for p in roster.all()] == ["merci_facteur"]
    nothing = roster_of("", maileva=NO_MAILEVA, merci_facteur=NO_MERCI_FACTEUR)
    assert nothing.all() == [] and nothing.for_tenant("acme") is None


@pytest.mark.parametrize(
    ("tenants", "default", "maileva", "merci_facteur", "message"),
    [
        ("acme=merci_facteur", "maileva", MAILEVA, NO_MERCI_FACTEUR, "MERCI_FACTEUR_SERVICE_ID"),
        ("acme=maileva", "maileva", NO_MAILEVA, MERCI_FACTEUR, "REGISTERED_MAIL_PROVIDER_URL"),
        ("acme=laposte", "maileva", MAILEVA, MERCI_FACTEUR, "does not exist"),
        ("acme", "maileva", MAILEVA, MERCI_FACTEUR, "is not 'tenant=provider'"),
        ("acme=", "maileva", MAILEVA, MERCI_FACTEUR, "is not 'tenant=provider'"),
        ("acme=maileva,acme=merci_facteur", "maileva", MAILEVA, MERCI_FACTEUR, "twice"),
        ("", "laposte", MAILEVA, MERCI_FACTEUR, "REGISTERED_MAIL_DEFAULT_PROVIDER"),
    ],
)
def test_a_configuration_that_cannot_be_honoured_fails_at_construction(
    tenants: str,
    default: str,
    maileva: RegisteredMailSettings,
    merci_facteur: MerciFacteurSettings,
    message: str,
) -> None:
    with pytest.raises(RosterError, match=message) as refused:
        roster_of(tenants, default, maileva=maileva, merci_facteur=merci_facteur)
    assert "acme" in str(refused.value) or not tenants.startswith("acme=")


def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTERED_MAIL_TENANT_PROVIDERS", "acme=merci_facteur")
    monkeypatch.setenv("REGISTERED_MAIL_DEFAULT_PROVIDER", "merci_facteur")
    monkeypatch.setenv("REGISTERED_MAIL_PROVIDER_URL", "")
    monkeypatch.setenv("MERCI_FACTEUR_BASE_URL", "http://127.0.0.1:9/api/1.2/prod/service")
    monkeypatch.setenv("MERCI_FACTEUR_SERVICE_ID", "public-env")
    monkeypatch.setenv("MERCI_FACTEUR_SECRET_KEY", "secret-env")
    monkeypatch.setenv("MERCI_FACTEUR_USER_ID", "42")
    monkeypatch.setenv("MERCI_FACTEUR_AUTHORIZED_IPS", "10.0.0.1; 10.0.0.2")
    monkeypatch.setenv("MERCI_FACTEUR_WEBHOOK_SECRET", "hook-secret")
    settings = MerciFacteurSettings()
    assert settings.enabled and settings.user_id == 42 and settings.mode_envoi == "lrare"
    assert settings.ips == ["10.0.0.1", "10.0.0.2"]
    assert "secret-env" not in repr(settings), "secrets stay out of logs"
    roster = RegisteredMailRoster.from_settings()
    assert roster.default_provider == "merci_facteur"
    assert isinstance(roster.for_tenant("anyone"), MerciFacteurClient)
    assert roster.by_name("maileva") is None
    assert parse_tenant_providers("a=x, ,b=y") == {"a": "x", "b": "y"}


def test_providers_must_be_registered_under_their_own_name() -> None:
    client = MerciFacteurClient(MERCI_FACTEUR)
    with pytest.raises(RosterError, match="registered as"):
        RegisteredMailRoster({"maileva": client})


@pytest.fixture
def mf_sandbox() -> Iterator[MerciFacteurSandboxHandle]:
    handle = start_sandbox_merci_facteur(schedule=MerciFacteurSchedule())
    yield handle
    handle.stop()


async def test_the_tenants_provider_posts_its_letters(
    mf_sandbox: MerciFacteurSandboxHandle,
) -> None:
    roster = roster_of("acme=merci_facteur", merci_facteur=mf_sandbox.settings())
    provider = roster.for_tenant("acme")
    assert provider is not None
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    letter = Letter(
        idempotency_key=f"{case_id}/formal_notice/registered_letter",
        case_id=case_id,
        title="Mise en demeure",
        recipient=PostalAddress("Durand SARL", ("12 rue de la Paix", "75002 Paris")),
        sender=PostalAddress("Créancier Test SAS", ("1 avenue des Tests", "69001 Lyon")),
        pdf=render_letter_pdf("Mise en demeure.", title="t", reference="r"),
    )
    envoi_id = await provider.send(letter, MemoryJournal())
    assert envoi_id in mf_sandbox.sandbox.state.envois
    assert (await provider.status(envoi_id)).provider_id == envoi_id
    await roster.aclose()


async def test_send_registered_letter_posts_each_tenants_letter_through_its_provider(
    engine: AsyncEngine,
    mf_sandbox: MerciFacteurSandboxHandle,
    sandbox: SandboxHandle,
) -> None:
    """The activity as the worker wires it: acme posts with Merci Facteur, every other
    tenant with the default, Maileva; each letter row names the provider that posted it."""
    roster = RegisteredMailRoster.from_settings(
        maileva=sandbox.settings(),
        merci_facteur=mf_sandbox.settings(),
        roster=RosterSettings(REGISTERED_MAIL_TENANT_PROVIDERS="acme=merci_facteur"),
    )
    activities = ChannelActivities(engine, registered_mail_roster=roster)
    posted: dict[str, str] = {}
    for tenant in ("acme", "globex"):
        case_id = f"case-{uuid.uuid4().hex[:12]}"
        request = ChannelRequest(
            idempotency_key=f"{case_id}/formal_notice/registered_letter",
            case_id=case_id,
            tenant=tenant,
            step="formal_notice",
            channel="registered_letter",
            template="formal_notice@1",
            recipient=Recipient(
                name="Durand SARL", address_lines=["12 rue de la Paix", "75002 Paris"]
            ),
            context=BUSINESS_CONTEXT,
        )
        receipt = await ActivityEnvironment().run(activities.send_registered_letter, request)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(registered_letters).where(registered_letters.c.case_id == case_id)
                )
            ).one()
        assert row.provider_id == receipt.reference
        posted[tenant] = row.provider
    await roster.aclose()
    assert posted == {"acme": "merci_facteur", "globex": "maileva"}
