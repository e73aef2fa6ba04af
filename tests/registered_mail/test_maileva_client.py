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
    SUPPORTED_COUNTRIES,
    MailevaClient,
    address_lines,
    map_main_delivery_status,
    recipient_custom_id,
    sending_custom_id,
)
from activities.registered_mail.provider import (
    Letter,
    LetterAnomaly,
    LetterRejected,
    LetterStatus,
    MemoryJournal,
    PostalAddress,
    RegisteredMailError,
    UnsupportedCountry,
)
from activities.registered_mail.settings import RegisteredMailSettings
from sandboxes import SandboxHandle
from tests.registered_mail.conftest import FAST, eventually

SENDER = PostalAddress("Créancier Test SAS", ("1 avenue des Tests", "69001 Lyon"))


def letter(
    name: str = "Durand SARL", key: str | None = None, country: str = "FR", person: bool = False
) -> Letter:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    return Letter(
        idempotency_key=key or f"{case_id}/formal_notice/registered_letter",
        case_id=case_id,
        title="Mise en demeure F-2026-0001",
        recipient=PostalAddress(
            name, ("12 rue de la Paix", "75002 Paris"), country_code=country, person=person
        ),
        sender=SENDER,
        pdf=render_letter_pdf("Mise en demeure de payer 1 200,00 €.", title="t", reference="r"),
    )


async def sendings_with_key(client: MailevaClient, key: str) -> list[dict[str, object]]:
    response = await client.call("GET", "/sendings", params={"count": 500})
    wanted = sending_custom_id(key)
    return [s for s in response.json()["sendings"] if s.get("custom_id") == wanted]


class DiesBeforeStoringTheId(MemoryJournal):
    """A journal whose process "dies" once the provider created the sending, before its id
    could be stored."""

    async def created(self, provider_id: str) -> None:
        raise ConnectionResetError("worker lost before the sending id was stored")


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


async def test_a_stored_sending_id_is_resumed_without_searching_the_list(
    mail_client: MailevaClient,
) -> None:
    mail = letter()
    journal = MemoryJournal()
    first = await mail_client.send(mail, journal)
    assert journal.known_id == first
    assert await mail_client.send(mail, journal) == first
    assert len(await sendings_with_key(mail_client, mail.idempotency_key)) == 1


async def test_a_death_between_creation_and_storing_the_id_is_recovered_by_custom_id(
    mail_client: MailevaClient,
) -> None:
    for _ in range(4):  # other sendings, so the search has pages to read
        await mail_client.create_sending(letter())
    mail = letter()
    dying = DiesBeforeStoringTheId()
    with pytest.raises(ConnectionResetError):
        await mail_client.send(mail, dying)
    assert dying.maybe_created and dying.known_id is None
    found = await mail_client.find_sending(sending_custom_id(mail.idempotency_key), page_size=2)
    assert found is not None and found["status"] == "DRAFT"
    resumed = MemoryJournal(maybe_created=True)
    sending_id = await mail_client.send(mail, resumed)
    assert sending_id == found["id"] == resumed.known_id
    assert [s["id"] for s in await sendings_with_key(mail_client, mail.idempotency_key)] == [
        sending_id
    ]
    assert len(await mail_client.list_documents(sending_id)) == 1


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
    assert final.proofs_available == (
        "deposit_proof",
        "content_proof",
        "acknowledgement_of_receipt",
    )
    assert final.anomaly is None and not final.rejected

    proofs = {p.kind: p for p in await mail_client.proofs(sending_id)}
    assert set(proofs) == {"deposit_proof", "content_proof", "acknowledgement_of_receipt"}
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
        if expected[-1] != "delivered":
            assert "undelivered_mail" in status.proofs_available, "the return is scanned"
    scan = [
        p for p in await mail_client.proofs(sent["Petit EURL NPAI"]) if p.kind == "undelivered_mail"
    ]
    assert scan and scan[0].content.startswith(b"%PDF")


async def test_unusual_statuses_are_classified_for_an_operator(
    mail_client: MailevaClient,
) -> None:
    expected = {
        "Durand SARL REJET": (LetterAnomaly.REJECTED, "REJECTED"),
        "Durand SARL BLOQUE": (LetterAnomaly.BLOCKED, "BLOCKED"),
        "Durand SARL ERREUR": (LetterAnomaly.RECIPIENT_REJECTED, "PROCESSED_WITH_ERRORS"),
    }
    sent = {name: await mail_client.send(letter(name)) for name in expected}
    for name, (anomaly, provider_status) in expected.items():
        status = await eventually(
            lambda sid=sent[name]: mail_client.status(sid),
            lambda s, ps=provider_status: s.provider_status == ps,
        )
        assert status.anomaly is anomaly, name
        assert status.provider_status == provider_status
        assert status.rejected is anomaly.final
        assert provider_status in status.anomaly_detail
        assert status.events == ()
    assert not LetterAnomaly.BLOCKED.final and "autorisation financière" in (
        LetterAnomaly.BLOCKED.reason
    )


async def test_wrong_credentials_are_a_provider_error(sandbox: SandboxHandle) -> None:
    settings = sandbox.settings().model_copy(update={"password": "wrong"})
    async with MailevaClient(settings) as client:
        with pytest.raises(RegisteredMailError, match="401"):
            await client.send(letter())


async def test_the_sandbox_refuses_what_maileva_refuses(mail_client: MailevaClient) -> None:
    draft = await mail_client.create_sending(letter())
    sending_id = str(draft["id"])
    with pytest.raises(LetterRejected) as bad_city:
        await mail_client.call(
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


def test_a_private_person_is_named_on_line_2_and_a_company_on_line_1() -> None:
    person = address_lines(
        PostalAddress("M. Jean Dupont", ("12 rue de la Paix", "75002 Paris"), person=True)
    )
    assert person["address_line_2"] == "M. Jean Dupont" and "address_line_1" not in person
    company = address_lines(PostalAddress("Durand SARL", ("12 rue de la Paix", "75002 Paris")))
    assert company["address_line_1"] == "Durand SARL" and "address_line_2" not in company
    with pytest.raises(LetterRejected) as too_long:
        address_lines(PostalAddress("x " * 20, ("12 rue de la Paix", "75002 Paris"), person=True))
    assert too_long.value.code == "ADDRESS_LINE_2_TOO_LONG"


async def test_a_country_maileva_does_not_serve_is_refused_before_any_call(
    mail_client: MailevaClient,
) -> None:
    assert "RE" in SUPPORTED_COUNTRIES and "BE" not in SUPPORTED_COUNTRIES
    mail = letter(country="BE")
    with pytest.raises(UnsupportedCountry) as refused:
        await mail_client.send(mail)
    assert refused.value.code == "UNSUPPORTED_COUNTRY" and refused.value.country_code == "BE"
    assert await sendings_with_key(mail_client, mail.idempotency_key) == []
    overseas = letter(country="RE")  # La Réunion: served
    assert await mail_client.send(overseas)


def test_custom_ids_fit_the_documented_lengths_and_are_deterministic() -> None:
    key = "case-0123456789ab/formal_notice/registered_letter"
    assert len(sending_custom_id(key)) == 38 and len(recipient_custom_id(key)) == 36
    assert sending_custom_id(key) == sending_custom_id(key)
    assert sending_custom_id(key) != sending_custom_id(key.replace("formal", "other"))
    assert recipient_custom_id(key) == sending_custom_id(key)[:36]


def test_the_token_endpoint_defaults_to_maileva_connexion_hosts() -> None:
    sandbox = RegisteredMailSettings(REGISTERED_MAIL_PROVIDER_URL="https://api.sandbox.maileva.net")
    live = RegisteredMailSettings(REGISTERED_MAIL_PROVIDER_URL="https://api.maileva.com")
    path = "/auth/realms/services/protocol/openid-connect/token"
    assert sandbox.token_url == "https://connexion.sandbox.maileva.net" + path
    assert live.token_url == "https://connexion.maileva.com" + path
    other = RegisteredMailSettings(REGISTERED_MAIL_PROVIDER_URL="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="REGISTERED_MAIL_AUTH_URL"):
        _ = other.token_url


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
