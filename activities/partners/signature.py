"""The signature on partner reports: HMAC-SHA256 of "<t>.<raw body>" with a shared secret.

One header::

    X-Recouvre-Signature: t=1767225600,v1=<64 hex digits>

``t`` is the sending time in Unix seconds and is signed with the body, so a captured report
cannot be replayed later under a fresh timestamp; the receiver refuses a ``t`` further than its
tolerance from its own clock. Several ``v1=`` entries may be given (during a secret rotation the
sender signs with both secrets); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Recouvre-Signature"
VERSION = "v1"


class SignatureError(Exception):
    """The report is not authentic, or too old: answer 401."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, now: float | None = None) -> str:
    """The header value for ``body`` sent now (or at ``now``)."""
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},{VERSION}={compute(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> int:
    """Return the signed timestamp; raise SignatureError unless ``header`` signs ``body`` with
    ``secret`` at a time within ``tolerance_s`` of now."""
    if not secret:
        raise SignatureError("no partner webhook secret is configured")
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER}")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {SIGNATURE_HEADER}")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("t is not Unix seconds") from None
        elif key == VERSION:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise SignatureError(f"{SIGNATURE_HEADER} needs t=<unix seconds> and {VERSION}=<hex>")
    expected = compute(secret, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, given.encode()) for given in candidates):
        raise SignatureError("signature does not match the body")
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance_s:
        raise SignatureError(
            f"signature is {int(clock - timestamp)} s old (tolerance {int(tolerance_s)} s)"
        )
    return timestamp
