"""The Maileva client against the sandbox: idempotent sendings, the schedule, the proofs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid

import pytest
from pypdf import PdfReader

from activities.registered_mail.letter_pdf import render_letter_pdf
from activities.registered_mail.maileva_client import (
    MailevaClient,
    address_lines,
    custom_id_for,
    map_main_delivery_status,
)
from activities.registered_mail.provider import (
    Letter,
    LetterRejected,
    LetterStatus,
    PostalAddress,
    RegisteredMailError,
)
from sandboxes import SandboxHandle, start_sandbox_registered_mail
from tests.registered_mail.conftest import FAST, SECRET, eventually

SENDER = PostalAddress("Créancier Test SAS", ("1 avenue des Tests", "69001 Lyon"))


def letter(name: str = "Durand SARL", key: str | None = None) -> Letter:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    return Letter(
        idempotency_key=key or f"{case_id}/formal_notice/registered_letter",
        case_id=case_id,
        title="Mise en demeure F-2026-0001",
        recipient=PostalAddress(name, ("12 rue de la Paix", "75002 Paris")),
        sender=SENDER,
        pdf=render_letter_pdf("Mise en demeure de payer 1 200,00 €.", title="t", reference="r"),
    )


async def sendings_with_key(client: MailevaClient, key: str) -> list[dict[str, object]]:
    response = await client._call("GET", "/sendings", params={"count": 500})
    wanted = custom_id_for(key)
    return [s for s in response.json()["sendings"] if s["custom_id"] == wanted]


async def test_create_and_submit_twice_with_the_same_key_makes_one_sending(
    mail_client: MailevaClient,
) -> None:
    mail = letter()
    first = await mail_client.send(mail)
    second = await mail_client.send(mail)
    assert first == second
    sendings = await sendings_with_key(mail_client, mail.idempotency_key)
    assert [s["id"] for s in sendings] == [first]
    assert sendings[0]["status"] in ("PENDING", "ACCEPTED", "PROCESSED")
    assert sendings[0]["documents_count"] == 1
    assert sendings[0]["acknowledgement_of_receipt"] is True
    documents = await mail_client.list_documents(first)
    assert documents[0]["name"] == "mise-en-demeure.pdf" and documents[0]["priority"] == 1
    recipients = await mail_client.list_recipients(first)
    assert len(recipients) == 1
    assert recipients[0]["address_line_1"] == "Durand SARL"
    assert recipients[0]["address_line_4"] == "12 rue de la Paix"
    assert recipients[0]["address_line_6"] == "75002 Paris"


async def test_the_idempotency_header_alone_returns_the_same_sending(
    sandbox: SandboxHandle,
) -> None:
    settings = sandbox.settings().model_copy(update={"lookup_before_create": False})
    async with MailevaClient(settings) as client:
        mail = letter()
        created = await client.create_sending(mail)
        again = await client.create_sending(mail)
        assert created["id"] == again["id"]
        assert await client.send(mail) == created["id"]
        assert len(await sendings_with_key(client, mail.idempotency_key)) == 1


async def test_the_custom_id_lookup_covers_a_provider_ignoring_the_header() -> None:
    handle = start_sandbox_registered_mail(
        secret=SECRET, schedule=FAST, honour_idempotency_key=False
    )
    try:
        async with MailevaClient(handle.settings()) as client:
            mail = letter()
            ids = {await client.send(mail) for _ in range(3)}
            assert len(ids) == 1
            assert len(await sendings_with_key(client, mail.idempotency_key)) == 1
    finally:
        handle.stop()


async def test_status_moves_on_schedule_and_proofs_are_downloadable_and_hashed(
    mail_client: MailevaClient,
) -> None:
    mail = letter()
    sending_id = await mail_client.send(mail)
    early = await mail_client.status(sending_id)
    assert early.events == () and early.proofs_available == ()

    def presented(status: LetterStatus) -> bool:
        return status.outcome is not None

    status = await eventually(lambda: mail_client.status(sending_id), presented)
    assert status.events[0].outcome == "presented"
    assert status.events[0].code == "LP09"
    assert status.first_presented_on == status.events[0].on
    assert status.registered_number and status.deposited_at is not None
    assert "deposit_proof" in status.proofs_available

    final = await eventually(
        lambda: mail_client.status(sending_id), lambda s: s.outcome == "delivered"
    )
    assert [e.outcome for e in final.events] == ["presented", "delivered"]
    assert final.proofs_available == ("deposit_proof", "acknowledgement_of_receipt")

    proofs = {p.kind: p for p in await mail_client.proofs(sending_id)}
    assert set(proofs) == {"deposit_proof", "acknowledgement_of_receipt"}
    for proof in proofs.values():
        assert proof.media_type == "application/pdf"
        assert proof.sha256 == hashlib.sha256(proof.content).hexdigest()
        text = PdfReader(io.BytesIO(proof.content)).pages[0].extract_text()
        assert final.registered_number is not None and final.registered_number in text
    deposit = PdfReader(io.BytesIO(proofs["deposit_proof"].content)).pages[0].extract_text()
    assert "PREUVE DE DÉPÔT" in deposit
    assert mail.pdf_sha256 in deposit.replace("\n", "")


async def test_each_outcome_follows_the_recipient_name_rule(mail_client: MailevaClient) -> None:
    names = {
        "Durand SARL": ["presented", "delivered"],
        "Martin SAS ABSENT": ["presented", "not_collected"],
        "Bernard SA REFUSE": ["presented", "refused"],
        "Petit EURL NPAI": ["wrong_address"],
    }
    sent = {name: await mail_client.send(letter(name)) for name in names}
    await asyncio.sleep(FAST.outcome_after)

    async def settled(sending_id: str) -> LetterStatus:
        return await eventually(
            lambda: mail_client.status(sending_id),
            lambda s: s.outcome not in (None, "presented"),
        )

    for name, expected in names.items():
        status = await settled(sent[name])
        assert [e.outcome for e in status.events] == expected, name
        if expected == ["wrong_address"]:
            assert status.first_presented_on is None, "a wrong address is never presented"
        else:
            assert status.first_presented_on == status.events[0].on


async def test_wrong_credentials_are_a_provider_error(sandbox: SandboxHandle) -> None:
    settings = sandbox.settings().model_copy(update={"password": "wrong"})
    async with MailevaClient(settings) as client:
        with pytest.raises(RegisteredMailError, match="401"):
            await client.send(letter())


async def test_the_sandbox_refuses_what_maileva_refuses(mail_client: MailevaClient) -> None:
    draft = await mail_client.create_sending(letter())
    sending_id = str(draft["id"])
    with pytest.raises(LetterRejected) as bad_city:
        await mail_client._call(
            "POST",
            f"/sendings/{sending_id}/recipients",
            ok=(201,),
            json={"address_line_1": "Durand SARL", "address_line_6": "Paris", "country_code": "FR"},
        )
    assert bad_city.value.code == "INVALID_ADDRESS_LINE_6"
    with pytest.raises(LetterRejected) as empty:
        await mail_client.submit(sending_id)
    assert empty.value.code == "EMPTY_DOCUMENT"
    with pytest.raises(RegisteredMailError, match="SENDING_NOT_FOUND"):
        await mail_client.get_sending("no-such-sending")


def test_addresses_map_to_the_six_maileva_lines() -> None:
    fields = address_lines(
        PostalAddress(
            "Société Anonyme des Établissements Durand et Fils",
            ("Bâtiment B", "12 rue de la Paix", "BP 12", "75002 Paris"),
        )
    )
    assert fields == {
        "address_line_1": "Société Anonyme des Établissements",
        "address_line_2": "Durand et Fils",
        "address_line_3": "Bâtiment B",
        "address_line_4": "12 rue de la Paix",
        "address_line_5": "BP 12",
        "address_line_6": "75002 Paris",
        "country_code": "FR",
    }
    with pytest.raises(LetterRejected) as no_postcode:
        address_lines(PostalAddress("Durand", ("12 rue de la Paix", "Paris")))
    assert no_postcode.value.code == "INVALID_ADDRESS_LINE_6"
    with pytest.raises(LetterRejected):
        address_lines(PostalAddress("Durand", ("x" * 39, "75002 Paris")))


@pytest.mark.parametrize(
    ("category", "code", "reason", "expected"),
    [
        ("FIRST_PRESENTATION", "LP09", "", "presented"),
        ("FIRST_PRESENTATION", "LP08", "", "presented"),
        ("DELIVERED", "LP15", "", "delivered"),
        ("DELIVERED", "LP17", "", None),
        ("UNDELIVERED", "LP19", "", "not_collected"),
        ("UNDELIVERED", "LP22", "", "refused"),
        ("UNDELIVERED", "LP20", "", "wrong_address"),
        ("UNDELIVERED", "LP21", "N02", "wrong_address"),
        ("UNDELIVERED", "LP00", "N03", "not_collected"),
        ("UNDELIVERED", "LP00", "N05", "refused"),
        ("UNDELIVERED", "LP00", "", "wrong_address"),
        ("DELIVERING", "LP03", "", None),
    ],
)
def test_main_delivery_statuses_map_to_case_statuses(
    category: str, code: str, reason: str, expected: str | None
) -> None:
    assert map_main_delivery_status(category, code, reason) == expected
