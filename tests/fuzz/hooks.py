"""Schemathesis hooks for tests/fuzz (loaded by the CLI through SCHEMATHESIS_HOOKS).

``not_a_server_error`` is told that a 503 is expected (see test_api_fuzz.py); this check
makes sure every 503 is the deliberate, documented one: our error shape and a
``Retry-After`` header. A 500, or a bare 503, still fails the run.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.check
def deliberate_unavailable(ctx: Any, response: Any, case: Any) -> None:
    """A 503 must carry Retry-After and {"error": {"code", "message"}}."""
    if response.status_code != 503:
        return
    if "retry-after" not in {name.lower() for name in response.headers}:
        raise AssertionError(f"503 without Retry-After: {response.text[:300]}")
    try:
        error = json.loads(response.text)["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"503 not in the error shape: {response.text[:300]}") from None
    if not code or not message:
        raise AssertionError(f"503 without a code and a message: {response.text[:300]}")
