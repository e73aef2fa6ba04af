"""recouvre's Merci Facteur client, its sandbox and its webhook endpoint against the
transcription of Merci Facteur's published description (tests/contracts/merci_facteur/).

One real run, recorded with httpx event hooks: formal notices are posted through the real
``send_registered_letter`` activity (delivered, not collected, refused, wrong address, and one
Merci Facteur refuses), the crash-time search runs, documented failures are provoked; the
sandbox moves the letters along and posts its webhooks to recouvre's real endpoint, which reads
the letters back and stores statuses and proofs. Every request the client sent, every answer
the sandbox gave and every webhook it posted (with recouvre's answer) is then validated with
openapi-core. Nothing is mocked: real sandbox, real webhook app, real PostgreSQL and Temporal.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.channel_activities import ChannelActivities
from activities.channel_requests import ChannelRequest, Recipient
from activities.registered_mail.merci_facteur_client import MerciFacteurClient
from activities.registered_mail.merci_facteur_settings import WEBHOOK_SECRET_HEADER
from activities.registered_mail.provider import Letter, PostalAddress
from inbound.merci_facteur_notifications import (
    MerciFacteurWebhook,
    get_merci_facteur_webhook,
    router,
)
from sandboxes.merci_facteur_server import (
    SERVICE_PATH,
    MerciFacteurSandboxHandle,
    MerciFacteurSchedule,
    start_sandbox_merci_facteur,
)
from services.api.app import create_app
from services.config import Settings
from storage.tables import registered_letter_proofs, registered_letters, registered_mail_events
from tests.contracts.merci_facteur_traffic import MerciFacteurContract
from tests.contracts.openapi_traffic import Exchange, Recorder
from tests.registered_mail.conftest import eventually, formal_notice
from tests.support.serving import serve

SECRET = "mf-contract-webhook-secret-0123456789"
FAST = MerciFacteurSchedule(
    deposit_after=0.3, present_after=0.6, outcome_after=0.9, webhook_retry_delays=(0.3, 0.6)
)
HOOK_PATH = "/v1/webhooks/merci-facteur"
EXPECTED_OPERATIONS = {
    f"GET {SERVICE_PATH}/getToken",
    f"GET {SERVICE_PATH}/getCountry",
    f"POST {SERVICE_PATH}/sendCourrier",
    f"GET {SERVICE_PATH}/listEnvois",
    f"GET {SERVICE_PATH}/getEnvoi",
    f"GET {SERVICE_PATH}/getSuiviEnvoi",
    f"POST {HOOK_PATH}",
}
SEND_FIELDS = {"idUser", "adress", "content", "modeEnvoi", "antidoublon", "anonymize", "dateEnvoi"}
FINAL = {
    "delivered": ("delivered", {"deposit_proof", "acknowledgement_of_receipt"}),
    "absent": ("not_collected", {"deposit_proof"}),
    "refused": ("refused", {"deposit_proof"}),
    "npai": ("wrong_address", {"deposit_proof"}),
}
PERSONAL = {"civilite", "nom", "prenom", "societe", "adresse1", "adresse2", "adresse3", "cp"}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def recorded_sandbox(recorder: Recorder) -> Iterator[MerciFacteurSandboxHandle]:
    handle = start_sandbox_merci_facteur(
        webhook_secret=SECRET, schedule=FAST, event_hooks=recorder.hooks("sandbox")
    )
    yield handle
    handle.stop()


def webhook_app(
    database_url: str, dev_env: WorkflowEnvironment, provider: MerciFacteurClient
) -> FastAPI:
    """recouvre's API with the Merci Facteur router mounted, as app.py will mount it."""
    settings = Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_RPC_TIMEOUT_S=3.0,
        RECOUVRE_API_KEYS="operator-key-merci-facteur-0123=operator:acme",
    )
    app = create_app(settings)
    app.include_router(router)
    app.dependency_overrides[get_merci_facteur_webhook] = lambda: MerciFacteurWebhook(
        secret=SECRET, provider=provider
    )
    return app


def letter_request(name: str) -> ChannelRequest:
    recipient = Recipient(name=name, address_lines=["12 rue de la Paix", "75002 Paris"])
    return formal_notice(f"case-{uuid.uuid4().hex[:12]}", recipient)


def form_fields(exchange: Exchange) -> set[str]:
    """The field names of a recorded multipart/form-data body."""
    head = f"Content-Type: {exchange.request_headers['content-type']}\r\n\r\n".encode()
    message = BytesParser().parsebytes(head + exchange.request_body)
    parts = message.get_payload()
    assert isinstance(parts, list)
    names = set()
    for part in parts:
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        names.add(str(name))
    return names


async def rows(engine: AsyncEngine, keys: list[str]) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                select(registered_letters).where(registered_letters.c.idempotency_key.in_(keys))
            )
        ).all()
    return {row.idempotency_key: row for row in found}


async def test_client_sandbox_and_webhooks_follow_the_transcription(
    engine: AsyncEngine,
    dev_env: WorkflowEnvironment,
    database_url: str,
    recorder: Recorder,
    recorded_sandbox: MerciFacteurSandboxHandle,
) -> None:
    sandbox = recorded_sandbox
    async with httpx.AsyncClient(timeout=30, event_hooks=recorder.hooks("client")) as http:
        client = MerciFacteurClient(sandbox.settings(), http=http)
        async with serve(webhook_app(database_url, dev_env, client)) as base_url:
            webhook = f"{base_url}{HOOK_PATH}"
            sandbox.set_webhook_url(webhook)
            activities = ChannelActivities(engine, registered_mail=client)
            requests = {
                "delivered": letter_request("Durand SARL"),
                "absent": letter_request("Martin SAS ABSENT"),
                "refused": letter_request("Bernard SA REFUSE"),
                "npai": letter_request("Petit EURL NPAI"),
            }
            for request in requests.values():
                await ActivityEnvironment().run(activities.send_registered_letter, request)
            with pytest.raises(ApplicationError) as refused:
                await ActivityEnvironment().run(
                    activities.send_registered_letter, letter_request("Leroy SA REJET")
                )
            assert refused.value.non_retryable and refused.value.type == "LetterRejected"

            key = requests["delivered"].idempotency_key
            recorded = await rows(engine, [key])
            same = Letter(
                idempotency_key=key,
                case_id=requests["delivered"].case_id,
                title="t",
                recipient=PostalAddress("Durand SARL", ("12 rue de la Paix", "75002 Paris")),
                sender=PostalAddress("Créancier Test SAS", ("1 avenue des Tests", "69001 Lyon")),
                pdf=b"%PDF-",
            )
            matches = await client.find_envoi(same)  # the crash-time search
            assert recorded[key].provider_id in matches

            # documented failures: success false (a bad token, an unknown sending)
            await http.get(
                f"{sandbox.url}/getSuiviEnvoi",
                params={"idEnvoi": recorded[key].provider_id},
                headers={"ww-access-token": "not-a-token", "ww-service-id": "public-x"},
            )
            await http.get(
                f"{sandbox.url}/getEnvoi",
                params={"idEnvoi": "1"},
                headers={
                    "ww-access-token": "not-a-token",
                    "ww-service-id": sandbox.credentials.service_id,
                },
            )
            wrong = MerciFacteurClient(sandbox.settings(secret_key="wrong"), http=http)
            with pytest.raises(Exception, match="401"):
                await wrong.status(str(recorded[key].provider_id))

            # recouvre's endpoint refuses a webhook without the secret (not recorded: a forged
            # request is nobody's documented traffic)
            async with httpx.AsyncClient() as outsider:
                forged = await outsider.post(
                    webhook,
                    content=urlencode(
                        {
                            "event": json.dumps({"name_event": "delivered", "id_user": 1}),
                            "detail": "[]",
                        }
                    ),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        WEBHOOK_SECRET_HEADER: "guess",
                    },
                )
                assert forged.status_code == 401

            keys = {name: r.idempotency_key for name, r in requests.items()}

            async def progress() -> dict[str, Any]:
                return await rows(engine, list(keys.values()))

            def complete(found: dict[str, Any]) -> bool:
                return all(
                    keys[name] in found
                    and found[keys[name]].status == status
                    and {p["kind"] for p in found[keys[name]].proofs} == proofs
                    for name, (status, proofs) in FINAL.items()
                )

            settled = await eventually(progress, complete, within=40)

            async def in_flight() -> list[dict[str, Any]]:
                return [
                    w
                    for w in sandbox.sandbox.state.webhooks
                    if not (w["delivered"] or w.get("abandoned"))
                ]

            await eventually(in_flight, lambda pending: not pending, within=20)

            # a replay changes nothing; the JSON form is read too; foreign letters are skipped
            replayed = next(
                e
                for e in recorder.exchanges
                if e.by == "sandbox" and e.path == HOOK_PATH and e.status == 200
            )
            signed = {WEBHOOK_SECRET_HEADER: SECRET}
            async with httpx.AsyncClient() as outsider:
                again = await outsider.post(
                    webhook,
                    content=replayed.request_body,
                    headers={**signed, "Content-Type": "application/x-www-form-urlencoded"},
                )
                assert again.status_code == 200 and again.json()["duplicates"] == 1, again.text
                fields = dict(_form(replayed))
                (known,) = json.loads(fields["detail"])
                foreign = {**known, "id_envoi": "1"}
                impostor = {**known, "ref_interne": "rcv-someone-else"}
                mixed = await outsider.post(
                    webhook,
                    json={"event": json.loads(fields["event"]), "detail": [known, foreign]},
                    headers=signed,
                )
                assert mixed.status_code == 200, mixed.text
                assert mixed.json() == {"processed": 0, "duplicates": 1, "unknown": 1}
                refused_hook = await outsider.post(
                    webhook,
                    json={"event": json.loads(fields["event"]), "detail": [impostor]},
                    headers=signed,
                )
                assert refused_hook.status_code == 404, refused_hook.text

    delivered = settled[keys["delivered"]]
    assert delivered.registered_number and delivered.first_presented_on is not None
    assert settled[keys["npai"]].first_presented_on is None
    assert [e["status"] for e in settled[keys["absent"]].status_history if e.get("on")] == [
        "presented",
        "not_collected",
    ]
    async with engine.connect() as conn:
        proofs = (
            await conn.execute(
                select(registered_letter_proofs).where(
                    registered_letter_proofs.c.idempotency_key == keys["delivered"]
                )
            )
        ).all()
        events = (
            await conn.execute(
                select(registered_mail_events).where(
                    registered_mail_events.c.idempotency_key.in_(list(keys.values()))
                )
            )
        ).all()
    media = {p.kind: p.media_type for p in proofs}
    assert media == {"deposit_proof": "application/pdf", "acknowledgement_of_receipt": "image/jpeg"}
    assert all(p.content[:4] in (b"%PDF", b"\xff\xd8\xff\xe0") for p in proofs)
    assert events and all(e.provider == "merci_facteur" for e in events)
    assert all(not (PERSONAL & set(e.payload["detail"])) for e in events), "no personal data"
    assert all("pdd_base64_pdf" not in e.payload["detail"] for e in events)

    contract = MerciFacteurContract(sandbox.url, webhook)
    exchanges = list(recorder.exchanges)
    problems = [problem for exchange in exchanges for problem in contract.problems(exchange)]
    assert problems == [], "\n".join(problems)

    shapes = {exchange.shape for exchange in exchanges}
    assert shapes >= EXPECTED_OPERATIONS, sorted(EXPECTED_OPERATIONS - shapes)
    failures = {(e.shape, e.status) for e in exchanges if e.status >= 400 and e.by == "client"}
    assert {
        (f"POST {SERVICE_PATH}/sendCourrier", 400),
        (f"GET {SERVICE_PATH}/getToken", 401),
        (f"GET {SERVICE_PATH}/getSuiviEnvoi", 401),
    } <= failures, "the documented failure answers were exercised"
    sends = [e for e in exchanges if e.shape == f"POST {SERVICE_PATH}/sendCourrier"]
    assert sends and all(form_fields(e) <= SEND_FIELDS for e in sends), "documented fields only"
    tokens = [e for e in exchanges if e.shape == f"GET {SERVICE_PATH}/getToken"]
    assert all(e.request_headers.get("ww-authorized-ip") == "127.0.0.1" for e in tokens)
    assert all("secret" not in json.dumps(e.request_headers).lower() for e in tokens)
    hooks = [e for e in exchanges if e.by == "sandbox" and e.path == HOOK_PATH]
    assert hooks, "the sandbox called the webhook"
    assert all(e.request_headers.get(WEBHOOK_SECRET_HEADER.lower()) == SECRET for e in hooks)
    assert {e.status for e in hooks} <= {200, 404}, {e.status for e in hooks}
    assert all(len(e.response_body) <= 500 for e in hooks)
    names = {json.loads(dict(_form(e))["event"])["name_event"] for e in hooks}
    assert {"new", "printed", "new-state", "pdd", "error", "pnd", "delivered", "are"} <= names


def _form(exchange: Exchange) -> list[tuple[str, str]]:
    return parse_qsl(exchange.request_body.decode(), keep_blank_values=True)


# ---- the check itself refuses drift -----------------------------------------------------------

API = "http://127.0.0.1:1/api/1.2/prod/service"
HOOK = "http://127.0.0.1:2/v1/webhooks/merci-facteur"
AUTH = {"ww-access-token": "t", "ww-service-id": "s"}


def _exchange(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    status: int = 200,
    answer: object = None,
) -> Exchange:
    return Exchange(
        method=method,
        url=url,
        request_headers=headers,
        request_body=body,
        status=status,
        response_headers={"content-type": "application/json"},
        response_body=json.dumps(answer).encode() if answer is not None else b"",
        by="client",
    )


def _send(reference: str) -> Exchange:
    request = httpx.Request(
        "POST",
        f"{API}/sendCourrier",
        headers=AUTH,
        files={
            "idUser": (None, "7"),
            "adress": (
                None,
                json.dumps(
                    {
                        "exp": 501,
                        "dest": [
                            {
                                "societe": "X",
                                "cp": "75002",
                                "ville": "Paris",
                                "pays": "FRANCE",
                                "reference": reference,
                            }
                        ],
                    }
                ),
            ),
            "content": (None, json.dumps({"letter": {"base64files": ["JVBERi0="]}})),
            "modeEnvoi": (None, "lrare"),
        },
    )
    return _exchange(
        "POST",
        str(request.url),
        dict(request.headers),
        request.read(),
        answer={"success": True, "error": None, "envoi_id": 12},
    )


def test_the_check_refuses_a_reference_over_30_characters() -> None:
    contract = MerciFacteurContract(API, HOOK)
    assert contract.problems(_send("rcv-" + "0" * 26)) == []
    assert any("not valid under any" in p for p in contract.problems(_send("rcv-" + "0" * 27)))


def test_the_check_refuses_an_undocumented_status_and_a_webhook_without_its_secret() -> None:
    contract = MerciFacteurContract(API, HOOK)
    event = json.dumps({"name_event": "new-state", "id_user": 1, "date_event": 1581674000})
    detail = {
        "ref_courrier": "1-2",
        "mode_envoi": "lrare",
        "id_envoi": "1",
        "statut_courrier": "pris_en_charge",
        "statut_description": "02/12/2026 : remis",
    }
    form = {"content-type": "application/x-www-form-urlencoded"}

    def hook(item: dict[str, str], headers: dict[str, str]) -> Exchange:
        body = urlencode({"event": event, "detail": json.dumps([item])}).encode()
        return _exchange("POST", HOOK, headers, body, answer={"processed": 1})

    signed = {**form, WEBHOOK_SECRET_HEADER.lower(): "s"}
    assert contract.problems(hook(detail, signed)) == []
    bogus = {**detail, "statut_courrier": "livre"}
    assert any("is not one of" in p for p in contract.problems(hook(bogus, signed)))
    assert any("X-Mf-Webhook-Secret-Key" in p for p in contract.problems(hook(detail, form)))
    long_answer = replace(hook(detail, signed), response_body=b'"' + b"x" * 600 + b'"')
    assert any("at most 500" in p for p in contract.problems(long_answer))


def test_the_check_refuses_an_operation_the_description_does_not_have() -> None:
    contract = MerciFacteurContract(API, HOOK)
    unknown = _exchange("GET", f"{API}/getProof?idEnvoi=1", AUTH, b"", answer={"success": True})
    assert contract.problems(unknown)
    token = _exchange(
        "GET",
        f"{API}/getToken",
        {"ww-service-id": "s", "ww-timestamp": "1", "ww-service-signature": "ABC"},
        b"",
        answer={"success": True, "error": None, "token": "t", "expire": 1},
    )
    assert any("pattern" in p or "does not match" in p for p in contract.problems(token))
    assert base64.b64decode("JVBERi0=").startswith(b"%PDF")
