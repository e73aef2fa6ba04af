"""The verification example in docs/erp-webhooks.md, run against recouvre's signing code.

An ERP integrator copies that block; if the signature scheme in
outbound/erp_webhooks/signature.py changes and the doc does not (or the other way round),
these tests fail. No service is needed: it is the doc's code and the real signing
functions, nothing else."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from outbound.erp_webhooks.event_types import WebhookEventType
from outbound.erp_webhooks.signature import (
    DELIVERY_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    body_of,
    new_secret,
    signature_header,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "erp-webhooks.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

Verify = Callable[..., bool]


def documented_verify() -> Verify:
    """The ``verify_signature`` defined by the doc's (one) Python block that defines it."""
    blocks = [b for b in PYTHON_BLOCK.findall(DOC.read_text()) if "def verify_signature(" in b]
    assert len(blocks) == 1, "docs/erp-webhooks.md must hold one verify_signature example"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    verify: Verify = namespace["verify_signature"]
    return verify


@pytest.fixture(scope="module")
def verify() -> Verify:
    return documented_verify()


def a_body() -> bytes:
    """A body as the dispatcher sends it, with a non-ASCII character (sent unescaped)."""
    return body_of(
        {
            "id": "8a2e0c4b-7b1d-5f3e-9c6a-2d4f1e0b3a95",
            "type": "payment.recorded",
            "created_at": "2026-11-20T10:42:07.118204+00:00",
            "tenant": "acme",
            "data": {
                "case_id": "case-0f3c9e2a7b5d",
                "invoice_number": "F-2026-0142-É",
                "amount": "800.00",
                "balance_after": "0.00",
            },
        }
    )


def test_the_documented_example_accepts_what_recouvre_signs(verify: Verify) -> None:
    secret, body = new_secret(), a_body()
    header = signature_header(secret, int(time.time()), body)
    assert verify(secret, header, body)
    # A retry signed a little later (or by a clock slightly ahead) still verifies.
    assert verify(secret, signature_header(secret, int(time.time()) + 60, body), body)
    assert verify(secret, signature_header(secret, int(time.time()) - 60, body), body)


def test_the_documented_example_rejects_a_tampered_body(verify: Verify) -> None:
    secret, body = new_secret(), a_body()
    header = signature_header(secret, int(time.time()), body)
    assert not verify(secret, header, body.replace(b'"800.00"', b'"8000.00"'))
    assert not verify(secret, header, body + b" ")
    # Re-serialised JSON is not the bytes that were signed: the doc says so.
    assert not verify(secret, header, body.replace(b",", b", "))


def test_the_documented_example_rejects_a_wrong_secret(verify: Verify) -> None:
    body = a_body()
    header = signature_header(new_secret(), int(time.time()), body)
    assert not verify(new_secret(), header, body)


def test_the_documented_example_rejects_a_stale_or_future_timestamp(verify: Verify) -> None:
    secret, body = new_secret(), a_body()
    now = time.time()
    assert not verify(secret, signature_header(secret, int(now) - 3600, body), body)
    assert not verify(secret, signature_header(secret, int(now) + 3600, body), body)
    old = int(now) - 86_400
    assert verify(secret, signature_header(secret, old, body), body, now=old + 10)


def test_the_documented_example_rejects_a_malformed_header(verify: Verify) -> None:
    secret, body = new_secret(), a_body()
    good = signature_header(secret, int(time.time()), body)
    stamp, digest = good.split(",")
    for header in (
        "",
        digest,
        stamp,
        f"t=abc,{digest}",
        f"{stamp},v1=",
        f"{stamp},{stamp},{digest}",
    ):
        assert not verify(secret, header, body), header


def test_the_doc_names_the_headers_and_event_types_the_code_uses() -> None:
    text = DOC.read_text()
    for header in (SIGNATURE_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, DELIVERY_HEADER):
        assert f"| `{header}` |" in text, f"{header} missing from the headers table"
    assert "t=<unix seconds>,v1=<hex HMAC-SHA256>" in text
    for event_type in WebhookEventType:
        assert f"| `{event_type.value}` |" in text, f"{event_type.value} missing from the doc"
