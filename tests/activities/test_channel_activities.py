"""The non-email channels: each records its French document once per idempotency key."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.channel_activities import ChannelActivities, reference_for
from activities.channel_requests import (
    ChannelName,
    ChannelReceipt,
    ChannelRequest,
    PartnerKind,
    Recipient,
)
from activities.channel_templates import RECIPIENT_KEYS, TEMPLATE_KEYS, template_keys
from activities.letter_layout.document import LetterDocument, document_from_json
from activities.letter_layout.stored import printed_pdf
from storage.tables import channel_outbox
from tests.support.schema import schema_differences

DEBTOR = Recipient(
    name="Durand SARL",
    email="compta@durand.example",
    address_lines=["12 rue de la Paix", "75002 Paris"],
)
SMALL_CLAIMS_COMMISSAIRE = Recipient(
    name="Me Claire Martin", address_lines=["3 place Bellecour", "69002 Lyon"]
)
ENFORCEMENT_COMMISSAIRE = Recipient(
    name="Me Paul Bernard", address_lines=["8 boulevard Haussmann", "75009 Paris"]
)
AGENCY = Recipient(
    name="Recouvrement Amiable Conseil", address_lines=["5 rue Neuve", "33000 Bordeaux"]
)
COURT = Recipient(
    name="Monsieur le Président du tribunal de commerce de Paris",
    address_lines=["1 quai de la Corse", "75004 Paris"],
)
MANDATAIRE = Recipient(
    name="Me Sophie Leroy, mandataire judiciaire",
    address_lines=["20 rue de Rivoli", "75004 Paris"],
)

BUSINESS_CONTEXT: dict[str, str] = {
    "creditor_name": "Créancier Test SAS",
    "creditor_address": "1 avenue des Tests\n69001 Lyon",
    "document_date": "05/12/2026",
    "invoice_number": "F-2026-0001",
    "issue_date": "01/10/2026",
    "due_date": "31/10/2026",
    "debtor_kind": "business",
    "debtor_name": "Durand SARL (SIREN 732 829 320)",
    "debtor_address": "12 rue de la Paix\n75002 Paris",
    "principal": "1 200,00 €",
    "paid": "200,00 €",
    "balance": "1 000,00 €",
    "penalties": "12,40 €",
    "indemnity": "40,00 €",
    "total": "1 052,40 €",
    "claimed": "1 012,40 €",
    "payment_instructions": "par virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189",
    "deadline_days": "8",
    "contact_phone": "01 23 45 67 89",
    "claim_basis": "maintenance informatique, bon de commande BC-12 du 01/09/2026",
    "notice_date": "20/11/2026",
    "title_description": "accord valant titre exécutoire du 15/01/2027",
    "small_claims_issuer": "Me Claire Martin",
    "proceeding": "redressement judiciaire ouvert par jugement du tribunal de commerce de Paris "
    "du 02/03/2027",
    "publication_date": "10/03/2027",
    "declaration_deadline": "10/05/2027",
    "failed_step": "Mise en demeure (LRAR)",
    "failure": "RegisteredMailRefused: adresse incomplète",
    "retry_path": "/v1/cases/case-1/steps/formal_notice/retry",
    "letter_reference": "5f1c2d3e-0000-4000-8000-000000000001",
    "letter_reason": "le prestataire a rejeté l'envoi recommandé : il ne partira pas",
    "letter_detail": "REJECTED: Document non conforme",
    "letter_final": "yes",
    "invoice_count": "2",
    "invoice_lines": "- Facture n° F-2026-0001 du 01/10/2026, échue le 31/10/2026 : principal "
    "1 200,00 €, solde 1 000,00 € ; total 1 052,40 €\n- Facture n° F-2026-0002 du "
    "02/10/2026, échue le 01/11/2026 : principal 600,00 €, solde 600,00 € ; total 640,00 €",
    "grand_total": "1 692,40 €",
}

CONSUMER_CONTEXT: dict[str, str] = {
    **BUSINESS_CONTEXT,
    "debtor_kind": "consumer",
    "debtor_name": "M. Jean Petit",
    "paid": "",
    "balance": "1 200,00 €",
    "penalties": "",
    "indemnity": "",
    "total": "1 200,00 €",
    "deadline_days": "15",
}


@dataclass(frozen=True)
class Case:
    activity: str
    channel: ChannelName
    template: str
    partner: PartnerKind | None
    recipient: Recipient
    mentions: tuple[str, ...]
    """Text the rendered body must contain."""
    needed_key: str
    """A context key the template cannot do without."""


CASES = [
    Case(
        "send_letter",
        "letter",
        "reminder_3@1",
        None,
        DEBTOR,
        (
            "dernière relance avant mise en demeure",
            "Relevé de compte",
            "facture n° F-2026-0001",
            "Règlements reçus : - 200,00 €",
            "Total dû : 1 052,40 €",
            "par virement sur l'IBAN",
            "lettre recommandée avec demande d'avis de réception",
        ),
        "payment_instructions",
    ),
    Case(
        "send_registered_letter",
        "registered_letter",
        "formal_notice@1",
        None,
        DEBTOR,
        (
            "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION",
            "mise en demeure",
            "article 1344 du Code civil",
            "F-2026-0001",
            "Principal restant dû : 1 000,00 €",
            "Pénalités de retard (art. L441-10 II du Code de commerce) : 12,40 €",
            "Indemnité forfaitaire pour frais de recouvrement : 40,00 €",
            "Total réclamé : 1 052,40 €",
            "articles L441-10 II et D441-5 du Code de commerce",
            "délai de 8 jours à compter de la première présentation",
            "procédure judiciaire de recouvrement",
        ),
        "deadline_days",
    ),
    Case(
        "create_phone_task",
        "phone_task",
        "phone_call@1",
        None,
        DEBTOR,
        (
            "TÂCHE D'APPEL",
            "Durand SARL (professionnel)",
            "Téléphone : 01 23 45 67 89",
            "Facture n° F-2026-0001",
            "Principal restant dû : 1 000,00 €",
            "Promesse de paiement",
            "Contestation",
            "Déjà payé",
            "Pas de réponse",
        ),
        "contact_phone",
    ),
    Case(
        "hand_off_case",
        "handoff",
        "handoff_small_claims@1",
        "commissaire_small_claims",
        SMALL_CLAIMS_COMMISSAIRE,
        (
            "procédure simplifiée de recouvrement des petites créances",
            "article L125-1 du Code des procédures civiles d'exécution",
            "n'excède pas 5 000 euros",
            "délai d'un mois pour accepter ; son silence vaut refus",
            "à notre charge exclusive",
            "R125-8",
            "Durand SARL (SIREN 732 829 320)",
            "Total réclamé : 1 052,40 €",
            "première présentation le 20/11/2026",
        ),
        "notice_date",
    ),
    Case(
        "hand_off_case",
        "handoff",
        "handoff_small_claims@2",
        "commissaire_small_claims",
        SMALL_CLAIMS_COMMISSAIRE,
        (
            "procédure simplifiée de recouvrement des petites créances",
            "article L125-1 du Code des procédures civiles d'exécution",
            "plafond de cette procédure extrajudiciaire",
            "libre d'accepter ou de refuser",
            "Total réclamé, en principal et intérêts : 1 012,40 €",
            "(40,00 €) n'est pas comprise dans cette demande",
            "R125-8",
            "première présentation le 20/11/2026",
        ),
        "claimed",
    ),
    Case(
        "hand_off_case",
        "handoff",
        "handoff_agency@1",
        "agency",
        AGENCY,
        (
            "mandat de recouvrement amiable",
            "articles R124-1 à R124-7 du Code des procédures civiles d'exécution",
            "(article R124-4)",
            "deuxième et troisième alinéas de l'article L111-8",
            "quittance",
            "délai d'un mois à compter de leur encaissement",
            "Total à recouvrer : 1 052,40 €",
        ),
        "claim_basis",
    ),
    Case(
        "hand_off_case",
        "handoff",
        "handoff_enforcement@1",
        "commissaire_enforcement",
        ENFORCEMENT_COMMISSAIRE,
        (
            "exécution forcée",
            "accord valant titre exécutoire du 15/01/2027",
            "articles L111-2 et L111-3",
            "délivré par Me Claire Martin",
            "(article R125-8)",
            "saisie-attribution",
        ),
        "title_description",
    ),
    Case(
        "prepare_court_file",
        "court_file",
        "injonction_de_payer@1",
        "court",
        COURT,
        (
            "REQUÊTE EN INJONCTION DE PAYER",
            "articles 1405 à 1407 du Code de procédure civile",
            "lieu où demeure le débiteur (article 1406",
            "Fondement : maintenance informatique",
            "Pénalités de retard (art. L441-10 II du Code de commerce) : 12,40 €",
            "Total : 1 052,40 €",
            "1. Facture n° F-2026-0001 du 01/10/2026",
            "2. Contrat, bon de commande ou devis accepté",
            "3. Copies des lettres de relance",
            "4. Mise en demeure et preuve de sa première présentation le 20/11/2026",
            "5. Décompte détaillé de la créance",
        ),
        "notice_date",
    ),
    Case(
        "declare_claim",
        "claim_declaration",
        "claim_declaration@1",
        "mandataire",
        MANDATAIRE,
        (
            "déclaration de créance",
            "articles L622-24 et L622-25 du Code de commerce",
            "délai de deux mois à compter de cette publication (article R622-24",
            "publié au BODACC le 10/03/2027",
            "qui expire le 10/05/2027",
            "redressement judiciaire ouvert par jugement",
            "Total déclaré : 1 052,40 €",
            "L622-28",
        ),
        "publication_date",
    ),
    Case(
        "create_phone_task",
        "phone_task",
        "step_failed@1",
        None,
        DEBTOR,
        (
            "TÂCHE OPÉRATEUR — étape bloquée",
            "Mise en demeure (LRAR)",
            "Cause : RegisteredMailRefused: adresse incomplète",
            "rien n'a été envoyé",
            "POST /v1/cases/case-1/steps/formal_notice/retry",
            "même clé d'idempotence",
        ),
        "failure",
    ),
    Case(
        "create_phone_task",
        "phone_task",
        "letter_problem@1",
        None,
        DEBTOR,
        (
            "TÂCHE OPÉRATEUR — lettre recommandée non distribuée",
            "Référence chez le prestataire : 5f1c2d3e-0000-4000-8000-000000000001",
            "Motif : le prestataire a rejeté l'envoi recommandé",
            "Réponse du prestataire : REJECTED: Document non conforme",
            "elle ne vaut pas mise en demeure et son délai",
            "POST /v1/cases/case-1/steps/formal_notice/retry",
            "nouvelle clé d'idempotence",
        ),
        "letter_reason",
    ),
    Case(
        "send_letter",
        "letter",
        "reminder_3@2",
        None,
        DEBTOR,
        (
            "dernière relance avant mise en demeure",
            "Relevé de compte",
            "Règlements reçus : - 200,00 €",
            "Total dû : 1 052,40 €",
            "par virement sur l'IBAN",
        ),
        "payment_instructions",
    ),
    Case(
        "send_registered_letter",
        "registered_letter",
        "formal_notice@2",
        None,
        DEBTOR,
        (
            "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION",
            "article 1344 du Code civil",
            "Total réclamé : 1 052,40 €",
            "articles L441-10 II et D441-5 du Code de commerce",
            "délai de 8 jours à compter de la première présentation",
        ),
        "deadline_days",
    ),
    Case(
        "hand_off_case",
        "handoff",
        "handoff_small_claims@3",
        "commissaire_small_claims",
        SMALL_CLAIMS_COMMISSAIRE,
        (
            "procédure simplifiée de recouvrement des petites créances",
            "plafond de cette procédure extrajudiciaire",
            "Total réclamé, en principal et intérêts : 1 012,40 €",
            "(40,00 €) n'est pas comprise dans cette demande",
            "R125-8",
        ),
        "claimed",
    ),
    Case(
        "hand_off_case",
        "handoff",
        "handoff_agency@2",
        "agency",
        AGENCY,
        (
            "mandat de recouvrement amiable",
            "articles R124-1 à R124-7 du Code des procédures civiles d'exécution",
            "deuxième et troisième alinéas de l'article L111-8",
            "Total à recouvrer : 1 052,40 €",
        ),
        "claim_basis",
    ),
    Case(
        "prepare_court_file",
        "court_file",
        "injonction_de_payer@2",
        "court",
        COURT,
        (
            "REQUÊTE EN INJONCTION DE PAYER",
            "les mentions des articles 54 et 57 du Code de procédure civile (article 1407)",
            "DEMANDEUR (articles 54 et 1407 du Code de procédure civile)",
            "Dénomination : Créancier Test SAS",
            "Organe qui le représente légalement :",
            "DÉBITEUR (articles 57 et 1407 du Code de procédure civile)",
            "Dénomination : Durand SARL (SIREN 732 829 320)",
            "Forme : à compléter (extrait Kbis)",
            "Siège social : 12 rue de la Paix, 75002 Paris",
            "lieu où demeure le débiteur (article 1406",
            "Total : 1 052,40 €",
            "4. Mise en demeure et preuve de sa première présentation le 20/11/2026",
        ),
        "notice_date",
    ),
]
CASES += [
    Case(
        "send_letter",
        "letter",
        "grouped_statement@1",
        None,
        DEBTOR,
        (
            "relevé de compte — 2 factures impayées",
            "Facture n° F-2026-0001",
            "Facture n° F-2026-0002",
            "Total réclamé : 1 692,40 €",
            "L441-10 II et D441-5",
        ),
        "invoice_lines",
    ),
    Case(
        "send_registered_letter",
        "registered_letter",
        "grouped_formal_notice@1",
        None,
        DEBTOR,
        (
            "mise en demeure de payer — 2 factures",
            "décompte facture par facture",
            "Facture n° F-2026-0002",
            "Total réclamé : 1 692,40 €",
            "délai de 8 jours à compter de la première présentation",
            "article 1344 du Code civil",
            "extrajudiciaire et que vous pourrez refuser",
        ),
        "grand_total",
    ),
]
BY_TEMPLATE = {case.template: case for case in CASES}
ONE_PER_ACTIVITY = [
    BY_TEMPLATE[t]
    for t in (
        "reminder_3@1",
        "formal_notice@1",
        "phone_call@1",
        "handoff_small_claims@1",
        "injonction_de_payer@1",
        "claim_declaration@1",
    )
]
OTHER_CHANNEL: dict[ChannelName, ChannelName] = {
    "letter": "registered_letter",
    "registered_letter": "letter",
    "phone_task": "letter",
    "handoff": "court_file",
    "court_file": "handoff",
    "claim_declaration": "court_file",
}


def _ids(case: Case) -> str:
    return case.template


def _request(case: Case, case_id: str, context: dict[str, str] | None = None) -> ChannelRequest:
    return ChannelRequest(
        idempotency_key=f"{case_id}/{case.template.partition('@')[0]}",
        case_id=case_id,
        tenant="acme",
        step=case.template.partition("@")[0],
        channel=case.channel,
        template=case.template,
        recipient=case.recipient,
        partner=case.partner,
        context=BUSINESS_CONTEXT if context is None else context,
    )


def _activity(
    engine: AsyncEngine, case: Case
) -> Callable[[ChannelRequest], Awaitable[ChannelReceipt]]:
    method: Callable[[ChannelRequest], Awaitable[ChannelReceipt]]
    method = getattr(ChannelActivities(engine), case.activity)
    return method


async def _run(engine: AsyncEngine, case: Case, request: ChannelRequest) -> ChannelReceipt:
    return await ActivityEnvironment().run(_activity(engine, case), request)


def _new_case_id() -> str:
    return f"case-{uuid.uuid4().hex[:12]}"


async def _rows(engine: AsyncEngine, case_id: str) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).where(channel_outbox.c.case_id == case_id)
        return int((await conn.execute(query)).scalar_one())


@pytest.mark.parametrize("case", CASES, ids=_ids)
async def test_a_call_records_one_row_with_its_mandatory_mentions(
    engine: AsyncEngine, case: Case
) -> None:
    case_id = _new_case_id()
    request = _request(case, case_id)
    receipt = await _run(engine, case, request)

    assert receipt.duplicate is False
    assert receipt.reference == reference_for(request.idempotency_key)
    assert (
        receipt.reference
        == "OUT-" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:12]
    )
    assert case.recipient.name in receipt.summary
    assert case.recipient.address_lines[0] in receipt.summary
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(channel_outbox).where(channel_outbox.c.case_id == case_id))
        ).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.channel, row.template, row.partner, row.status) == (
        case.channel,
        case.template,
        case.partner,
        "recorded",
    )
    assert row.recipient == case.recipient.model_dump(mode="json")
    assert row.body_sha256 == hashlib.sha256(row.body.encode()).hexdigest()
    assert row.created_at == receipt.recorded_at
    for mention in case.mentions:
        assert mention in row.body, f"{case.template}: {mention!r} missing from the body"
    assert "{{" not in row.body and "{%" not in row.body


async def test_the_formal_notice_summary_names_the_document_and_the_address(
    engine: AsyncEngine,
) -> None:
    case = BY_TEMPLATE["formal_notice@1"]
    receipt = await _run(engine, case, _request(case, _new_case_id()))
    assert receipt.summary == (
        "registered letter (mise en demeure) to Durand SARL, 12 rue de la Paix, 75002 Paris"
    )


async def test_a_consumer_formal_notice_claims_no_indemnity_and_starts_interest(
    engine: AsyncEngine,
) -> None:
    case = BY_TEMPLATE["formal_notice@1"]
    case_id = _new_case_id()
    await _run(engine, case, _request(case, case_id, CONSUMER_CONTEXT))
    async with engine.connect() as conn:
        body = (
            await conn.execute(
                select(channel_outbox.c.body).where(channel_outbox.c.case_id == case_id)
            )
        ).scalar_one()
    assert "mise en demeure" in body and "article 1344 du Code civil" in body
    assert "F-2026-0001" in body
    assert "délai de 15 jours à compter de la première présentation" in body
    assert "fait courir, sur la somme restant due, les intérêts au taux légal" in body
    assert "1231-6 et 1344-1" in body
    assert "Total réclamé : 1 200,00 €" in body
    for absent in ("Indemnité", "indemnité", "40,00", "40 euros", "L441-10", "D441-5"):
        assert absent not in body
    assert "Règlements reçus" not in body  # no payment yet: the line is left out
    assert "Intérêts au taux légal :" not in body  # none accrued before the notice


@pytest.mark.parametrize("case", ONE_PER_ACTIVITY, ids=_ids)
async def test_the_same_key_twice_records_once(engine: AsyncEngine, case: Case) -> None:
    case_id = _new_case_id()
    first = await _run(engine, case, _request(case, case_id))
    again = await _run(engine, case, _request(case, case_id))

    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.reference == first.reference
    assert again.recorded_at == first.recorded_at
    assert again.summary == first.summary
    assert await _rows(engine, case_id) == 1


@pytest.mark.parametrize("case", ONE_PER_ACTIVITY, ids=_ids)
async def test_five_racing_attempts_record_one_row(engine: AsyncEngine, case: Case) -> None:
    case_id = _new_case_id()
    receipts = await asyncio.gather(
        *(_run(engine, case, _request(case, case_id)) for _ in range(5))
    )
    assert sorted(r.duplicate for r in receipts) == [False] + [True] * 4
    assert len({r.reference for r in receipts}) == 1
    assert await _rows(engine, case_id) == 1


@pytest.mark.parametrize("case", ONE_PER_ACTIVITY, ids=_ids)
async def test_a_request_for_another_channel_is_refused_for_good(
    engine: AsyncEngine, case: Case
) -> None:
    case_id = _new_case_id()
    request = _request(case, case_id).model_copy(update={"channel": OTHER_CHANNEL[case.channel]})
    with pytest.raises(ApplicationError, match=OTHER_CHANNEL[case.channel]) as caught:
        await _run(engine, case, request)
    assert caught.value.non_retryable
    assert caught.value.type == "ChannelMismatch"
    assert await _rows(engine, case_id) == 0


@pytest.mark.parametrize("case", CASES, ids=_ids)
async def test_a_missing_context_key_is_named_and_not_retried(
    engine: AsyncEngine, case: Case
) -> None:
    case_id = _new_case_id()
    context = {k: v for k, v in BUSINESS_CONTEXT.items() if k != case.needed_key}
    with pytest.raises(ApplicationError, match=case.needed_key) as caught:
        await _run(engine, case, _request(case, case_id, context))
    assert caught.value.non_retryable
    assert caught.value.type == "MissingContext"
    assert case.template in str(caught.value)
    assert await _rows(engine, case_id) == 0


async def test_an_optional_line_must_still_be_decided_explicitly(engine: AsyncEngine) -> None:
    """Leaving ``indemnity`` out is an error; only an empty value leaves the line out."""
    case = BY_TEMPLATE["formal_notice@1"]
    context = {k: v for k, v in CONSUMER_CONTEXT.items() if k != "indemnity"}
    with pytest.raises(ApplicationError, match="indemnity") as caught:
        await _run(engine, case, _request(case, _new_case_id(), context))
    assert caught.value.non_retryable


async def test_an_unknown_template_is_named_and_not_retried(engine: AsyncEngine) -> None:
    case = BY_TEMPLATE["reminder_3@1"]
    case_id = _new_case_id()
    request = _request(case, case_id).model_copy(update={"template": "nope@9"})
    with pytest.raises(ApplicationError, match="nope@9") as caught:
        await _run(engine, case, request)
    assert caught.value.non_retryable
    assert caught.value.type == "TemplateNotFound"
    assert await _rows(engine, case_id) == 0


async def test_an_unknown_debtor_kind_is_refused(engine: AsyncEngine) -> None:
    case = BY_TEMPLATE["formal_notice@1"]
    context = {**BUSINESS_CONTEXT, "debtor_kind": "company"}
    with pytest.raises(ApplicationError, match="debtor_kind") as caught:
        await _run(engine, case, _request(case, _new_case_id(), context))
    assert caught.value.non_retryable
    assert caught.value.type == "InvalidContext"


async def test_a_hand_off_needs_a_hand_off_partner(engine: AsyncEngine) -> None:
    case = BY_TEMPLATE["handoff_agency@1"]
    for partner in (None, "mandataire"):
        request = _request(case, _new_case_id()).model_copy(update={"partner": partner})
        with pytest.raises(ApplicationError, match="partner") as caught:
            await _run(engine, case, request)
        assert caught.value.non_retryable
        assert caught.value.type == "PartnerMismatch"


async def test_the_small_claims_commissaire_may_not_enforce_its_own_title(
    engine: AsyncEngine,
) -> None:
    case = BY_TEMPLATE["handoff_enforcement@1"]
    case_id = _new_case_id()
    request = _request(case, case_id).model_copy(update={"recipient": SMALL_CLAIMS_COMMISSAIRE})
    with pytest.raises(ApplicationError, match="R125-8") as caught:
        await _run(engine, case, request)
    assert caught.value.non_retryable
    assert await _rows(engine, case_id) == 0


async def test_a_letter_without_a_postal_address_is_refused(engine: AsyncEngine) -> None:
    case = BY_TEMPLATE["formal_notice@1"]
    no_address = Recipient(name="Durand SARL", email="compta@durand.example")
    request = _request(case, _new_case_id()).model_copy(update={"recipient": no_address})
    with pytest.raises(ApplicationError, match="postal address") as caught:
        await _run(engine, case, request)
    assert caught.value.non_retryable
    assert caught.value.type == "MissingAddress"


async def test_a_key_reused_for_another_case_is_refused(engine: AsyncEngine) -> None:
    case = BY_TEMPLATE["reminder_3@1"]
    first = _request(case, _new_case_id())
    await _run(engine, case, first)
    other = _request(case, _new_case_id()).model_copy(
        update={"idempotency_key": first.idempotency_key}
    )
    with pytest.raises(ApplicationError, match="refusing to reuse") as caught:
        await _run(engine, case, other)
    assert caught.value.non_retryable
    assert caught.value.type == "IdempotencyConflict"
    assert await _rows(engine, other.case_id) == 0


@pytest.mark.parametrize("template", sorted(TEMPLATE_KEYS))
def test_each_template_uses_exactly_its_documented_keys(template: str) -> None:
    assert template_keys(template) == TEMPLATE_KEYS[template] | RECIPIENT_KEYS


def test_every_documented_template_is_exercised_here() -> None:
    assert set(BY_TEMPLATE) == set(TEMPLATE_KEYS)


async def test_the_table_object_matches_migration_0003(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(schema_differences, channel_outbox) == []


@pytest.mark.parametrize("template", ["formal_notice@1", "reminder_3@1", "step_failed@1"])
async def test_a_letter_is_recorded_with_its_layout_and_printed_from_it(
    engine: AsyncEngine, template: str
) -> None:
    """What the provider, the email attachment and the dossier print: the laid-out letter
    (activities/letter_layout) stored with the row; an operator task has no layout."""
    case = BY_TEMPLATE[template]
    request = _request(case, _new_case_id())
    await _run(engine, case, request)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(channel_outbox).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    pdf = printed_pdf(
        row.body, row.layout, title="t", reference=row.reference, created_at=row.created_at
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    if template == "step_failed@1":
        assert row.layout is None and "TÂCHE OPÉRATEUR" in text
        return
    assert row.layout is not None and row.layout.startswith("{")
    assert "page 1 / " in text, "the laid-out letter, with its page numbers"
    assert "1 052,40" in text and "Durand SARL" in text


# The law, to the letter: the creditor's identity in the injonction de payer request
# (CPC 1407 with 54 and 57), the consumer mediator (C. consommation L616-2) and the
# administrative judge for a public debtor (C. commande publique L6), all read by the
# activity from its settings, never carried by the workflow's request. (Imported here, not
# at the top, so that this file only grows at its end.)


CREDITOR_ENV = (
    "CREDITOR_LEGAL_FORM",
    "CREDITOR_REGISTERED_OFFICE",
    "CREDITOR_REPRESENTATIVE",
    "CREDITOR_RCS",
    "CREDITOR_PERSON_FIRST_NAMES",
    "CREDITOR_PERSON_PROFESSION",
    "CREDITOR_PERSON_DOMICILE",
    "CREDITOR_PERSON_NATIONALITY",
    "CREDITOR_PERSON_BIRTH_DATE",
    "CREDITOR_PERSON_BIRTH_PLACE",
    "CONSUMER_MEDIATOR",
    "CONSUMER_MEDIATOR_NAME",
    "CONSUMER_MEDIATOR_ADDRESS",
    "CONSUMER_MEDIATOR_WEBSITE",
)
PUBLIC_CONTEXT: dict[str, str] = {
    **BUSINESS_CONTEXT,
    "debtor_kind": "public",
    "debtor_name": "Commune de Montreuil (SIREN 219 300 480)",
    "debtor_address": "Place Jean Jaurès\n93100 Montreuil",
}


def _creditor_settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Exactly these creditor settings in the environment, none other."""
    for name in CREDITOR_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


async def _recorded_letter(
    engine: AsyncEngine, case: Case, context: dict[str, str]
) -> tuple[str, LetterDocument | None]:
    """The body and the layout recorded for ``case`` with ``context``."""
    request = _request(case, _new_case_id(), context)
    await _run(engine, case, request)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(channel_outbox.c.body, channel_outbox.c.layout).where(
                    channel_outbox.c.idempotency_key == request.idempotency_key
                )
            )
        ).one()
    return row.body, document_from_json(row.layout) if row.layout else None


async def test_cpc_54_1407_the_request_names_a_legal_person_creditor_from_the_settings(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _creditor_settings(
        monkeypatch,
        CREDITOR_LEGAL_FORM="société par actions simplifiée",
        CREDITOR_REGISTERED_OFFICE="1 avenue des Tests\n69001 Lyon",
        CREDITOR_REPRESENTATIVE="M. Paul Test, président",
        CREDITOR_RCS="RCS Lyon 732 829 320",
    )
    case = BY_TEMPLATE["injonction_de_payer@2"]
    request = _request(case, _new_case_id())
    await _run(engine, case, request)
    body, layout = await _recorded_letter(engine, case, BUSINESS_CONTEXT)
    for line in (
        "Dénomination : Créancier Test SAS",
        "Forme : société par actions simplifiée",
        "Siège social : 1 avenue des Tests, 69001 Lyon",
        "Immatriculation : RCS Lyon 732 829 320",
        "Organe qui le représente légalement : M. Paul Test, président",
    ):
        assert line in body, line
    assert "à compléter" not in body.split("DEMANDEUR (")[1].split("DÉBITEUR (")[0]
    assert layout is not None
    claimant = next(s for s in layout.sections if s.title.startswith("Demandeur"))
    assert "Forme : société par actions simplifiée" in claimant.lines
    assert "Organe qui le représente légalement : M. Paul Test, président" in claimant.lines
    # Nothing of it travelled in the workflow's request: the activity read it.
    assert not {"creditor_kind", "creditor_legal_form"} & request.context.keys()


async def test_cpc_54_1407_a_natural_person_creditor_is_named_by_civil_status(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _creditor_settings(
        monkeypatch,
        CREDITOR_PERSON_FIRST_NAMES="Jeanne Marie",
        CREDITOR_PERSON_PROFESSION="architecte",
        CREDITOR_PERSON_DOMICILE="4 rue des Lilas, 69003 Lyon",
        CREDITOR_PERSON_NATIONALITY="française",
        CREDITOR_PERSON_BIRTH_DATE="12/03/1975",
        CREDITOR_PERSON_BIRTH_PLACE="Annecy (Haute-Savoie)",
    )
    body, layout = await _recorded_letter(
        engine, BY_TEMPLATE["injonction_de_payer@2"], BUSINESS_CONTEXT
    )
    for line in (
        "Nom : Créancier Test SAS",
        "Prénoms : Jeanne Marie",
        "Profession : architecte",
        "Domicile : 4 rue des Lilas, 69003 Lyon",
        "Nationalité : française",
        "Date de naissance : 12/03/1975",
        "Lieu de naissance : Annecy (Haute-Savoie)",
    ):
        assert line in body, line
    assert "Organe qui le représente" not in body and "Forme : à compléter\n" not in body
    assert "Immatriculation" not in body  # optional for a person, and not given
    assert layout is not None and layout.signature[-1] == "(signature)"


async def test_cpc_54_an_identity_detail_not_configured_prints_a_completer(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _creditor_settings(monkeypatch, CREDITOR_LEGAL_FORM="SARL")
    body, layout = await _recorded_letter(
        engine, BY_TEMPLATE["injonction_de_payer@2"], BUSINESS_CONTEXT
    )
    assert "Forme : SARL" in body
    for line in (
        "Siège social : à compléter",
        "Immatriculation : à compléter",
        "Organe qui le représente légalement : à compléter",
    ):
        assert line in body, line
    assert layout is not None
    claimant = next(s for s in layout.sections if s.title.startswith("Demandeur"))
    assert "Siège social : à compléter" in claimant.lines


async def test_contradictory_creditor_settings_are_refused_for_good(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _creditor_settings(monkeypatch, CREDITOR_LEGAL_FORM="SAS", CREDITOR_PERSON_FIRST_NAMES="Jeanne")
    case = BY_TEMPLATE["injonction_de_payer@2"]
    case_id = _new_case_id()
    with pytest.raises(ApplicationError, match="CREDITOR_PERSON") as caught:
        await _run(engine, case, _request(case, case_id))
    assert caught.value.non_retryable
    assert caught.value.type == "InvalidSettings"
    assert await _rows(engine, case_id) == 0
    # A template that uses no creditor setting is not held back by them.
    other = BY_TEMPLATE["injonction_de_payer@1"]
    assert (await _run(engine, other, _request(other, _new_case_id()))).duplicate is False


async def test_version_1_of_the_request_is_left_as_it_was(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases already running keep ``injonction_de_payer@1``: the settings change nothing."""
    _creditor_settings(monkeypatch, CREDITOR_LEGAL_FORM="SAS", CREDITOR_RCS="RCS Lyon 1")
    body, _ = await _recorded_letter(engine, BY_TEMPLATE["injonction_de_payer@1"], BUSINESS_CONTEXT)
    assert "agissant par son représentant légal." in body
    assert "RCS Lyon 1" not in body and "Forme : SAS" not in body


@pytest.mark.parametrize("template", ["reminder_3@2", "formal_notice@2"])
async def test_c_consommation_l616_2_a_consumer_whose_complaint_was_refused_gets_the_mediator(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    _creditor_settings(
        monkeypatch,
        CONSUMER_MEDIATOR_NAME="Médiateur Exemple",
        CONSUMER_MEDIATOR_ADDRESS="14 rue de la Médiation\n75017 Paris",
        CONSUMER_MEDIATOR_WEBSITE="https://mediateur.example",
    )
    context = {**CONSUMER_CONTEXT, "complaint_refused": "yes"}
    body, layout = await _recorded_letter(engine, BY_TEMPLATE[template], context)
    assert "votre réclamation écrite n'ayant pas permis de régler le litige" in body
    for part in (
        "Médiateur Exemple",
        "14 rue de la Médiation, 75017 Paris",
        "https://mediateur.example",
        "L616-2 du Code de la consommation",
    ):
        assert part in body, part
    assert layout is not None
    mediator = next(m for m in layout.mentions if m.key == "b2c_mediator")
    assert "Médiateur Exemple, 14 rue de la Médiation, 75017 Paris" in mediator.text
    assert "https://mediateur.example" in mediator.text and "L616-2" in mediator.source


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("formal_notice@2", {**CONSUMER_CONTEXT, "complaint_refused": "no"}),
        ("reminder_3@2", CONSUMER_CONTEXT),  # the case says nothing: nothing refused
        ("formal_notice@2", {**BUSINESS_CONTEXT, "complaint_refused": "yes"}),
        ("reminder_3@2", {**PUBLIC_CONTEXT, "complaint_refused": "yes"}),
    ],
    ids=["consumer-not-refused", "consumer-unsaid", "business", "public"],
)
async def test_c_consommation_l616_2_the_mediator_only_for_a_refused_consumer_complaint(
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    context: dict[str, str],
) -> None:
    _creditor_settings(
        monkeypatch,
        CONSUMER_MEDIATOR_NAME="Médiateur Exemple",
        CONSUMER_MEDIATOR_WEBSITE="https://mediateur.example",
    )
    body, layout = await _recorded_letter(engine, BY_TEMPLATE[template], context)
    assert "Médiateur Exemple" not in body and "L616-2" not in body
    assert layout is not None
    assert "b2c_mediator" not in {m.key for m in layout.mentions}


@pytest.mark.parametrize(
    "template", ["handoff_agency@2", "handoff_small_claims@3", "injonction_de_payer@2"]
)
async def test_c_commande_publique_l6_public_hand_offs_warn_of_the_administrative_judge(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    _creditor_settings(monkeypatch)
    case = BY_TEMPLATE[template]
    body, layout = await _recorded_letter(engine, case, PUBLIC_CONTEXT)
    assert "ATTENTION — débiteur public" in body
    assert "contrat administratif (article L6 du Code de la commande publique" in body
    assert "relève du juge administratif" in body and "R541-1" in body
    assert layout is not None and "article L6 du Code de la commande publique" in layout.notice
    for context in (BUSINESS_CONTEXT, {**CONSUMER_CONTEXT, "claimed": "1 200,00 €"}):
        body, layout = await _recorded_letter(engine, case, context)
        assert "juge administratif" not in body and "L6 du Code" not in body
        assert layout is not None and "juge administratif" not in layout.notice
