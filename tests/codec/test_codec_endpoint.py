"""The codec endpoint (services/api/routers/codec.py) on recouvre's API: Temporal's codec
server protocol, for operators and auditors only, usable by the Temporal CLI and UI."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.api.routers import codec
from services.payload_codec import ENCODING, KEY_ID_KEY, EncryptionCodec
from services.toolchain import temporal_cli
from storage.key_ring import KeyRing
from tests.codec.conftest import KEYS, OLD_KEY, EncryptedCase

UI = "http://127.0.0.1:8233"
"""The embedded Temporal UI's origin under the default TEMPORAL_UI_PORT."""


@pytest.fixture
def api(codec_api: str) -> str:
    return codec_api


def _client(base_url: str, who: str | None = None, **headers: str) -> httpx.AsyncClient:
    if who:
        headers["Authorization"] = f"Bearer {KEYS[who]}"
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)


def _wire(payloads: list[Payload]) -> dict[str, Any]:
    """Payloads in protobuf JSON, as the CLI and the UI send them."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def _unwire(body: dict[str, Any]) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p.get("metadata", {}).items()},
            data=base64.b64decode(p.get("data", "")),
        )
        for p in body["payloads"]
    ]


async def _start_input(dev_env: WorkflowEnvironment, case: EncryptedCase) -> list[Payload]:
    history = await dev_env.client.get_workflow_handle(case.handle.id).fetch_history()
    return list(history.events[0].workflow_execution_started_event_attributes.input.payloads)


async def test_an_operator_decodes_a_raw_history_payload(
    api: str, dev_env: WorkflowEnvironment, encrypted_case: EncryptedCase
) -> None:
    stored = await _start_input(dev_env, encrypted_case)
    assert stored[0].metadata["encoding"] == ENCODING

    async with _client(api, "operator", **{"X-Namespace": "default"}) as operator:
        answer = await operator.post("/v1/codec/decode", json=_wire(stored))

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    [plain] = _unwire(answer.json())
    assert plain.metadata["encoding"] == b"json/plain"
    start = json.loads(plain.data)
    assert start["invoice"]["debtor"]["name"] == encrypted_case.debtor.name
    assert start["invoice"]["debtor"]["address"]["line1"] == encrypted_case.debtor.street


async def test_decode_needs_an_operator_or_auditor_key(
    api: str, dev_env: WorkflowEnvironment, encrypted_case: EncryptedCase
) -> None:
    body = _wire(await _start_input(dev_env, encrypted_case))
    async with _client(api) as anonymous, _client(api, "erp") as erp:
        missing = await anonymous.post("/v1/codec/decode", json=body)
        wrong = await anonymous.post(
            "/v1/codec/decode", json=body, headers={"Authorization": "Bearer not-a-key-at-all"}
        )
        refused = await erp.post("/v1/codec/decode", json=body)
    async with _client(api, "auditor") as auditor:
        allowed = await auditor.post("/v1/codec/decode", json=body)

    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert allowed.status_code == 200
    for answer in (missing, wrong, refused):
        assert encrypted_case.debtor.name not in answer.text


async def test_encode_is_for_operators_and_gives_what_the_service_decodes(
    api: str, codec_client: Client
) -> None:
    plain = codec_client.data_converter.payload_converter.to_payloads(["Durand SARL"])
    async with _client(api, "operator") as operator, _client(api, "auditor") as auditor:
        encoded = await operator.post("/v1/codec/encode", json=_wire(plain))
        refused = await auditor.post("/v1/codec/encode", json=_wire(plain))

    assert encoded.status_code == 200, encoded.text
    assert refused.status_code == 403
    [sealed] = _unwire(encoded.json())
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_KEY] == b"k2026"
    assert await codec_client.data_converter.decode([sealed]) == ["Durand SARL"]


async def test_old_keys_decode_unknown_and_tampered_payloads_are_refused(api: str) -> None:
    [plain] = await EncryptionCodec(KeyRing.parse(OLD_KEY)).encode([Payload(data=b'"x"')])
    [unknown] = await EncryptionCodec(KeyRing.parse(KeyRing.new_entry("k2020"))).encode(
        [Payload(data=b'"x"')]
    )
    tampered = Payload(metadata=dict(plain.metadata), data=plain.data[:-1] + b"\0")
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"recorded before"')
    async with _client(api, "operator") as operator:
        old = await operator.post("/v1/codec/decode", json=_wire([plain, clear]))
        answers = [
            await operator.post("/v1/codec/decode", json=_wire([p])) for p in (unknown, tampered)
        ]
        garbage = [
            await operator.post(
                "/v1/codec/decode",
                content=json.dumps({"payloads": [payload]}),  # ASCII: \ud800 stays escaped
                headers={"Content-Type": "application/json"},
            )
            for payload in (
                {"metadata": {}, "data": "***"},
                {"metadata": {"\ud800": ""}, "data": ""},
                {"metadata": {"encoding": base64.b64encode(ENCODING).decode()}, "data": "AAAA"},
            )
        ]
        too_many = await operator.post("/v1/codec/decode", json={"payloads": [{}] * 1001})

    assert old.status_code == 200
    assert _unwire(old.json()) == [Payload(data=b'"x"'), clear]
    assert [a.status_code for a in answers] == [422, 422]
    assert "k2020" in answers[0].json()["error"]["message"]
    assert "does not authenticate" in answers[1].json()["error"]["message"]
    assert [g.status_code for g in garbage] == [422, 422, 422], [g.text for g in garbage]
    assert too_many.status_code == 422


async def test_the_temporal_ui_origin_passes_cors_and_others_do_not(api: str) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with _client(api) as browser:
        ui = await browser.options("/v1/codec/decode", headers={"Origin": UI, **preflight})
        other = await browser.options(
            "/v1/codec/decode", headers={"Origin": "https://evil.example", **preflight}
        )
        unauthorized = await browser.post(
            "/v1/codec/decode", json={"payloads": []}, headers={"Origin": UI}
        )

    assert ui.status_code == 204
    assert ui.headers["access-control-allow-origin"] == UI
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in ui.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert unauthorized.status_code == 401  # and the UI can read that it is a 401:
    assert unauthorized.headers["access-control-allow-origin"] == UI


async def test_a_browser_session_lets_the_ui_decode_with_its_cookie(
    api: str, dev_env: WorkflowEnvironment, encrypted_case: EncryptedCase
) -> None:
    body = _wire(await _start_input(dev_env, encrypted_case))
    async with _client(api, "auditor") as login, _client(api, "erp") as erp:
        opened = await login.post("/v1/codec/session")
        refused = await erp.post("/v1/codec/session")
    cookie = opened.cookies[codec.SESSION_COOKIE]
    async with _client(api, Origin=UI) as browser:
        browser.cookies.set(codec.SESSION_COOKIE, cookie)
        decoded = await browser.post("/v1/codec/decode", json=body)
        encode = await browser.post("/v1/codec/encode", json=body)  # an auditor's session
        browser.cookies.set(codec.SESSION_COOKIE, cookie[:-1] + ("0" if cookie[-1] != "0" else "1"))
        forged = await browser.post("/v1/codec/decode", json=body)
        page = await browser.get("/v1/codec/session")

    assert opened.status_code == 200, opened.text
    assert opened.json()["actor"].startswith("auditor:")
    set_cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert "path=/v1/codec" in set_cookie
    assert KEYS["auditor"] not in opened.headers["set-cookie"]
    assert refused.status_code == 403
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == UI
    assert (
        encrypted_case.debtor.name
        in base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
    )
    assert encode.status_code == 403
    assert forged.status_code == 401
    assert page.status_code == 200 and "Include cross-origin credentials" in page.text


async def test_temporal_workflow_show_decodes_through_the_endpoint(
    api: str, dev_env: WorkflowEnvironment, encrypted_case: EncryptedCase
) -> None:
    target = dev_env.client.service_client.config.target_host
    base = [
        str(temporal_cli()),
        "workflow",
        "show",
        "--address",
        target,
        "--namespace",
        "default",
        "--workflow-id",
        encrypted_case.handle.id,
        "--output",
        "json",
    ]

    async def show(*extra: str) -> str:
        process = await asyncio.create_subprocess_exec(
            *base,
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        return out.decode()

    raw = json.loads(await show())
    decoded = json.loads(
        await show(
            "--codec-endpoint", f"{api}/v1/codec", "--codec-auth", f"Bearer {KEYS['operator']}"
        )
    )

    [stored] = _start_payloads(raw)
    [shown] = _start_payloads(decoded)
    assert stored.metadata["encoding"] == ENCODING
    assert encrypted_case.debtor.name.encode() not in stored.data
    assert shown.metadata["encoding"] == b"json/plain"
    debtor = json.loads(shown.data)["invoice"]["debtor"]
    assert (debtor["name"], debtor["email"]) == (
        encrypted_case.debtor.name,
        encrypted_case.debtor.email,
    )


def _start_payloads(exported: dict[str, Any]) -> list[Payload]:
    """The workflow input of `temporal workflow show --output json`."""
    started = exported["events"][0]["workflowExecutionStartedEventAttributes"]
    return _unwire(started["input"])
