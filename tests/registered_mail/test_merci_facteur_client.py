"""The Merci Facteur client against its sandbox, over real HTTP on loopback: one letter per key
across retries and crashes, statuses and proofs mapped, refusals before and at the provider."""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from PIL import Image
from pypdf import PdfReader

from activities.registered_mail.letter_pdf import render_letter_pdf
from activities.registered_mail.merci_facteur_client import (
    SUPPORTED_COUNTRIES,
    MerciFacteurClient,
    address_object,
    antidoublon,
    internal_reference,
    letter_status,
    map_status,
    merged_status,
    proofs_in,
)
from activities.registered_mail.merci_facteur_settings import WEBHOOK_SECRET_HEADER
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
from inbound.merci_facteur_notifications import parse_form_webhook
from sandboxes.merci_facteur_server import (
    MerciFacteurSandboxHandle,
    MerciFacteurSchedule,
    start_sandbox_merci_facteur,
)
from tests.registered_mail.conftest import eventually
from tests.support.serving import serve

FAST = MerciFacteurSchedule(
    deposit_after=0.3, present_after=0.6, outcome_after=0.9, webhook_retry_delays=(0.2, 0.4)
)
SECRET = "mf-webhook-secret-0123456789"
SENDER = PostalAddress("Créancier Test SAS", ("1 avenue des Tests", "69001 Lyon"))
STREET = ("12 rue de la Paix", "75002 Paris")


def letter(
    name: str = "Durand SARL",
    *,
    lines: tuple[str, ...] = STREET,
    country: str = "FR",
    person: bool = False,
    key: str | None = None,
) -> Letter:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    return Letter(
        idempotency_key=key or f"{case_id}/formal_notice/registered_letter",
        case_id=case_id,
        title="Mise en demeure F-2026-0001",
        recipient=PostalAddress(name, lines, country_code=country, person=person),
        sender=SENDER,
        pdf=render_letter_pdf("Mise en demeure de payer 1 200,00 €.", title="t", reference="r"),
    )


@pytest.fixture
def mf_sandbox() -> Iterator[MerciFacteurSandboxHandle]:
    handle = start_sandbox_merci_facteur(webhook_secret=SECRET, schedule=FAST)
    yield handle
    handle.stop()


@pytest.fixture
async def mf_client(mf_sandbox: MerciFacteurSandboxHandle) -> AsyncIterator[MerciFacteurClient]:
    async with MerciFacteurClient(mf_sandbox.settings()) as client:
        yield client


def envois_with_key(sandbox: MerciFacteurSandboxHandle, key: str) -> list[str]:
    """The sandbox's sendings carrying the key's antidoublon (its own bookkeeping)."""
    wanted = antidoublon(key)
    return [i for i, e in sandbox.sandbox.state.envois.items() if e["antidoublon"] == wanted]


class DiesBeforeStoringTheId(MemoryJournal):
    """The worker "dies" once Merci Facteur created the letter, before its id is stored."""

    async def created(self, provider_id: str) -> None:
        raise ConnectionResetError("worker lost before the envoi id was stored")


# ---- exactly once ------------------------------------------------------------------------------


async def test_a_stored_id_is_not_sent_again(
    mf_client: MerciFacteurClient, mf_sandbox: MerciFacteurSandboxHandle
) -> None:
    mail = letter()
    journal = MemoryJournal()
    first = await mf_client.send(mail, journal)
    assert journal.known_id == first
    assert await mf_client.send(mail, journal) == first
    assert envois_with_key(mf_sandbox, mail.idempotency_key) == [first]
    listed = [str(e["idEnvoi"]) for e in await mf_client.list_envois()]
    assert listed.count(first) == 1
    envoi = await mf_client.get_envoi(first)
    assert envoi["general"]["modeEnvoi"] == "lrare"
    (detail,) = envoi["detail"]
    assert detail["dest"]["societe"] == "Durand SARL" and detail["dest"]["cp"] == "75002"
    suivi = await mf_client.get_suivi(first)
    assert suivi["suiviCourrier"][0]["ref_interne"] == internal_reference(mail.idempotency_key)


async def test_a_crash_after_sending_before_storing_the_id_sends_exactly_once(
    mf_client: MerciFacteurClient, mf_sandbox: MerciFacteurSandboxHandle
) -> None:
    for other in ("Martin SAS", "Petit EURL"):  # other letters in the user's history
        await mf_client.send(letter(other, lines=("3 rue Haute", "13001 Marseille")))
    mail = letter()
    dying = DiesBeforeStoringTheId()
    with pytest.raises(ConnectionResetError):
        await mf_client.send(mail, dying)
    assert dying.maybe_created and dying.known_id is None
    created = envois_with_key(mf_sandbox, mail.idempotency_key)
    assert len(created) == 1, "sendCourrier created and validated it in one call"

    resumed = MemoryJournal(maybe_created=True)  # the retry reads what the row says
    envoi_id = await mf_client.send(mail, resumed)
    assert envoi_id == created[0] == resumed.known_id
    assert envois_with_key(mf_sandbox, mail.idempotency_key) == created, "no second letter"
    assert await mf_client.send(mail, resumed) == envoi_id  # and once stored, nothing more


async def test_a_request_lost_before_reaching_merci_facteur_is_sent_once_on_retry(
    mf_client: MerciFacteurClient, mf_sandbox: MerciFacteurSandboxHandle
) -> None:
    mail = letter()
    after_a_lost_attempt = MemoryJournal(maybe_created=True)
    envoi_id = await mf_client.send(mail, after_a_lost_attempt)
    assert envois_with_key(mf_sandbox, mail.idempotency_key) == [envoi_id]
    assert await mf_client.send(mail) == envoi_id, "no journal: found again, not resent"
    assert envois_with_key(mf_sandbox, mail.idempotency_key) == [envoi_id]


async def test_an_ambiguous_search_is_left_to_an_operator_without_a_second_letter(
    mf_client: MerciFacteurClient, mf_sandbox: MerciFacteurSandboxHandle
) -> None:
    await mf_client.send(letter())  # another case's letter to the same debtor
    mail = letter()
    with pytest.raises(ConnectionResetError):
        await mf_client.send(mail, DiesBeforeStoringTheId())
    with pytest.raises(LetterRejected) as refused:
        await mf_client.send(mail, MemoryJournal(maybe_created=True))
    assert refused.value.code == "SENDING_LOOKUP_INCONCLUSIVE"
    assert internal_reference(mail.idempotency_key) in str(refused.value)
    assert len(envois_with_key(mf_sandbox, mail.idempotency_key)) == 1


# ---- statuses and proofs -------------------------------------------------------------------


async def settled(client: MerciFacteurClient, envoi_id: str) -> LetterStatus:
    return await eventually(
        lambda: client.status(envoi_id),
        lambda s: (
            s.outcome not in (None, "presented")
            and s.provider_status in ("distribue", "retour_are", "archivage_pnd")
        ),
        within=15,
    )


async def test_each_outcome_maps_to_the_case_statuses(mf_client: MerciFacteurClient) -> None:
    names = {
        "Durand SARL": ["delivered"],
        "Martin SAS ABSENT": ["presented", "not_collected"],
        "Bernard SA REFUSE": ["refused"],
        "Petit EURL NPAI": ["wrong_address"],
    }
    sent = {name: await mf_client.send(letter(name)) for name in names}
    early = await mf_client.status(sent["Durand SARL"])
    assert early.events == () and early.anomaly is None and early.proofs_available == ()
    await asyncio.sleep(FAST.outcome_after)
    for name, expected in names.items():
        status = await settled(mf_client, sent[name])
        assert [e.outcome for e in status.events] == expected, name
        assert status.registered_number and status.registered_number.startswith("2C")
        assert status.deposited_at is not None and status.recipient_id
        assert status.anomaly is None and not status.rejected
        if expected == ["wrong_address"]:
            assert status.first_presented_on is None, "a wrong address is never presented"
        else:
            assert status.first_presented_on == status.events[0].on
    delivered = await mf_client.status(sent["Durand SARL"])
    assert delivered.events[0].code == "distribue"
    assert delivered.provider_status == "retour_are", "lrare: the AR scan is the last status"
    assert await mf_client.proofs(sent["Durand SARL"]) == [], "no documented download"


@pytest.mark.parametrize(
    ("code", "description", "outcome"),
    [
        ("attente_au_guichet", "02/12/2026 : avisé", "presented"),
        ("distribue", "02/12/2026 : distribué", "delivered"),
        ("retour_expediteur", "02/12/2026 : retour (pli refusé)", "refused"),
        ("retour_expediteur", "02/12/2026 : retour (pli avisé et non réclamé)", "not_collected"),
        ("retour_expediteur", "14/02/2020 : retourné (adresse incomplète)", "wrong_address"),
        ("distribue_expediteur", "02/12/2026 : Distribué à l'expéditeur", "wrong_address"),
        ("non_distribuable", "02/12/2026 : non distribuable", "wrong_address"),
        ("accepted", "02/12/2026 : accepté", "delivered"),
        ("expired", "02/12/2026 : expiré", "not_collected"),
        ("refused", "02/12/2026 : refusé", "refused"),
        ("distribution_en_cours", "02/12/2026 : en cours", None),
        ("pris_en_charge", "02/12/2026 : remis", None),
        ("probleme_en_cours", "02/12/2026 : problème", None),
    ],
)
def test_the_published_status_codes_map(code: str, description: str, outcome: str | None) -> None:
    assert map_status(code, description) == outcome


def test_unusual_statuses_and_undated_ones() -> None:
    body = {
        "success": True,
        "statutPrintEnvoi": "imprime",
        "suiviCourrier": {
            "1-2": [
                {"ref_courrier": "1-2", "statut_courrier": "envoye", "statut_description": "x"},
                {
                    "ref_courrier": "1-2",
                    "statut_courrier": "accept_notification_error",
                    "statut_description": "03/12/2026 : e-mail en erreur",
                },
                {"ref_courrier": "1-2", "statut_courrier": "distribue", "statut_description": ""},
            ]
        },
    }
    status = letter_status("77", body)
    assert status.anomaly is LetterAnomaly.RECIPIENT_REJECTED and status.rejected
    assert "accept_notification_error" in status.anomaly_detail
    assert status.events == (), "a status without a date is not dated today"
    assert status.provider_status == "distribue" and status.recipient_id == "1-2"


def test_a_webhook_adds_its_dated_status_and_the_readme_style_pdf_ar() -> None:
    pdf = render_letter_pdf("AR", title="AR", reference="2C1")
    detail = {
        "ref_courrier": "1-2",
        "id_envoi": "77",
        "statut_courrier": "retour_are",
        "statut_description": "14/02/2020 : Retour de l'AR",
        "are_base64_jpeg": base64.b64encode(pdf).decode(),  # the README's example is a PDF
        "tracking_number": "2C1",
    }
    merged = merged_status(LetterStatus("77", "wait"), detail, {"name_event": "are"})
    assert merged.proofs_available == ("acknowledgement_of_receipt",)
    assert merged.registered_number == "2C1"
    (proof,) = proofs_in(detail, "are")
    assert proof.media_type == "application/pdf" and proof.content == pdf
    presented = {
        "ref_courrier": "1-2",
        "statut_courrier": "attente_au_guichet",
        "statut_description": "",
    }
    when = {"name_event": "new-state", "date_event": 1581674000}  # the README's example
    (event,) = merged_status(LetterStatus("77", "wait"), presented, when).events
    assert event.outcome == "presented" and event.on.isoformat() == "2020-02-14"


async def test_the_proofs_come_by_webhook_with_the_secret(
    mf_client: MerciFacteurClient, mf_sandbox: MerciFacteurSandboxHandle
) -> None:
    received: list[tuple[str | None, list[tuple[str, str]]]] = []
    hooks = FastAPI()

    @hooks.post("/hook")
    async def hook(request: Request) -> dict[str, bool]:
        form = await request.form(max_part_size=64 * 1024 * 1024)
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        received.append((request.headers.get(WEBHOOK_SECRET_HEADER), pairs))
        return {"ok": True}

    async with serve(hooks) as base:
        mf_sandbox.set_webhook_url(f"{base}/hook")
        mail = letter()
        envoi_id = await mf_client.send(mail)

        def events() -> list[str]:
            return [str(parse_form_webhook(p)[0]["name_event"]) for _, p in received]

        async def probe() -> list[str]:
            return events()

        await eventually(probe, lambda names: {"pdd", "are"} <= set(names), within=15)
    assert all(secret == SECRET for secret, _ in received)
    by_event: dict[str, dict[str, Any]] = {}
    for _, pairs in received:
        event, details = parse_form_webhook(pairs)
        by_event[str(event["name_event"])] = details[0]
        assert details[0]["id_envoi"] == envoi_id
        assert details[0]["ref_interne"] == internal_reference(mail.idempotency_key)
    assert {"new", "printed", "new-state", "pdd", "delivered", "are"} <= set(by_event)
    assert "tracking_number" not in by_event["new"]

    (deposit,) = proofs_in(by_event["pdd"], "pdd")
    assert deposit.kind == "deposit_proof" and deposit.media_type == "application/pdf"
    text = PdfReader(io.BytesIO(deposit.content)).pages[0].extract_text()
    assert "PREUVE DE DÉPÔT" in text and by_event["pdd"]["tracking_number"] in text
    assert mail.pdf_sha256 in text.replace("\n", "")
    (receipt,) = proofs_in(by_event["are"], "are")
    assert receipt.kind == "acknowledgement_of_receipt" and receipt.media_type == "image/jpeg"
    assert Image.open(io.BytesIO(receipt.content)).format == "JPEG"
    assert deposit.source.startswith("webhook:pdd:pdd_base64_pdf:")

    current = await mf_client.status(envoi_id)
    merged = merged_status(current, by_event["are"], {"name_event": "are"})
    assert set(merged.proofs_available) == {"acknowledgement_of_receipt"}


# ---- refusals and errors ---------------------------------------------------------------------


async def test_an_unsupported_country_is_refused_before_any_call(
    mf_sandbox: MerciFacteurSandboxHandle,
) -> None:
    calls: list[str] = []

    async def count(request: httpx.Request) -> None:
        calls.append(str(request.url))

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        client = MerciFacteurClient(mf_sandbox.settings(), http=http)
        for country in ("BE", "DE", "MC"):
            with pytest.raises(UnsupportedCountry) as refused:
                await client.send(
                    letter(lines=("Rue de la Loi 16", "1000 Bruxelles"), country=country)
                )
            assert refused.value.country_code == country
            assert refused.value.supported == SUPPORTED_COUNTRIES
        with pytest.raises(LetterRejected) as too_long:
            await client.send(letter("X" * 91))
        assert too_long.value.code == "ADDRESS_SOCIETE_TOO_LONG"
        with pytest.raises(LetterRejected) as no_postcode:
            await client.send(letter(lines=("12 rue de la Paix", "Paris")))
        assert no_postcode.value.code == "ADDRESS_POSTAL_LINE_INVALID"
    assert calls == []
    assert {"RE", "GP", "MQ", "GF", "YT", "PM"} <= SUPPORTED_COUNTRIES


def test_a_private_person_goes_in_nom_and_a_company_in_societe() -> None:
    person = address_object(PostalAddress("Jean Dupont", STREET, person=True))
    company = address_object(PostalAddress("Durand SARL", ("Bât. B", *STREET)))
    assert (person["nom"], person["societe"]) == ("Jean Dupont", "")
    assert (company["nom"], company["societe"]) == ("", "Durand SARL")
    assert company["adresse1"] == "Bât. B" and company["adresse2"] == "12 rue de la Paix"
    assert (company["cp"], company["ville"], company["pays"]) == ("75002", "Paris", "FRANCE")
    reunion = address_object(PostalAddress("X", ("1 rue Y", "97400 Saint-Denis"), "RE"))
    assert reunion["pays"] == "REUNION"


async def test_a_refusal_by_merci_facteur_is_letter_rejected(
    mf_client: MerciFacteurClient, mf_sandbox: MerciFacteurSandboxHandle
) -> None:
    mail = letter("Durand SARL REJET")
    journal = MemoryJournal()
    with pytest.raises(LetterRejected) as refused:
        await mf_client.send(mail, journal)
    assert refused.value.code == "DEST_REFUSED"
    assert not isinstance(refused.value, UnsupportedCountry)
    assert envois_with_key(mf_sandbox, mail.idempotency_key) == []
    assert journal.known_id is None


async def test_credentials_and_reachability_problems_are_retryable(
    mf_sandbox: MerciFacteurSandboxHandle, mf_client: MerciFacteurClient
) -> None:
    wrong = MerciFacteurClient(mf_sandbox.settings(secret_key="not-the-secret"))
    with pytest.raises(RegisteredMailError) as bad_key:
        await wrong.send(letter())
    assert not isinstance(bad_key.value, LetterRejected) and "401" in str(bad_key.value)
    await wrong.aclose()
    other_ip = MerciFacteurClient(mf_sandbox.settings(authorized_ips="10.9.8.7"))
    with pytest.raises(RegisteredMailError) as not_allowed:
        await other_ip.status("1")
    assert "IP_NOT_AUTHORIZED" in str(not_allowed.value)
    await other_ip.aclose()
    closed = MerciFacteurClient(mf_sandbox.settings(base_url="http://127.0.0.1:9/api"))
    with pytest.raises(RegisteredMailError) as unreachable:
        await closed.send(letter())
    assert not isinstance(unreachable.value, LetterRejected)
    await closed.aclose()

    envoi_id = await mf_client.send(letter())
    mf_sandbox.sandbox.forget_tokens()  # 24 h later: the stored token is refused, renewed once
    assert (await mf_client.status(envoi_id)).provider_id == envoi_id
    with pytest.raises(RegisteredMailError):
        await mf_client.status("999")  # unknown envoi: not a refusal of a letter
