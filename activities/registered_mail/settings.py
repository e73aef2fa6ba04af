"""Environment-backed settings of the registered-mail channel (Maileva's LRAR API)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAILEVA_SANDBOX_API = "https://api.sandbox.maileva.net"
MAILEVA_SANDBOX_AUTH = (
    "https://connexion.sandbox.maileva.net/auth/realms/services/protocol/openid-connect/token"
)
TOKEN_PATH = "/auth/realms/services/protocol/openid-connect/token"


class RegisteredMailSettings(BaseSettings):
    """Where the provider is, how to log in, and the webhook's shared secret.

    Empty ``REGISTERED_MAIL_PROVIDER_URL`` means "no provider": letters are only recorded.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    provider_url: str = Field(default="", alias="REGISTERED_MAIL_PROVIDER_URL")
    """API host, e.g. https://api.sandbox.maileva.net (the API paths are appended)."""
    auth_url: str = Field(default="", alias="REGISTERED_MAIL_AUTH_URL")
    """OAuth2 token endpoint; empty: ``provider_url`` + the Keycloak path (what the local
    sandbox serves)."""
    api_path: str = Field(default="/registered_mail/v4", alias="REGISTERED_MAIL_API_PATH")
    client_id: str = Field(default="", alias="REGISTERED_MAIL_CLIENT_ID")
    client_secret: str = Field(default="", alias="REGISTERED_MAIL_CLIENT_SECRET")
    username: str = Field(default="", alias="REGISTERED_MAIL_USERNAME")
    password: str = Field(default="", alias="REGISTERED_MAIL_PASSWORD")
    webhook_secret: str = Field(default="", alias="REGISTERED_MAIL_WEBHOOK_SECRET")
    webhook_tolerance_s: int = Field(default=300, alias="REGISTERED_MAIL_WEBHOOK_TOLERANCE_S")
    lookup_before_create: bool = Field(default=True, alias="REGISTERED_MAIL_LOOKUP_BEFORE_CREATE")
    """Before creating a sending, look for one already carrying the letter's custom_id (for
    providers that ignore the Idempotency-Key header)."""
    timeout_s: float = Field(default=30.0, alias="REGISTERED_MAIL_TIMEOUT_S")

    @property
    def enabled(self) -> bool:
        return bool(self.provider_url)

    @property
    def token_url(self) -> str:
        return self.auth_url or self.provider_url.rstrip("/") + TOKEN_PATH
