"""Environment-backed settings of the registered-mail channel (Maileva's LRAR API)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAILEVA_SANDBOX_API = "https://api.sandbox.maileva.net"
TOKEN_PATH = "/auth/realms/services/protocol/openid-connect/token"
"""The token operation: the authentication document's server path plus ``/token``."""
MAILEVA_SANDBOX_AUTH = "https://connexion.sandbox.maileva.net" + TOKEN_PATH
MAILEVA_AUTH_HOSTS: dict[str, str] = {
    # The authentication document's servers: the token endpoint is on the "connexion" host,
    # never on the API host.
    "api.sandbox.maileva.net": "https://connexion.sandbox.maileva.net",
    "api.maileva.com": "https://connexion.maileva.com",
}
DEFAULT_WEBHOOK_LOGIN = "maileva"


class RegisteredMailSettings(BaseSettings):
    """Where the provider is, how to log in, and how its callbacks authenticate.

    Empty ``REGISTERED_MAIL_PROVIDER_URL`` means "no provider": letters are only recorded.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    provider_url: str = Field(default="", alias="REGISTERED_MAIL_PROVIDER_URL")
    """API host, e.g. https://api.sandbox.maileva.net (the API paths are appended)."""
    auth_url: str = Field(default="", alias="REGISTERED_MAIL_AUTH_URL")
    """OAuth2 token endpoint; empty: Maileva's connexion host matching ``provider_url``
    (required for any other provider URL)."""
    api_path: str = Field(default="/registered_mail/v4", alias="REGISTERED_MAIL_API_PATH")
    notification_path: str = Field(
        default="/notification_center/v2", alias="REGISTERED_MAIL_NOTIFICATION_PATH"
    )
    client_id: str = Field(default="", alias="REGISTERED_MAIL_CLIENT_ID")
    client_secret: str = Field(default="", alias="REGISTERED_MAIL_CLIENT_SECRET")
    username: str = Field(default="", alias="REGISTERED_MAIL_USERNAME")
    password: str = Field(default="", alias="REGISTERED_MAIL_PASSWORD")
    webhook_url: str = Field(default="", alias="REGISTERED_MAIL_WEBHOOK_URL")
    """recouvre's callback URL, as the provider reaches it (the subscriptions point there)."""
    webhook_login: str = Field(default=DEFAULT_WEBHOOK_LOGIN, alias="REGISTERED_MAIL_WEBHOOK_LOGIN")
    webhook_secret: str = Field(default="", alias="REGISTERED_MAIL_WEBHOOK_SECRET")
    """The password of the subscriptions' Basic authentication: Maileva sends
    ``Authorization: Basic base64(login:secret)`` on every callback."""
    webhook_tolerance_s: int = Field(default=300, alias="REGISTERED_MAIL_WEBHOOK_TOLERANCE_S")
    """Unused since callbacks carry Basic credentials, not a signed timestamp (kept so
    existing configurations still load)."""
    lookup_before_create: bool = Field(default=True, alias="REGISTERED_MAIL_LOOKUP_BEFORE_CREATE")
    """After an attempt that may have created a sending without storing its id, search the
    sendings list for the letter's custom_id before creating another one."""
    lookup_max_pages: int = Field(default=200, alias="REGISTERED_MAIL_LOOKUP_MAX_PAGES")
    """Pages of 500 sendings that search reads at most (beyond: an operator decides)."""
    returned_mail_scanning: bool = Field(
        default=True, alias="REGISTERED_MAIL_RETURNED_MAIL_SCANNING"
    )
    """Ask Maileva to scan returned letters (``returned_mail_scanning``), whose image is then
    kept as evidence."""
    timeout_s: float = Field(default=30.0, alias="REGISTERED_MAIL_TIMEOUT_S")
    poll_s: float = Field(default=900.0, ge=0, alias="REGISTERED_MAIL_POLL_S")
    """How often the API reads back open letters in case a notification was lost (0: never)."""

    @property
    def enabled(self) -> bool:
        return bool(self.provider_url)

    @property
    def token_url(self) -> str:
        """The token endpoint: ``REGISTERED_MAIL_AUTH_URL``, else Maileva's connexion host for
        a Maileva API host. Any other API host needs REGISTERED_MAIL_AUTH_URL."""
        if self.auth_url:
            return self.auth_url
        host = urlsplit(self.provider_url).hostname or ""
        if host in MAILEVA_AUTH_HOSTS:
            return MAILEVA_AUTH_HOSTS[host] + TOKEN_PATH
        raise ValueError(
            f"REGISTERED_MAIL_AUTH_URL is required: {self.provider_url!r} is not a Maileva "
            "API host, and the token endpoint is not on the API host"
        )
