"""`send_registered_letter` with a provider: recorded, posted once, retried safely."""

from __future__ import annotations

import io
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities, reference_for
from activities.channel_requests import ChannelReceipt, ChannelRequest, Recipient
from activities.registered_mail.dispatch import build_letter
from activities.registered_mail.maileva_client import MailevaClient, sending_custom_id
from activities.registered_mail.provider import Letter, LetterStatus, Proof, SendJournal
from storage.tables import (
    channel_outbox,
    registered_letter_proofs,
    registered_letters,
    registered_mail_events,
)
from tests.registered_mail.conftest import formal_notice
from tests.support.schema import schema_differences


class WorkerDiesAfterTheProviderAccepts:
    """The real client; the worker "dies" right after the provider accepted the letter,
    before anything could be stored."""

    name = "maileva"

    def __init__(self, client: MailevaClient) -> None:
        self._client = client

    async def send(self, letter: Letter, journal: SendJournal | None = None) -> str:
        await self._client.send(letter, journal)
        raise ConnectionResetError("worker lost after the provider accepted the letter")

    async def status(self, provider_id: str) -> LetterStatus:
        return await self._client.status(provider_id)

    async def proofs(self, provider_id: str) -> list[Proof]:
        return await self._client.proofs(provider_id)


class LosesTheId:
    """A journal that "dies" once the provider created the sending, before its id is
    stored: the narrowest crash window, only a search by custom_id can close it."""

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
        raise ConnectionResetError("worker lost before the sending id was stored")


class WorkerDiesBeforeStoringTheId(WorkerDiesAfterTheProviderAccepts):
    async def send(self, letter: Letter, journal: SendJournal | None = None) -> str:
        assert journal is not None
        return await self._client.send(letter, LosesTheId(journal))


def new_case() -> str:
    return f"case-{uuid.uuid4().hex[:12]}"


async def run(activities: ChannelActivities, request: ChannelRequest) -> ChannelReceipt:
    return await ActivityEnvironment().run(activities.send_registered_letter, request)


async def sendings_at_sandbox(client: MailevaClient, key: str) -> list[str]:
    response = await client.call("GET", "/sendings", params={"count": 500})
    wanted = sending_custom_id(key)
    return [s["id"] for s in response.json()["sendings"] if s.get("custom_id") == wanted]


async def letter_row(engine: AsyncEngine, key: str) -> object:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(registered_letters).where(registered_letters.c.idempotency_key == key)
            )
        ).one()


async def test_the_letter_is_recorded_then_posted_and_the_reference_is_the_sending_id(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    request = formal_notice(new_case())
    activities = ChannelActivities(engine, registered_mail=mail_client)
    receipt = await run(activities, request)
    sendings = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert receipt.reference == sendings[0] and len(sendings) == 1
    assert not receipt.duplicate
    assert "maileva" in receipt.summary and "Durand SARL" in receipt.summary
    row = await letter_row(engine, request.idempotency_key)
    assert row.provider == "maileva" and row.provider_id == receipt.reference  # type: ignore[attr-defined]
    assert row.status == "submitted" and row.case_id == request.case_id  # type: ignore[attr-defined]
    assert [h["status"] for h in row.status_history] == [  # type: ignore[attr-defined]
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
    assert outbox.reference == reference_for(request.idempotency_key), "the outbox row stays"
    uploaded = build_letter(request, outbox)
    assert row.document_sha256 == uploaded.pdf_sha256  # type: ignore[attr-defined]
    text = PdfReader(io.BytesIO(uploaded.pdf)).pages[0].extract_text()
    assert "Durand SARL" in text and "mise en demeure" in text.lower()

    again = await run(activities, request)
    assert again.reference == receipt.reference
    assert again.duplicate, "the second call posts nothing"
    assert len(await sendings_at_sandbox(mail_client, request.idempotency_key)) == 1


async def test_a_retry_after_the_worker_died_once_the_provider_accepted_posts_nothing_more(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    request = formal_notice(new_case())
    crashing = ChannelActivities(
        engine, registered_mail=WorkerDiesAfterTheProviderAccepts(mail_client)
    )
    with pytest.raises(ConnectionResetError):
        await run(crashing, request)
    accepted = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert len(accepted) == 1, "the provider accepted the letter before the crash"
    row = await letter_row(engine, request.idempotency_key)
    assert row.provider_id == accepted[0], "the id was stored before the letter was submitted"  # type: ignore[attr-defined]
    assert row.status == "created"  # type: ignore[attr-defined]

    healthy = ChannelActivities(engine, registered_mail=mail_client)
    first_retry = await run(healthy, request)
    second_retry = await run(healthy, request)
    assert first_retry.reference == second_retry.reference == accepted[0]
    assert await sendings_at_sandbox(mail_client, request.idempotency_key) == accepted
    row = await letter_row(engine, request.idempotency_key)
    assert row.provider_id == accepted[0] and row.status == "submitted"  # type: ignore[attr-defined]


async def test_a_death_before_the_id_is_stored_is_recovered_by_its_custom_id(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    request = formal_notice(new_case())
    crashing = ChannelActivities(engine, registered_mail=WorkerDiesBeforeStoringTheId(mail_client))
    with pytest.raises(ConnectionResetError):
        await run(crashing, request)
    drafts = await sendings_at_sandbox(mail_client, request.idempotency_key)
    assert len(drafts) == 1, "the provider created the sending before the crash"
    row = await letter_row(engine, request.idempotency_key)
    assert row.provider_id is None and row.status == "creating"  # type: ignore[attr-defined]

    receipt = await run(ChannelActivities(engine, registered_mail=mail_client), request)
    assert receipt.reference == drafts[0]
    assert await sendings_at_sandbox(mail_client, request.idempotency_key) == drafts
    sending = await mail_client.get_sending(drafts[0])
    assert sending["status"] != "DRAFT" and sending["documents_count"] == 1


async def test_a_consumer_is_named_on_address_line_2(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    person = Recipient(name="M. Jean Dupont", address_lines=["12 rue de la Paix", "75002 Paris"])
    request = formal_notice(new_case(), person, debtor_kind="consumer")
    receipt = await run(ChannelActivities(engine, registered_mail=mail_client), request)
    recipient = (await mail_client.list_recipients(receipt.reference))[0]
    assert recipient["address_line_2"] == "M. Jean Dupont"
    assert "address_line_1" not in recipient


async def test_a_country_the_provider_does_not_serve_is_a_typed_refusal(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    abroad = Recipient(name="Dupont SPRL", address_lines=["Rue Neuve 1", "1000 Bruxelles"])
    request = formal_notice(new_case(), abroad, debtor_country="BE")
    with pytest.raises(ApplicationError) as caught:
        await run(ChannelActivities(engine, registered_mail=mail_client), request)
    assert caught.value.type == "UnsupportedCountry" and caught.value.non_retryable
    assert caught.value.details[0]["country"] == "BE"
    assert "FR" in caught.value.details[0]["supported"]
    assert await sendings_at_sandbox(mail_client, request.idempotency_key) == []
    row = await letter_row(engine, request.idempotency_key)
    assert row.status == "refused"  # type: ignore[attr-defined]
    assert row.status_history[-1]["code"] == "UnsupportedCountry"  # type: ignore[attr-defined]


async def test_without_a_provider_the_letter_is_only_recorded(engine: AsyncEngine) -> None:
    request = formal_notice(new_case())
    receipt = await run(ChannelActivities(engine), request)
    assert receipt.reference == reference_for(request.idempotency_key)
    async with engine.connect() as conn:
        rows = await conn.scalar(
            select(func.count())
            .select_from(registered_letters)
            .where(registered_letters.c.case_id == request.case_id)
        )
    assert rows == 0


async def test_an_address_the_provider_cannot_take_fails_for_good(
    engine: AsyncEngine, mail_client: MailevaClient
) -> None:
    nowhere = Recipient(name="Durand SARL", address_lines=["12 rue de la Paix", "Paris"])
    request = formal_notice(new_case(), nowhere)
    with pytest.raises(ApplicationError) as caught:
        await run(ChannelActivities(engine, registered_mail=mail_client), request)
    assert caught.value.type == "InvalidRecipient"
    assert caught.value.non_retryable
    assert await sendings_at_sandbox(mail_client, request.idempotency_key) == []


async def test_the_table_objects_match_migration_0005(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (
            await conn.run_sync(
                schema_differences,
                registered_letters,
                registered_letter_proofs,
                registered_mail_events,
            )
            == []
        )
