"""Environment-backed settings of the Merci Facteur registered-mail provider (MERCI_FACTEUR_*).

What each setting feeds, in Merci Facteur's published description (repository
MerciFacteur/Merci-facteur-API; transcription in tests/contracts/merci_facteur/):

- ``service_id`` and ``secret_key``: ``getToken``'s ``ww-service-id`` header and the HMAC-SHA256
  key of its ``ww-service-signature`` (hash-secret-key/README.md); the token then goes in
  ``ww-access-token`` with ``ww-service-id`` on every other call;
- ``authorized_ips``: ``getToken``'s ``ww-authorized-ip`` (the IPs allowed to use the token,
  joined by ``;``); empty: the header is not sent (an account whose IP restriction Merci
  Facteur lifted on request);
- ``user_id``: ``idUser`` of ``sendCourrier`` and ``listEnvois`` (the account's user whose
  history holds the letters);
- ``mode_envoi``: ``lrare`` (the signed acknowledgement of receipt comes back to Merci Facteur,
  scanned and sent by webhook) or ``lrar`` (it comes back on paper to the sender);
- ``webhook_secret``: the account's webhook secret key, sent by Merci Facteur in the
  ``X-Mf-Webhook-Secret-Key`` header of every webhook.

The service is enabled when ``service_id``, ``secret_key`` and ``user_id`` are all set.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MERCI_FACTEUR_API = "https://www.merci-facteur.com/api/1.2/prod/service"
"""The base the published examples call (php-class/apiMf.class.php)."""
WEBHOOK_SECRET_HEADER = "X-Mf-Webhook-Secret-Key"


class MerciFacteurSettings(BaseSettings):
    """Where Merci Facteur is, how to log in, what to send, and how its webhooks authenticate."""

    model_config = SettingsConfigDict(
        env_prefix="MERCI_FACTEUR_", extra="ignore", populate_by_name=True
    )

    base_url: str = Field(default=MERCI_FACTEUR_API)
    """``MERCI_FACTEUR_BASE_URL``: the service base, operations are appended
    (``{base_url}/getToken``, ``{base_url}/sendCourrier``...)."""
    service_id: str = ""
    """``MERCI_FACTEUR_SERVICE_ID``: the public service id (``ww-service-id``)."""
    secret_key: SecretStr = SecretStr("")
    """``MERCI_FACTEUR_SECRET_KEY``: never sent; only the key of the signature."""
    authorized_ips: str = ""
    """``MERCI_FACTEUR_AUTHORIZED_IPS``: comma- or semicolon-separated IPs for ``getToken``."""
    user_id: int | None = None
    """``MERCI_FACTEUR_USER_ID``: ``idUser`` of the sendings (e.g. the account's admin user)."""
    mode_envoi: Literal["lrar", "lrare"] = "lrare"
    """``MERCI_FACTEUR_MODE_ENVOI``: ``lrare`` gives the signed AR as a scan (a proof recouvre
    can store); with ``lrar`` it comes back on paper to the creditor."""
    sender_address_id: int | None = None
    """``MERCI_FACTEUR_SENDER_ADDRESS_ID``: an address-book id (``setNewAdress``) used as
    ``adress.exp`` when a letter has no sender address lines."""
    anonymize_after_days: int | None = Field(default=None, ge=1, le=40)
    """``MERCI_FACTEUR_ANONYMIZE_AFTER_DAYS``: ask Merci Facteur to delete the content and both
    addresses that many days after printing (``anonymize``, README "Anonymisation"); none:
    nothing is asked."""
    lookup_days: int = Field(default=30, ge=1, le=30)
    """After an attempt that may have created a letter without storing its id, only envois
    of the last ``lookup_days`` are considered (the anti-duplicate window is 30 days)."""
    webhook_secret: SecretStr = SecretStr("")
    """``MERCI_FACTEUR_WEBHOOK_SECRET``: the value of ``X-Mf-Webhook-Secret-Key``."""
    timeout_s: float = 30.0
    """``MERCI_FACTEUR_TIMEOUT_S``: HTTP timeout per call."""

    @property
    def enabled(self) -> bool:
        return bool(
            self.base_url
            and self.service_id
            and self.secret_key.get_secret_value()
            and self.user_id is not None
        )

    @property
    def ips(self) -> list[str]:
        """``authorized_ips`` as a list (commas and semicolons both separate)."""
        return [ip.strip() for ip in self.authorized_ips.replace(";", ",").split(",") if ip.strip()]
