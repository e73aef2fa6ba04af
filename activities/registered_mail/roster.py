"""Which registered-mail provider posts each tenant's letters.

``REGISTERED_MAIL_TENANT_PROVIDERS`` names a provider per tenant
("acme=merci_facteur,globex=maileva"); every other tenant uses
``REGISTERED_MAIL_DEFAULT_PROVIDER`` ("maileva" unless set). The providers are the configured
ones: Maileva when ``REGISTERED_MAIL_PROVIDER_URL`` is set (``RegisteredMailSettings``), Merci
Facteur when ``MERCI_FACTEUR_SERVICE_ID``, ``_SECRET_KEY`` and ``_USER_ID`` are
(``MerciFacteurSettings``).

A tenant named with a provider that is unknown or not configured is an error at construction
(``RosterError``), so a deployment never silently records a tenant's letters without posting
them. The default provider may be unconfigured: tenants that fall back on it get ``None``
("record only", as without any provider today).

Letters keep the name of the provider that posted them (``registered_letters.provider``):
tracking and webhooks must use ``by_name(row.provider)``, never ``for_tenant``, so that moving a
tenant to another provider does not orphan the letters already posted.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.registered_mail.maileva_client import MailevaClient
from activities.registered_mail.merci_facteur_client import PROVIDER_NAME as MERCI_FACTEUR
from activities.registered_mail.merci_facteur_client import MerciFacteurClient
from activities.registered_mail.merci_facteur_settings import MerciFacteurSettings
from activities.registered_mail.provider import RegisteredMailProvider
from activities.registered_mail.settings import RegisteredMailSettings

MAILEVA = MailevaClient.name
KNOWN_PROVIDERS = frozenset({MAILEVA, MERCI_FACTEUR})


class RosterError(ValueError):
    """The tenant-to-provider configuration cannot be honoured."""


class RosterSettings(BaseSettings):
    """``REGISTERED_MAIL_TENANT_PROVIDERS`` and ``REGISTERED_MAIL_DEFAULT_PROVIDER``."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    tenant_providers: str = Field(default="", alias="REGISTERED_MAIL_TENANT_PROVIDERS")
    default_provider: str = Field(default=MAILEVA, alias="REGISTERED_MAIL_DEFAULT_PROVIDER")


def parse_tenant_providers(text: str) -> dict[str, str]:
    """``"acme=merci_facteur, globex=maileva"`` -> ``{"acme": "merci_facteur", ...}``
    (``RosterError`` on an entry without ``=``, an empty side, or a tenant named twice with
    different providers)."""
    chosen: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        tenant, sep, provider = (part.strip() for part in entry.partition("="))
        if not sep or not tenant or not provider:
            raise RosterError(
                f"REGISTERED_MAIL_TENANT_PROVIDERS entry {entry!r} is not 'tenant=provider'"
            )
        if chosen.get(tenant, provider) != provider:
            raise RosterError(
                f"REGISTERED_MAIL_TENANT_PROVIDERS names tenant {tenant!r} twice "
                f"({chosen[tenant]!r} and {provider!r})"
            )
        chosen[tenant] = provider
    return chosen


class RegisteredMailRoster:
    """The configured providers and the per-tenant choice among them."""

    def __init__(
        self,
        providers: Mapping[str, RegisteredMailProvider],
        tenant_providers: Mapping[str, str] | str = "",
        default_provider: str = MAILEVA,
    ) -> None:
        """``providers``: the configured ones by name (their ``name`` must be the key)."""
        for name, provider in providers.items():
            if provider.name != name:
                raise RosterError(f"provider {provider.name!r} registered as {name!r}")
        self._providers = dict(providers)
        choices = (
            parse_tenant_providers(tenant_providers)
            if isinstance(tenant_providers, str)
            else dict(tenant_providers)
        )
        default = default_provider.strip() or MAILEVA
        known = KNOWN_PROVIDERS | set(self._providers)
        if default not in known:
            raise RosterError(
                f"REGISTERED_MAIL_DEFAULT_PROVIDER {default!r} is not a provider "
                f"({', '.join(sorted(known))})"
            )
        for tenant, name in sorted(choices.items()):
            if name not in known:
                raise RosterError(
                    f"tenant {tenant!r} names provider {name!r}, which does not exist "
                    f"({', '.join(sorted(known))})"
                )
            if name not in self._providers:
                raise RosterError(
                    f"tenant {tenant!r} names provider {name!r}, which is not configured "
                    f"({_how_to_configure(name)})"
                )
        self._tenants = choices
        self._default = default

    @classmethod
    def from_settings(
        cls,
        maileva: RegisteredMailSettings | None = None,
        merci_facteur: MerciFacteurSettings | None = None,
        roster: RosterSettings | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> RegisteredMailRoster:
        """The roster from the environment (each argument: its settings class read from
        the environment when None). ``http`` is shared by the clients (else each opens its
        own; ``aclose`` closes those)."""
        maileva = maileva if maileva is not None else RegisteredMailSettings()
        merci_facteur = merci_facteur if merci_facteur is not None else MerciFacteurSettings()
        roster = roster if roster is not None else RosterSettings()
        providers: dict[str, RegisteredMailProvider] = {}
        if maileva.enabled:
            providers[MAILEVA] = MailevaClient(maileva, http=http)
        if merci_facteur.enabled:
            providers[MERCI_FACTEUR] = MerciFacteurClient(merci_facteur, http=http)
        return cls(providers, roster.tenant_providers, roster.default_provider)

    @property
    def default_provider(self) -> str:
        return self._default

    @property
    def tenants(self) -> dict[str, str]:
        """The tenants named in the configuration, with their provider."""
        return dict(self._tenants)

    def provider_name_for(self, tenant: str) -> str:
        """The provider's name chosen for ``tenant`` (configured or not)."""
        return self._tenants.get(tenant, self._default)

    def for_tenant(self, tenant: str) -> RegisteredMailProvider | None:
        """The provider that posts ``tenant``'s letters; None when it falls back on a default
        provider that is not configured (letters are then only recorded)."""
        return self._providers.get(self.provider_name_for(tenant))

    def by_name(self, name: str) -> RegisteredMailProvider | None:
        """The configured provider of that name (a letter's ``provider`` column), if any."""
        return self._providers.get(name)

    def all(self) -> list[RegisteredMailProvider]:
        """Every configured provider, by name (to poll each, close each...)."""
        return [self._providers[name] for name in sorted(self._providers)]

    async def aclose(self) -> None:
        """Close the clients (those given a shared ``http`` leave it open)."""
        for provider in self.all():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()


def _how_to_configure(name: str) -> str:
    if name == MAILEVA:
        return "set REGISTERED_MAIL_PROVIDER_URL and the REGISTERED_MAIL_* credentials"
    if name == MERCI_FACTEUR:
        return "set MERCI_FACTEUR_SERVICE_ID, MERCI_FACTEUR_SECRET_KEY and MERCI_FACTEUR_USER_ID"
    return "no settings for it"
