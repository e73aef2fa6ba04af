"""The webhook signature: HMAC-SHA256 over the timestamp and the raw body, shared secret.

Headers on every notification::

    X-Webhook-Timestamp: 1767225600            (Unix seconds, when it was sent)
    X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is signed with the body, so an old notification cannot be replayed later with a
new timestamp; the receiver refuses a timestamp further than the tolerance from its clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"
SCHEME = "sha256="


class SignatureError(Exception):
    """The notification is not authentic (or too old): answer 401."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers a sender adds to ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
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
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not Unix seconds") from None
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureError("signature does not match the body")
    clock = time.time() if now is None else now
    if abs(clock - sent_at) > tolerance_s:
        raise SignatureError(
            f"timestamp is {int(clock - sent_at)} s from now (tolerance {int(tolerance_s)} s)"
        )
