"""Stripe's own stand-in for the session: the real ``stripe-mock`` binary (built by the
bootstrap, services/toolchain.stripe_mock), on free loopback ports.

stripe-mock answers every documented endpoint of the API, validating the parameters
against Stripe's OpenAPI description, with fixture objects (its ids and URLs are the
fixtures', not the request's): what recouvre sends is checked, what it gets back is what
Stripe's shape is. Registered from tests/conftest.py (``pytest_plugins``)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from services.toolchain import stripe_mock as stripe_mock_binary
from tests.support.serving import free_port

START_TIMEOUT_S = 30.0


def _wait_until_answering(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stripe-mock exited with {process.returncode}")
        try:
            # Any HTTP answer (401 without a key) means it serves.
            httpx.get(f"{url}/v1/balance", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"stripe-mock did not answer at {url} within {START_TIMEOUT_S}s")


@pytest.fixture(scope="session")
def stripe_mock() -> Iterator[str]:
    """stripe-mock's HTTP base URL (``http://127.0.0.1:<port>``) for the session."""
    http_port, https_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            str(stripe_mock_binary()),
            "-http-port",
            str(http_port),
            "-https-port",
            str(https_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        _wait_until_answering(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
