"""The debtor portal's personal links: a signed, expiring capability for one debtor.

A reminder carries ``{base}/portail/{token}``; whoever holds the token sees that debtor's
claim with that creditor, and nothing else. No account, no password: the token is the key,
so it must be unforgeable (HMAC-SHA256 under RECOUVRE_PORTAL_SECRET), limited in time (the
expiry day is inside what is signed) and free of personal data (it names the tenant and
the debtor's random id, never a name or an address: a link read over a shoulder or kept in
a proxy log tells nothing about who owes what).

Kept in ``activities`` (low layer): the email activity signs links, the API checks them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from storage.key_ring import b64decode_lenient, load_or_generate_key_file

VERSION = "p1"
"""First field of what is signed: a later scheme can be told apart (and refused)."""
SEPARATOR = "."
DEV_SECRET_FILE = "portal-secret"
TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEBTOR_ID = re.compile(r"^dbt-[0-9a-f]{24}$")
MAX_TOKEN = 300
"""Longer than any token this module signs: a longer path is refused before any work."""


@dataclass(frozen=True)
class PortalScope:
    """What a valid token opens: one debtor of one tenant, until ``expires`` (included)."""

    tenant: str
    debtor_id: str
    expires: date


@dataclass(frozen=True)
class PortalLinks:
    """What the email channel needs to put a portal link in a message."""

    base_url: str
    secret: bytes
    link_days: int

    def url_for(self, tenant: str, debtor_id: str, sent_on: date) -> str:
        """The debtor's link, valid ``link_days`` after the day the message is sent."""
        expires = sent_on + timedelta(days=self.link_days)
        return portal_url(self.base_url, portal_token(self.secret, tenant, debtor_id, expires))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def portal_token(secret: bytes, tenant: str, debtor_id: str, expires: date) -> str:
    """``<base64url(p1|tenant|debtor|yyyymmdd)>.<base64url(HMAC-SHA256)>``: URL-safe."""
    if not TENANT.match(tenant):
        raise ValueError(f"tenant {tenant!r} cannot be put in a portal link")
    if not DEBTOR_ID.match(debtor_id):
        raise ValueError(f"debtor id {debtor_id!r} is not a vault debtor id")
    message = f"{VERSION}|{tenant}|{debtor_id}|{expires:%Y%m%d}".encode()
    return _b64(message) + SEPARATOR + _b64(_mac(secret, message))


def signed_scope(secret: bytes, token: str) -> PortalScope | None:
    """The scope a token was signed for, expired or not; None if forged or malformed.

    The lost-link form uses it: an expired link still says (truthfully, it was signed)
    which creditor the debtor was dealing with."""
    if len(token) > MAX_TOKEN or token.count(SEPARATOR) != 1:
        return None
    body, _, signature = token.partition(SEPARATOR)
    try:
        message, mac = _unb64(body), _unb64(signature)
    except ValueError:
        return None
    if not hmac.compare_digest(mac, _mac(secret, message)):
        return None
    try:
        version, tenant, debtor_id, day = message.decode("ascii").split("|")
        expires = date(int(day[:4]), int(day[4:6]), int(day[6:8]))
    except ValueError:
        return None
    if version != VERSION or not TENANT.match(tenant) or not DEBTOR_ID.match(debtor_id):
        return None
    return PortalScope(tenant=tenant, debtor_id=debtor_id, expires=expires)


def read_portal_token(secret: bytes, token: str, today: date) -> PortalScope | None:
    """The scope of a genuine, unexpired token (valid through its expiry day); else None."""
    scope = signed_scope(secret, token)
    if scope is None or scope.expires < today:
        return None
    return scope


def portal_url(base_url: str, token: str) -> str:
    """``{base}/portail/{token}`` (the token is URL-safe as it is)."""
    return f"{base_url.rstrip('/')}/portail/{token}"


def resolve_portal_secret(configured: str, var_dir: Path) -> bytes:
    """RECOUVRE_PORTAL_SECRET as bytes, else a development secret generated once into
    ``var/portal-secret`` (the key-file format of the other generated keys, so the API and
    every worker of one installation sign and check with the same one)."""
    if configured.strip():
        return configured.strip().encode()
    entry = load_or_generate_key_file(var_dir / DEV_SECRET_FILE)
    return b64decode_lenient(entry.partition(":")[2])


def portal_links(base_url: str, secret: str, var_dir: Path, link_days: int) -> PortalLinks | None:
    """The email channel's link settings; None when no portal address is configured."""
    if not base_url.strip():
        return None
    return PortalLinks(base_url.strip(), resolve_portal_secret(secret, var_dir), link_days)
