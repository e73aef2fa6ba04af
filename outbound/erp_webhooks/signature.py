"""The signature on every webhook delivery, so a receiver knows it came from recouvre.

``Recouvre-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``: the
HMAC of the timestamp, a dot and the exact body bytes, under the subscription's secret.
A receiver recomputes it over the raw body, compares in constant time, and refuses a
timestamp too far from its clock (replays). docs/erp-webhooks.md shows it in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

SIGNATURE_HEADER = "Recouvre-Signature"
EVENT_ID_HEADER = "Recouvre-Event-Id"
EVENT_TYPE_HEADER = "Recouvre-Event-Type"
DELIVERY_HEADER = "Recouvre-Delivery"


def new_secret() -> str:
    """A subscription's signing secret: shown once, when it is created."""
    return "whsec_" + secrets.token_urlsafe(32)


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes POSTed for a webhook event: compact JSON, keys sorted (the same bytes on
    every attempt; the signature covers exactly these)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
