"""Environment-backed settings of the simple-post channel (Maileva's mail API, v2).

Every ``POSTAL_MAIL_*`` variable is optional. Left empty, the provider's host (with its token
endpoint) and the four login values are the registered-mail channel's
(``REGISTERED_MAIL_*``): one Maileva account serves both APIs. The host falls back with its
``*_AUTH_URL``; the login values fall back as a group, only when none of the four
``POSTAL_MAIL_*`` ones is set, so two accounts are never mixed. Without any host, letters are
only recorded (``enabled`` is False).
"""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.registered_mail.settings import (
    MAILEVA_AUTH_HOSTS,
    TOKEN_PATH,
    RegisteredMailSettings,
)

PostageType = Literal["FAST", "ECONOMIC", "URGENT"]
"""mail v2.9, schema ``postage_type``."""
ARCHIVING_DURATIONS = (0, 1, 3, 6, 10)
"""mail v2.9, ``sending_update.archiving_duration`` (years)."""


class PostalMailSettings(BaseSettings):
    """Where the simple-post provider is, how to log in, and the sending's options."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    provider_url: str = Field(default="", alias="POSTAL_MAIL_PROVIDER_URL")
    """API host, e.g. https://api.sandbox.maileva.net (``api_path`` is appended); empty:
    REGISTERED_MAIL_PROVIDER_URL."""
    auth_url: str = Field(default="", alias="POSTAL_MAIL_AUTH_URL")
    """OAuth2 token endpoint; empty: Maileva's connexion host matching ``provider_url``."""
    api_path: str = Field(default="/mail/v2", alias="POSTAL_MAIL_API_PATH")
    client_id: str = Field(default="", alias="POSTAL_MAIL_CLIENT_ID")
    client_secret: str = Field(default="", alias="POSTAL_MAIL_CLIENT_SECRET")
    username: str = Field(default="", alias="POSTAL_MAIL_USERNAME")
    password: str = Field(default="", alias="POSTAL_MAIL_PASSWORD")
    postage_type: PostageType = Field(default="FAST", alias="POSTAL_MAIL_POSTAGE_TYPE")
    """FAST is the ordinary rate; URGENT and ECONOMIC are faster and slower."""
    color_printing: bool = Field(default=False, alias="POSTAL_MAIL_COLOR_PRINTING")
    duplex_printing: bool = Field(default=False, alias="POSTAL_MAIL_DUPLEX_PRINTING")
    optional_address_sheet: bool = Field(default=False, alias="POSTAL_MAIL_OPTIONAL_ADDRESS_SHEET")
    archiving_duration: int = Field(default=0, alias="POSTAL_MAIL_ARCHIVING_DURATION")
    """Years the provider keeps a copy of the letter as posted: 0, 1, 3, 6 or 10."""
    treat_undelivered_mail: bool = Field(default=False, alias="POSTAL_MAIL_TREAT_UNDELIVERED_MAIL")
    """Ask the provider to report letters the post returns as undeliverable."""
    lookup_before_create: bool = Field(default=True, alias="POSTAL_MAIL_LOOKUP_BEFORE_CREATE")
    """After an attempt that may have created a sending without storing its id, search the
    sendings list for the letter's custom_id before creating another one."""
    lookup_max_pages: int = Field(default=200, alias="POSTAL_MAIL_LOOKUP_MAX_PAGES")
    """Pages of 500 sendings that search reads at most (beyond: an operator decides)."""
    timeout_s: float = Field(default=30.0, alias="POSTAL_MAIL_TIMEOUT_S")

    @field_validator("archiving_duration")
    @classmethod
    def _documented_duration(cls, value: int) -> int:
        if value not in ARCHIVING_DURATIONS:
            raise ValueError(f"must be one of {', '.join(map(str, ARCHIVING_DURATIONS))}")
        return value

    @model_validator(mode="after")
    def _registered_mail_account(self) -> Self:
        """Empty host and login: the registered-mail channel's (see the module)."""
        login = (self.client_id, self.client_secret, self.username, self.password)
        if self.provider_url and any(login):
            return self
        registered = RegisteredMailSettings()
        if not self.provider_url:
            self.provider_url = registered.provider_url
            self.auth_url = self.auth_url or registered.auth_url
        if not any(login):
            self.client_id = registered.client_id
            self.client_secret = registered.client_secret
            self.username = registered.username
            self.password = registered.password
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.provider_url)

    @property
    def token_url(self) -> str:
        """``POSTAL_MAIL_AUTH_URL``, else Maileva's connexion host for a Maileva API host."""
        if self.auth_url:
            return self.auth_url
        host = urlsplit(self.provider_url).hostname or ""
        if host in MAILEVA_AUTH_HOSTS:
            return MAILEVA_AUTH_HOSTS[host] + TOKEN_PATH
        raise ValueError(
            f"POSTAL_MAIL_AUTH_URL is required: {self.provider_url!r} is not a Maileva API "
            "host, and the token endpoint is not on the API host"
        )

    def session_settings(self) -> RegisteredMailSettings:
        """The same account as the registered-mail client's settings, pointed at the mail
        API: what ``MailevaClient`` needs to log in and call it (no webhook part)."""
        return RegisteredMailSettings(
            REGISTERED_MAIL_PROVIDER_URL=self.provider_url,
            REGISTERED_MAIL_AUTH_URL=self.token_url,
            REGISTERED_MAIL_API_PATH=self.api_path,
            REGISTERED_MAIL_CLIENT_ID=self.client_id,
            REGISTERED_MAIL_CLIENT_SECRET=self.client_secret,
            REGISTERED_MAIL_USERNAME=self.username,
            REGISTERED_MAIL_PASSWORD=self.password,
            REGISTERED_MAIL_LOOKUP_BEFORE_CREATE=self.lookup_before_create,
            REGISTERED_MAIL_LOOKUP_MAX_PAGES=self.lookup_max_pages,
            REGISTERED_MAIL_TIMEOUT_S=self.timeout_s,
        )
