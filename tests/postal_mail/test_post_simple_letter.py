"""``post_simple_letter`` against the mail sandbox over loopback, with real PostgreSQL.

The letter is recorded by the real ``send_letter`` activity (channel_outbox), then handed to
the provider as the activity will once it is wired. The crashes are the real client with a
worker that "dies" at a chosen point (an exception where the process would have stopped);
the retry is a fresh call, as Temporal's would be.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities
from activities.channel_requests import ChannelReceipt, ChannelRequest, Recipient
from activities.postal_mail import PostalMailSettings, provider_from_settings
from activities.postal_mail.dispatch import (
    build_simple_letter,
    post_simple_letter,
    refresh_postal_letter,
)
from activities.postal_mail.maileva_mail_client import MailevaMailClient, mail_custom_id
from activities.postal_mail.provider import PostalLetterStatus, SimpleLetter
from activities.registered_mail.provider import SendJournal
from sandboxes import start_sandbox_registered_mail
from sandboxes.maileva_mail_server import (
    MailSandboxHandle,
    MailSandboxSchedule,
    start_sandbox_maileva_mail,
)
from schemas.invoice import InvoiceIn
from storage.debtor_vault import SEALED_PREFIX, DebtorVault
from storage.key_ring import KeyRing
from storage.tables import channel_outbox, postal_letters
from tests.contracts.openapi_traffic import Recorder
from tests.registered_mail.conftest import CONTEXT, DEBTOR, eventually
from tests.support.invoices import invoice_payload
from tests.support.schema import schema_differences

QUICK = MailSandboxSchedule(accept_after=0.1, process_after=0.2, undelivered_after=0.3)
ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import asyncio, json, sys
from activities.channel_requests import ChannelReceipt, ChannelRequest
from activities.postal_mail.dispatch import post_simple_letter
from activities.postal_mail.maileva_mail_client import MailevaMailClient
from activities.postal_mail.settings import PostalMailSettings
from storage.engine import make_engine

async def main():
    args = json.loads(sys.stdin.read())
    engine = make_engine(args["database_url"])
    async with MailevaMailClient(PostalMailSettings(**args["settings"])) as client:
        await post_simple_letter(
            engine,
            client,
            ChannelRequest.model_validate(args["request"]),
            ChannelReceipt.model_validate(args["receipt"]),
        )

asyncio.run(main())
"""
"""A worker process posting one letter, as the activity would, until it is killed."""


@pytest.fixture
def mail_sandbox() -> Iterator[MailSandboxHandle]:
    handle = start_sandbox_maileva_mail(schedule=QUICK, refused_countries=frozenset({"BE"}))
    yield handle
    handle.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def mail_client(
    mail_sandbox: MailSandboxHandle, recorder: Recorder
) -> AsyncIterator[MailevaMailClient]:
    """The real client, every exchange of it recorded (to see what reached the provider)."""
    async with httpx.AsyncClient(timeout=30, event_hooks=recorder.hooks("client")) as http:
        yield MailevaMailClient(mail_sandbox.settings(), http=http)


def last_reminder(recipient: Recipient = DEBTOR, **context: str) -> ChannelRequest:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    return ChannelRequest(
        idempotency_key=f"{case_id}/reminder_3/letter",
        case_id=case_id,
        tenant="acme",
        step="reminder_3",
        channel="letter",
        template="reminder_3@1",
        recipient=recipient,
        context={**CONTEXT, **context},
    )


async def record(engine: AsyncEngine, request: ChannelRequest) -> ChannelReceipt:
    """The outbox row, by the real activity (no provider wired yet)."""
    return await ActivityEnvironment().run(ChannelActivities(engine).send_letter, request)


async def post(
    engine: AsyncEngine, provider: Any, request: ChannelRequest, receipt: ChannelReceipt
) -> ChannelReceipt:
    return await ActivityEnvironment().run(post_simple_letter, engine, provider, request, receipt)


async def sendings_at_sandbox(client: MailevaMailClient, key: str) -> list[dict[str, Any]]:
    response = await client.session.call("GET", "/sendings", params={"count": 500})
    wanted = mail_custom_id(key)
    return [s for s in response.json()["sendings"] if s.get("custom_id") == wanted]


async def maybe_row(engine: AsyncEngine, key: str) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(postal_letters).where(postal_letters.c.idempotency_key == key)
            )
        ).first()


async def letter_row(engine: AsyncEngine, key: str) -> Any:
    row = await maybe_row(engine, key)
    assert row is not None, f"no postal_letters row for {key}"
    return row


class DiesAfterTheIdIsStored:
    """A journal whose worker "dies" once the sending's id is stored, before the document,
    the recipient and the submission: the window between create and submit."""

    def __init__(self, inner: SendJournal) -> None:
        self._inner = inner

    @property
    def known_id(self) -> str | None:
        return self._inner.known_id

    @property
    def maybe_created(self) -> bool:
        return self._inner.maybe_created

    async def creating(self) -> None:
        await self._inner.creating()

    async def created(self, provider_id: str) -> None:
        await self._inner.created(provider_id)
        raise ConnectionResetError("worker lost after the sending id was stored")


class DiesBeforeTheIdIsStored(DiesAfterTheIdIsStored):
    """The narrowest window: the provider created the sending, its id never reached the
    database; only a search by custom_id can close it."""

    async def created(self, provider_id: str) -> None:
        raise ConnectionResetError("worker lost before the sending id was stored")


class Crashing:
    """The real client, run by a worker that dies at one point of ``send``."""

    name = "maileva"

    def __init__(self, client: MailevaMailClient, journal: type[DiesAfterTheIdIsStored]) -> None:
        self._client = client
        self._journal = journal

    async def send(self, letter: SimpleLetter, journal: SendJournal | None = None) -> str:
        assert journal is not None
        return await self._client.send(letter, self._journal(journal))

    async def status(self, provider_id: str) -> PostalLetterStatus:
        return await self._client.status(provider_id)


class DiesAfterSubmitting(Crashing):
    async def send(self, letter: SimpleLetter, journal: SendJournal | None = None) -> str:
        await self._client.send(letter, journal)
        raise ConnectionResetError("worker lost after the provider accepted the letter")


async def test_the_letter_is_posted_once_and_its_reference_is_the_sending_id(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    request = last_reminder()
    recorded = await record(engine, request)
    receipt = await post(engine, mail_client, request, recorded)
    sendings = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert [s["id"] for s in sendings] == [receipt.reference]
    assert sendings[0]["status"] != "DRAFT" and sendings[0]["postage_type"] == "FAST"
    assert sendings[0]["name"] == "Dernière relance F-2026-0001"
    assert not receipt.duplicate and receipt.recorded_at == recorded.recorded_at
    assert receipt.summary.endswith(f"[maileva {receipt.reference}]")

    row = await letter_row(engine, request.idempotency_key)
    assert (row.provider, row.provider_id, row.status) == (
        "maileva",
        receipt.reference,
        "submitted",
    )
    assert (row.case_id, row.tenant, row.step) == (request.case_id, "acme", "reminder_3")
    assert row.submitted_at is not None
    assert [h["status"] for h in row.status_history] == [
        "pending",
        "creating",
        "created",
        "submitted",
    ]
    async with engine.connect() as conn:
        outbox = (
            await conn.execute(
                select(channel_outbox).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    assert outbox.reference == recorded.reference, "the outbox row stays as recorded"
    uploaded = build_simple_letter(request, outbox)
    assert row.document_sha256 == uploaded.pdf_sha256
    text = PdfReader(io.BytesIO(uploaded.pdf)).pages[0].extract_text()
    assert "Durand SARL" in text and "dernière relance" in text.lower()
    recipient = (await mail_client.session.list_recipients(receipt.reference))[0]
    assert recipient["address_line_1"] == "Durand SARL"
    assert recipient["address_line_6"] == "75002 Paris" and recipient["country_code"] == "FR"

    again = await post(engine, mail_client, request, await record(engine, request))
    assert again.reference == receipt.reference and again.duplicate
    assert len(await sendings_at_sandbox(mail_client, request.idempotency_key)) == 1


async def test_a_retry_after_dying_between_create_and_submit_posts_the_letter_once(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    request = last_reminder()
    recorded = await record(engine, request)
    with pytest.raises(ConnectionResetError):
        await post(engine, Crashing(mail_client, DiesAfterTheIdIsStored), request, recorded)
    drafts = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert [s["status"] for s in drafts] == ["DRAFT"], "created, never submitted"
    row = await letter_row(engine, request.idempotency_key)
    assert row.provider_id == drafts[0]["id"], "the id was stored before anything else"
    assert row.status == "created" and row.submitted_at is None

    first = await post(engine, mail_client, request, await record(engine, request))
    second = await post(engine, mail_client, request, await record(engine, request))
    assert first.reference == second.reference == drafts[0]["id"]
    assert not first.duplicate, "the first retry posted it"
    assert second.duplicate, "the second found it posted"
    (sending,) = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert sending["status"] != "DRAFT"
    assert sending["documents_count"] == 1 and sending["recipients_counts"]["total"] == 1
    row = await letter_row(engine, request.idempotency_key)
    assert row.status == "submitted"


async def test_a_worker_process_killed_between_create_and_submit_is_retried_into_one_letter(
    database_url: str, engine: AsyncEngine
) -> None:
    slow_upload = MailSandboxSchedule(accept_after=0.1, process_after=0.2, upload_delay=1.5)
    handle = start_sandbox_maileva_mail(schedule=slow_upload)
    try:
        async with MailevaMailClient(handle.settings()) as client:
            request = last_reminder()
            key = request.idempotency_key
            recorded = await record(engine, request)
            settings = handle.settings().model_dump(by_alias=True)
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                WORKER,
                stdin=asyncio.subprocess.PIPE,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert worker.stdin is not None
            worker.stdin.write(
                json.dumps(
                    {
                        "database_url": database_url,
                        "settings": settings,
                        "request": request.model_dump(mode="json"),
                        "receipt": recorded.model_dump(mode="json"),
                    }
                ).encode()
            )
            await worker.stdin.drain()
            worker.stdin.close()
            created = await eventually(
                lambda: maybe_row(engine, key),
                lambda row: row is not None and row.provider_id is not None,
                within=30,
            )
            worker.send_signal(signal.SIGKILL)  # no clean-up, no exception handler runs
            assert await worker.wait() == -signal.SIGKILL
            (draft,) = await sendings_at_sandbox(client, key)
            assert draft["id"] == created.provider_id and draft["status"] == "DRAFT"
            await asyncio.sleep(slow_upload.upload_delay + 0.3)  # the held upload lands, or not

            receipt = await post(engine, client, request, await record(engine, request))
            again = await post(engine, client, request, await record(engine, request))
            assert receipt.reference == again.reference == created.provider_id
            (sending,) = await sendings_at_sandbox(client, key)
            assert sending["status"] != "DRAFT"
            assert sending["documents_count"] == 1 and sending["recipients_counts"]["total"] == 1
            assert (await letter_row(engine, key)).status == "submitted"
    finally:
        handle.stop()


async def test_a_death_before_the_id_is_stored_is_recovered_by_its_custom_id(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    request = last_reminder()
    recorded = await record(engine, request)
    with pytest.raises(ConnectionResetError):
        await post(engine, Crashing(mail_client, DiesBeforeTheIdIsStored), request, recorded)
    drafts = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert len(drafts) == 1, "the provider created the sending before the crash"
    row = await letter_row(engine, request.idempotency_key)
    assert row.provider_id is None and row.status == "creating"

    receipt = await post(engine, mail_client, request, recorded)
    assert receipt.reference == drafts[0]["id"]
    (sending,) = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert sending["status"] != "DRAFT" and sending["documents_count"] == 1


async def test_a_death_after_submission_posts_nothing_more(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    request = last_reminder()
    recorded = await record(engine, request)
    with pytest.raises(ConnectionResetError):
        await post(
            engine, DiesAfterSubmitting(mail_client, DiesAfterTheIdIsStored), request, recorded
        )
    submitted = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert len(submitted) == 1 and submitted[0]["status"] != "DRAFT"
    assert (await letter_row(engine, request.idempotency_key)).status == "created"

    receipt = await post(engine, mail_client, request, recorded)
    assert receipt.reference == submitted[0]["id"]
    assert len(await sendings_at_sandbox(mail_client, request.idempotency_key)) == 1
    assert (await letter_row(engine, request.idempotency_key)).status == "submitted"


async def test_a_refusal_is_a_non_retryable_error_and_is_not_recorded_as_sent(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    abroad = Recipient(name="Dupont SPRL", address_lines=["Rue Neuve 1", "1000 Bruxelles"])
    request = last_reminder(abroad, debtor_country="BE")  # this account may not post to BE
    recorded = await record(engine, request)
    for _attempt in (1, 2):
        with pytest.raises(ApplicationError) as caught:
            await post(engine, mail_client, request, recorded)
        assert caught.value.type == "InvalidRecipient" and caught.value.non_retryable
        assert "INVALID_COUNTRY_CODE" in str(caught.value)
    row = await letter_row(engine, request.idempotency_key)
    assert row.status == "refused" and row.submitted_at is None
    assert row.status_history[-1]["code"] == "InvalidRecipient"
    assert row.status_history[-1]["error_code"] == "INVALID_COUNTRY_CODE"
    (draft,) = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert draft["status"] == "DRAFT", "never submitted; the retry resumed the same draft"
    assert draft["id"] == row.provider_id and draft["recipients_counts"]["total"] == 0


async def test_an_unsupported_country_raises_before_any_call(
    engine: AsyncEngine, mail_client: MailevaMailClient, recorder: Recorder
) -> None:
    kosovo = Recipient(
        name="Krasniqi SH.P.K.", address_lines=["Rruga Nëna Terezë 1", "10000 Prishtinë"]
    )
    request = last_reminder(kosovo, debtor_country="XK")  # not in the document's country list
    recorded = await record(engine, request)
    with pytest.raises(ApplicationError) as caught:
        await post(engine, mail_client, request, recorded)
    assert caught.value.type == "UnsupportedCountry" and caught.value.non_retryable
    assert caught.value.details[0]["country"] == "XK"
    assert "FR" in caught.value.details[0]["supported"]
    assert "Krasniqi" not in str(caught.value), "no personal data in the error"
    assert recorder.exchanges == [], "not even a token was asked for"
    row = await letter_row(engine, request.idempotency_key)
    assert row.status == "refused" and row.provider_id is None


async def test_an_address_the_provider_cannot_take_fails_for_good_before_any_call(
    engine: AsyncEngine, mail_client: MailevaMailClient, recorder: Recorder
) -> None:
    nowhere = Recipient(name="Durand SARL", address_lines=["12 rue de la Paix", "Paris"])
    request = last_reminder(nowhere)
    with pytest.raises(ApplicationError) as caught:
        await post(engine, mail_client, request, await record(engine, request))
    assert caught.value.type == "InvalidRecipient" and caught.value.non_retryable
    assert "ADDRESS_LINE_6_WRONG_FORMAT" in str(caught.value) and "Paix" not in str(caught.value)
    assert recorder.exchanges == []


async def test_a_rejection_after_submission_is_read_back_as_rejected(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    rejected = Recipient(name="Bernard SA REJET", address_lines=["3 rue Neuve", "69002 Lyon"])
    kept = last_reminder()
    refused = last_reminder(rejected)
    for request in (kept, refused):
        await post(engine, mail_client, request, await record(engine, request))

    async def refreshed() -> tuple[str, str]:
        for request in (kept, refused):
            await refresh_postal_letter(engine, mail_client, request.idempotency_key)
        rows = [await letter_row(engine, r.idempotency_key) for r in (kept, refused)]
        return rows[0].status, rows[1].status

    assert await eventually(refreshed, lambda s: s == ("processed", "rejected")) == (
        "processed",
        "rejected",
    )
    row = await letter_row(engine, refused.idempotency_key)
    assert row.provider_status == "REJECTED" and "REJECTED" in row.status_history[-1]["reason"]
    again = await post(engine, mail_client, refused, await record(engine, refused))
    assert again.duplicate, "a rejected letter is not posted again by a retry"


async def test_a_vault_debtors_letter_is_opened_to_be_posted_and_its_row_names_no_one(
    engine: AsyncEngine, mail_client: MailevaMailClient, mail_sandbox: MailSandboxHandle
) -> None:
    vault = DebtorVault(KeyRing.parse(KeyRing.new_entry("t1"), setting="T"), os.urandom(32))
    payload = invoice_payload()
    payload["debtor"]["name"] = "Coffre Test SARL"
    async with engine.begin() as conn:
        ref = await vault.register(conn, "acme", InvoiceIn.model_validate(payload).debtor)
    by_id = Recipient(name=f"debtor:{ref.debtor_id}", debtor_id=ref.debtor_id)
    request = last_reminder(by_id).model_copy(update={"debtor_id": ref.debtor_id})
    activities = ChannelActivities(engine, vault=vault)
    # what send_letter will do once wired: record, keep the resolved request, post
    recorded, resolved = await ActivityEnvironment().run(
        activities._record_resolved, request, "letter", {None}
    )
    with pytest.raises(ApplicationError) as unreadable:
        await post(engine, mail_client, resolved, recorded)  # no vault given
    assert unreadable.value.type == "LetterUnreadable" and unreadable.value.non_retryable
    receipt = await ActivityEnvironment().run(
        post_simple_letter, engine, mail_client, resolved, recorded, vault
    )
    async with engine.connect() as conn:
        outbox = (
            await conn.execute(
                select(channel_outbox).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    assert outbox.body.startswith(SEALED_PREFIX), "the outbox keeps the letter sealed"
    (document,) = mail_sandbox.sandbox.state.documents[receipt.reference]
    pdf = mail_sandbox.sandbox.state.contents[document["id"]]
    assert "Coffre Test SARL" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    recipient = (await mail_client.session.list_recipients(receipt.reference))[0]
    assert recipient["address_line_1"] == "Coffre Test SARL"
    row = await letter_row(engine, request.idempotency_key)
    assert row.status == "submitted" and "Coffre" not in repr(dict(row._mapping))


async def test_the_registered_mail_account_is_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGISTERED_MAIL_PROVIDER_URL", "https://api.maileva.com")
    for name, value in {
        "CLIENT_ID": "id",
        "CLIENT_SECRET": "secret",
        "USERNAME": "user",
        "PASSWORD": "pass",
    }.items():
        monkeypatch.setenv(f"REGISTERED_MAIL_{name}", value)
    inherited = PostalMailSettings()
    assert inherited.provider_url == "https://api.maileva.com" and inherited.enabled
    assert inherited.token_url.startswith("https://connexion.maileva.com/")
    assert (inherited.client_id, inherited.password) == ("id", "pass")
    assert inherited.session_settings().api_path == "/mail/v2"
    own = PostalMailSettings(POSTAL_MAIL_USERNAME="other", POSTAL_MAIL_PASSWORD="other-pass")
    assert (own.username, own.client_id) == ("other", ""), "login values never mix accounts"
    monkeypatch.delenv("REGISTERED_MAIL_PROVIDER_URL")
    assert provider_from_settings(PostalMailSettings()) is None


async def test_one_token_endpoint_serves_both_sandboxes(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = start_sandbox_registered_mail()
    mail = start_sandbox_maileva_mail(schedule=QUICK, shared_auth=registered)
    try:
        for name, value in registered.settings().model_dump(by_alias=True).items():
            if name.endswith(("_CLIENT_ID", "_CLIENT_SECRET", "_USERNAME", "_PASSWORD")):
                monkeypatch.setenv(name, str(value))
        settings = PostalMailSettings(
            POSTAL_MAIL_PROVIDER_URL=mail.url, POSTAL_MAIL_AUTH_URL=mail.auth_url
        )
        assert settings.username == registered.credentials.username
        assert mail.auth_url == registered.auth_url
        request = last_reminder()
        async with MailevaMailClient(settings) as client:
            receipt = await post(engine, client, request, await record(engine, request))
            assert (await sendings_at_sandbox(client, request.idempotency_key))[0]["id"] == (
                receipt.reference
            )
    finally:
        mail.stop()
        registered.stop()


async def test_the_table_object_matches_migration_0012(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(schema_differences, postal_letters) == []


async def test_send_letter_with_a_provider_posts_the_letter_once_across_retries(
    engine: AsyncEngine, mail_client: MailevaMailClient
) -> None:
    """The activity the workflow calls, wired as the worker wires it."""
    activities = ChannelActivities(engine, postal_mail=mail_client)
    request = last_reminder()
    first = await ActivityEnvironment().run(activities.send_letter, request)
    again = await ActivityEnvironment().run(activities.send_letter, request)
    sendings = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert [s["id"] for s in sendings] == [first.reference] == [again.reference]
    assert again.duplicate
    row = await letter_row(engine, request.idempotency_key)
    assert row.status == "submitted" and row.provider_id == first.reference
