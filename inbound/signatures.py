"""The signatures on inbound webhooks: HMAC-SHA256 over a timestamp and the raw body.

Partner reports (``POST /v1/partners/{kind}/reports``), two headers::

    X-Recouvre-Tenant: acme                    (the mandate's tenant, as in its package)
    X-Recouvre-Signature: t=1767225600,v1=<64 hex digits>

``v1`` is the hex HMAC-SHA256 of ``"<t>.<tenant>.<kind>." + raw body`` with the secret of that
tenant and partner kind (``PARTNER_WEBHOOK_SECRETS``): a report signed with another partner's
or tenant's secret, or posted under another kind or tenant than it was signed for, does not
verify. Several ``v1=`` entries may be given (during a secret rotation the sender signs with
both secrets), and a pair may have several secrets; one match is enough.

Registered-mail notifications (``POST /v1/webhooks/registered-mail``), two headers::

    X-Webhook-Timestamp: 1767225600            (Unix seconds, when it was sent)
    X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

In both, the timestamp is signed with the body, so a captured request cannot be replayed later
under a fresh timestamp; the receiver refuses a timestamp further than its tolerance from its
own clock. The senders (the partners, the provider, and the local sandboxes) use ``sign_*``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence


class SignatureError(Exception):
    """The request is not authentic, or too old: answer 401."""


def _hmac(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _check_fresh(sent_at: int, tolerance_s: float, now: float | None, what: str) -> None:
    """``what`` says how far off the timestamp is, e.g. "signature is {} s old"."""
    clock = time.time() if now is None else now
    if abs(clock - sent_at) > tolerance_s:
        off = what.format(int(clock - sent_at))
        raise SignatureError(f"{off} (tolerance {int(tolerance_s)} s)")


# --- partner reports ---

PARTNER_SIGNATURE_HEADER = "X-Recouvre-Signature"
PARTNER_TENANT_HEADER = "X-Recouvre-Tenant"
PARTNER_VERSION = "v1"


def partner_signature(secret: str, timestamp: int, tenant: str, kind: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<tenant>.<kind>.<body>``."""
    return _hmac(secret, f"{timestamp}.{tenant}.{kind}", body)


def sign_partner_report(
    secret: str, tenant: str, kind: str, body: bytes, now: float | None = None
) -> str:
    """The ``X-Recouvre-Signature`` value for ``body``, a report on one of ``tenant``'s
    mandates with partner ``kind``, sent now (or at ``now``)."""
    timestamp = int(time.time() if now is None else now)
    mac = partner_signature(secret, timestamp, tenant, kind, body)
    return f"t={timestamp},{PARTNER_VERSION}={mac}"


def verify_partner_report(
    secrets: Sequence[str],
    tenant: str,
    kind: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> int:
    """Return the signed timestamp; raise SignatureError unless ``header`` signs ``tenant``,
    ``kind`` and ``body`` with one of ``secrets`` (the secrets of that tenant and partner
    kind), at a time within ``tolerance_s`` of now."""
    if not secrets:
        raise SignatureError(f"no webhook secret for partner {kind!r} of tenant {tenant!r}")
    if not header:
        raise SignatureError(f"missing {PARTNER_SIGNATURE_HEADER}")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {PARTNER_SIGNATURE_HEADER}")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("t is not Unix seconds") from None
        elif key == PARTNER_VERSION:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise SignatureError(
            f"{PARTNER_SIGNATURE_HEADER} needs t=<unix seconds> and {PARTNER_VERSION}=<hex>"
        )
    matched = False
    for secret in secrets:  # every pair compared, in constant time each
        expected = partner_signature(secret, timestamp, tenant, kind, body).encode()
        for given in candidates:
            matched |= hmac.compare_digest(expected, given.encode())
    if not matched:
        raise SignatureError(
            f"signature does not match the body for partner {kind!r} of tenant {tenant!r}"
        )
    _check_fresh(timestamp, tolerance_s, now, "signature is {} s old")
    return timestamp


# --- registered-mail notifications ---

MAIL_TIMESTAMP_HEADER = "X-Webhook-Timestamp"
MAIL_SIGNATURE_HEADER = "X-Webhook-Signature"
MAIL_SCHEME = "sha256="


def mail_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    return MAIL_SCHEME + _hmac(secret, timestamp, body)


def sign_mail_notification(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers a sender adds to ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        MAIL_TIMESTAMP_HEADER: timestamp,
        MAIL_SIGNATURE_HEADER: mail_signature(secret, timestamp, body),
    }


def verify_mail_notification(
    secret: str,
    body: bytes,
    timestamp: str | None,
    given: str | None,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless ``given`` signs ``body`` at a fresh ``timestamp``."""
    if not secret:
        raise SignatureError("no webhook secret is configured")
    if not timestamp or not given:
        raise SignatureError(f"missing {MAIL_TIMESTAMP_HEADER} or {MAIL_SIGNATURE_HEADER}")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"{MAIL_TIMESTAMP_HEADER} is not Unix seconds") from None
    expected = mail_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureError("signature does not match the body")
    _check_fresh(sent_at, tolerance_s, now, "timestamp is {} s from now")
