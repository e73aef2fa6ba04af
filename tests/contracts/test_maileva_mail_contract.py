"""recouvre's Maileva mail client and its sandbox against the published "mail" v2.9 document.

One real run over loopback, recorded with httpx event hooks: the client logs in, posts simple
letters (processed, to a person in Norway, rejected after submission, processed with its
recipient refused, returned undeliverable), resumes one by its custom_id, is refused a
country its account may not post to, reads statuses back; the documented error answers (400,
401, 404) are provoked too. Every request the client sent and every response the sandbox gave
is then validated with openapi-core against tests/contracts/maileva/api-mail-v2-9b.yaml (and
the token exchanges against the authentication document). Nothing is mocked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from activities.postal_mail.maileva_mail_client import (
    MAIL_COUNTRIES,
    MailevaMailClient,
    mail_custom_id,
)
from activities.postal_mail.provider import PostalLetterStatus, SimpleLetter
from activities.registered_mail.letter_pdf import render_letter_pdf
from activities.registered_mail.provider import (
    LetterRejected,
    MemoryJournal,
    PostalAddress,
    RegisteredMailError,
)
from sandboxes.maileva_mail_server import (
    MailSandboxHandle,
    MailSandboxSchedule,
    start_sandbox_maileva_mail,
)
from tests.contracts.mail_traffic import MAIL, MailContract, load_yaml12
from tests.contracts.openapi_traffic import Exchange, Recorder
from tests.registered_mail.conftest import eventually

QUICK = MailSandboxSchedule(accept_after=0.1, process_after=0.3, undelivered_after=0.5)
SENDER = PostalAddress("Créancier Test SAS", ("1 avenue des Tests", "69001 Lyon"))
EXPECTED_OPERATIONS = {
    "POST /auth/realms/services/protocol/openid-connect/token",
    "POST /mail/v2/sendings",
    "GET /mail/v2/sendings",
    "GET /mail/v2/sendings/{id}",
    "POST /mail/v2/sendings/{id}/documents",
    "GET /mail/v2/sendings/{id}/documents",
    "POST /mail/v2/sendings/{id}/recipients",
    "GET /mail/v2/sendings/{id}/recipients",
    "GET /mail/v2/sendings/{id}/recipients/{id}",
    "GET /mail/v2/sendings/{id}/recipients/{id}/delivery_statuses",
    "POST /mail/v2/sendings/{id}/submit",
}
CALLBACK_UNUSED = "http://127.0.0.1:9/unused"


def simple_letter(
    name: str, lines: tuple[str, ...] = ("12 rue de la Paix", "75002 Paris"), **address: object
) -> SimpleLetter:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    return SimpleLetter(
        idempotency_key=f"{case_id}/reminder_3/letter",
        case_id=case_id,
        tenant="acme",
        title="Dernière relance F-2026-0001",
        recipient=PostalAddress(name, lines, **address),  # type: ignore[arg-type]
        sender=SENDER,
        pdf=render_letter_pdf(
            "Dernière relance : 1 200,00 € restent dus.", title="t", reference="r"
        ),
        document_name="reminder_3.pdf",
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mail_sandbox() -> Iterator[MailSandboxHandle]:
    handle = start_sandbox_maileva_mail(schedule=QUICK, refused_countries=frozenset({"CH"}))
    yield handle
    handle.stop()


def test_the_client_knows_the_documents_country_list_read_as_yaml_1_2() -> None:
    spec = load_yaml12(MAIL)
    documented = spec["components"]["schemas"]["country_code"]["enum"]
    assert set(documented) == MAIL_COUNTRIES and len(documented) == len(MAIL_COUNTRIES)
    naive = yaml.safe_load(MAIL.read_text(encoding="utf-8"))
    assert False in naive["components"]["schemas"]["country_code"]["enum"], (
        "read as YAML 1.1, Norway's NO is a boolean: the reason for load_yaml12"
    )


def test_the_mail_contract_refuses_the_registered_mail_38_character_custom_id() -> None:
    contract = MailContract("http://127.0.0.1:1", "http://127.0.0.1:2/token", CALLBACK_UNUSED)
    too_long = "rcv-" + "0" * 34
    exchange = Exchange(
        method="POST",
        url="http://127.0.0.1:1/mail/v2/sendings",
        request_headers={"content-type": "application/json", "authorization": "Bearer t"},
        request_body=json.dumps({"name": "n", "custom_id": too_long}).encode(),
        status=201,
        response_headers={"content-type": "application/json"},
        response_body=b"{}",
        by="client",
    )
    assert any("too long" in problem for problem in contract.problems(exchange))
    assert len(mail_custom_id("any/key")) == 36


async def statuses(client: MailevaMailClient, ids: dict[str, str]) -> dict[str, PostalLetterStatus]:
    return {what: await client.status(sending_id) for what, sending_id in ids.items()}


def settled(found: dict[str, PostalLetterStatus]) -> bool:
    return (
        found["processed"].posted
        and found["norway"].posted
        and found["rejected"].rejected
        and found["with_errors"].rejected
        and found["returned"].undelivered_at is not None
    )


async def test_client_and_sandbox_follow_the_published_mail_document(
    recorder: Recorder, mail_sandbox: MailSandboxHandle
) -> None:
    sandbox = mail_sandbox
    async with httpx.AsyncClient(timeout=30, event_hooks=recorder.hooks("client")) as http:
        client = MailevaMailClient(
            sandbox.settings(POSTAL_MAIL_TREAT_UNDELIVERED_MAIL=True), http=http
        )
        letters = {
            "processed": simple_letter("Durand SARL"),
            "norway": simple_letter(
                "Kari Nordmann", ("Karl Johans gate 1", "0154 Oslo"), country_code="NO", person=True
            ),
            "rejected": simple_letter("Bernard SA REJET"),
            "with_errors": simple_letter("Martin SAS ERREUR"),
            "returned": simple_letter("Petit EURL NPAI"),
        }
        ids = {what: await client.send(letter) for what, letter in letters.items()}
        assert len(set(ids.values())) == len(ids)

        # the crash-time search and a resumed sending: no second letter
        again = await client.send(letters["processed"], MemoryJournal(maybe_created=True))
        assert again == ids["processed"]
        found = await client.session.find_sending(
            mail_custom_id(letters["processed"].idempotency_key)
        )
        assert found is not None and found["id"] == ids["processed"]

        # a country of the list this account may not post to: 400 errors_response
        with pytest.raises(LetterRejected) as refused:
            await client.send(
                simple_letter("Muller AG", ("Bahnhofstrasse 1", "8001 Zürich"), country_code="CH")
            )
        assert refused.value.code == "INVALID_COUNTRY_CODE"

        final = await eventually(lambda: statuses(client, ids), settled, within=15)
        assert final["processed"].provider_status == "PROCESSED"
        assert final["rejected"].provider_status == "REJECTED"
        assert final["with_errors"].provider_status == "PROCESSED_WITH_ERRORS"
        assert final["with_errors"].recipient_status == "REJECTED"
        returned = final["returned"]
        assert returned.recipient_id is not None
        base = f"/sendings/{ids['returned']}/recipients/{returned.recipient_id}"
        await client.session.call("GET", base)
        history = (await client.session.call("GET", f"{base}/delivery_statuses")).json()
        assert [s["status"] for s in history["delivery_statuses"]] == ["N10"]

        # documented refusals: 400 (not a draft any more), 404, 401 (API and token endpoint)
        with pytest.raises(LetterRejected) as not_draft:
            await client.session.call("POST", f"/sendings/{ids['processed']}/submit")
        assert not_draft.value.code == "SENDING_STATUS_IS_NOT_DRAFT"
        with pytest.raises(RegisteredMailError):
            await client.session.get_sending(str(uuid.uuid4()))
        await http.get(
            f"{sandbox.url}/mail/v2/sendings", headers={"Authorization": "Bearer not-a-token"}
        )
        wrong = sandbox.settings(POSTAL_MAIL_PASSWORD="wrong")
        with pytest.raises(RegisteredMailError, match="401"):
            await MailevaMailClient(wrong, http=http).status(ids["processed"])

    contract = MailContract(sandbox.url, sandbox.auth_url, CALLBACK_UNUSED)
    exchanges = list(recorder.exchanges)
    problems = [problem for exchange in exchanges for problem in contract.problems(exchange)]
    assert problems == [], "\n".join(problems)

    shapes = {exchange.shape for exchange in exchanges}
    assert shapes >= EXPECTED_OPERATIONS, sorted(EXPECTED_OPERATIONS - shapes)
    assert {e.status for e in exchanges} >= {200, 201, 400, 401, 404}
    listing = [e for e in exchanges if e.shape == "GET /mail/v2/sendings"]
    assert all(set(httpx.URL(e.url).params.keys()) <= {"start_index", "count"} for e in listing)
    created = [json.loads(e.request_body) for e in exchanges if e.shape == "POST /mail/v2/sendings"]
    assert {body["postage_type"] for body in created} == {"FAST"}
    assert all(len(body["custom_id"]) <= 36 for body in created)
    assert all(
        e.url.startswith(sandbox.url + "/mail/v2/") or e.url == sandbox.auth_url for e in exchanges
    )
