"""The mandatory mentions of each letter, per debtor kind, as printed (pdftotext -layout).

shared/domain/french-collection-law.md s.2-4: what each kind of debtor owes and what each
letter must say; a mention meant for one kind never appears in another kind's letter.
"""

from __future__ import annotations

import re

import pytest

from activities.letter_layout import DEBTOR_KINDS, LETTER_KINDS, DebtorKind, LetterKind
from activities.letter_layout.mentions import L111_8_PARAGRAPHS
from tests.letter_layout.conftest import ALL, Rendered, flat

Letters = dict[tuple[LetterKind, DebtorKind], Rendered]
CLAIMS: list[LetterKind] = [kind for kind in LETTER_KINDS if kind != "payment_receipt"]
"""Letters that claim or declare a sum (the receipt acknowledges one)."""

EXCLUSIVE: dict[DebtorKind, tuple[str, ...]] = {
    "business": ("L441-10", "D441-5", "Pénalités de retard", "pénalités de retard"),
    "public": (
        "L2192-13",
        "R2192-31",
        "D2192-35",
        "R2192-36",
        "Intérêts moratoires",
        "intérêts moratoires",
        "commande publique",
    ),
    "consumer": ("1231-6", "1344-1", "L612-1", "L616-2", "taux légal", "médiateur"),
}
"""Words of one debtor kind's rules that no other kind's letter may print."""


@pytest.mark.parametrize("kind", CLAIMS)
def test_c_com_l441_10_ii_d441_5_business_letters_state_penalties_and_the_40_eur_indemnity(
    letters: Letters, kind: LetterKind
) -> None:
    """A professional owes late-payment penalties from the day after the due date, without
    reminder, and a 40 EUR fixed recovery indemnity (C. com. L441-10 II, D441-5)."""
    text = letters[kind, "business"].text
    assert "article L441-10 II du Code de commerce" in text
    assert "D441-5" in text
    assert "40 euros" in text
    assert "sans qu'un rappel soit nécessaire" in text
    assert re.search(r"Pénalités de .{0,80}retard", text)  # the table's column (wrapped)
    if kind == "handoff_small_claims":
        assert "n'est pas comprise dans la présente demande" in text
    else:
        assert re.search(r"Indemnité .{0,80}forfaitaire", text) and "40,00 €" in text


@pytest.mark.parametrize("kind", CLAIMS)
def test_ccp_l2192_13_r2192_31_d2192_35_public_letters_state_moratorium_interest_and_indemnity(
    letters: Letters, kind: LetterKind
) -> None:
    """A public buyer owes moratorium interest at the ECB rate + 8 points, fixed for the
    period (C. commande publique L2192-13, R2192-31), and the 40 EUR indemnity (D2192-35),
    both paid within 45 days of the principal (R2192-36)."""
    text = letters[kind, "public"].text
    assert "article L2192-13 du Code de la commande publique" in text
    assert "R2192-31" in text and "majoré de 8 points" in text
    assert "D2192-35" in text and "40 euros" in text
    assert re.search(r"Intérêts .{0,80}moratoires", text)  # the table's column (wrapped)
    if kind != "handoff_small_claims":
        assert "R2192-36" in text and "45 jours" in text


@pytest.mark.parametrize("kind", LETTER_KINDS)
def test_cpce_l111_8_no_consumer_letter_claims_the_40_eur_indemnity_or_fees(
    letters: Letters, kind: LetterKind
) -> None:
    """A consumer owes no fixed indemnity (D441-5 is for professionals) and no recovery
    costs incurred without an enforceable title (CPCE L111-8)."""
    rendered = letters[kind, "consumer"]
    text = rendered.text
    for word in ("40,00", "40 euros", "ndemnité forfaitaire", "D441-5"):
        assert word not in text, word
    assert "Indemnité" not in rendered.layout
    if kind in ("reminder_3", "formal_notice", "handoff_small_claims", "payment_receipt"):
        assert "article L111-8 du Code des procédures civiles d'exécution" in text
        assert "restent à la charge du créancier" in text


@pytest.mark.parametrize("kind", CLAIMS)
def test_c_civ_1231_6_1344_1_consumer_interest_runs_only_from_the_formal_notice(
    letters: Letters, kind: LetterKind
) -> None:
    """Legal-rate interest on a consumer's debt runs from the formal notice's first
    presentation (C. civ. 1231-6, 1344-1): the last reminder claims none, the notice starts
    it, later documents count it from that presentation."""
    rendered = letters[kind, "consumer"]
    text = rendered.text
    assert "articles 1231-6 et 1344-1 du Code civil" in text
    if kind == "reminder_3":
        assert "Aucun intérêt ne vous est réclamé à ce jour" in text
        assert "Intérêts au taux légal" not in rendered.layout  # no column: nothing claimed
    elif kind == "formal_notice":
        assert "La présente mise en demeure fait courir" in text
    else:
        assert "depuis la première présentation de la mise en demeure, le 19/11/2026" in text
        assert re.search(r"Intérêts au .{0,80}taux légal", text)


@pytest.mark.parametrize(("kind", "debtor"), ALL)
def test_no_letter_prints_another_debtor_kinds_rules(
    letters: Letters, kind: LetterKind, debtor: DebtorKind
) -> None:
    """Nothing meant for one kind of debtor in another's letter (C. com. L441-10 for
    professionals, C. commande publique L2192-13 for public buyers, C. civ. 1231-6 for
    consumers)."""
    text = letters[kind, debtor].text
    for other in DEBTOR_KINDS:
        if other == debtor:
            continue
        for word in EXCLUSIVE[other]:
            assert word not in text, f"{debtor} {kind} prints {other}'s {word!r}"


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_c_civ_1344_the_formal_notice_says_so_with_its_deadline_and_computation_date(
    letters: Letters, debtor: DebtorKind
) -> None:
    """A mise en demeure (C. civ. 1344) says it is one, by registered letter with
    acknowledgement of receipt, gives its deadline from first presentation and the date to
    which the amounts are computed (french-collection-law.md s.3)."""
    rendered = letters["formal_notice", debtor]
    text = rendered.text
    assert "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION" in text
    assert "Objet : Mise en demeure de payer — facture n° F-2026-0042" in text
    assert "vaut mise en demeure au sens de l'article 1344 du Code civil" in text
    days = "15" if debtor == "consumer" else "8"
    assert f"dans un délai de {days} jours à compter de la première présentation" in text
    assert "Montants arrêtés au 02/12/2026" in text
    assert "procédure judiciaire" not in text.lower()  # small claims are extra-judicial


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpce_r124_4_the_agency_mandate_reproduces_l111_8_paragraphs_2_and_3(
    letters: Letters, debtor: DebtorKind
) -> None:
    """An agency's first letter must reproduce CPCE L111-8 paragraphs 2 and 3 (R124-4) and
    remit the funds within a month (R124-6); the mandate gives the text verbatim."""
    text = letters["handoff_agency", debtor].text
    for paragraph in L111_8_PARAGRAPHS:
        assert flat(paragraph) in text
    assert "R124-4" in text and "R124-6" in text
    assert "Aucuns frais de recouvrement ne peuvent être réclamés au débiteur" in text


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpce_l125_1_the_small_claims_request_is_extrajudicial_principal_and_interest(
    letters: Letters, debtor: DebtorKind
) -> None:
    """The simplified procedure (CPCE L125-1): extra-judicial, at most 5,000 EUR of
    principal and interest, the debtor free to refuse; R125-8 on enforcement."""
    text = letters["handoff_small_claims", debtor].text
    assert "L125-1" in text and "R125-8" in text
    assert "extrajudiciaire" in text and "5 000 euros" in text
    assert "libre de l'accepter ou de la refuser" in text
    assert "procédure judiciaire" not in text.lower()
    assert "Total limité au principal et aux intérêts." in text


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpce_l111_2_l111_3_the_enforcement_hand_off_names_the_title(
    letters: Letters, debtor: DebtorKind
) -> None:
    """Enforcement needs an enforceable title (CPCE L111-2, L111-3); a public person's
    assets cannot be seized (CGPPP L2311-1), which the public letter warns of."""
    text = letters["handoff_enforcement", debtor].text
    assert "L111-2" in text and "L111-3" in text
    assert "ordonnance d'injonction de payer du président du tribunal de commerce" in text
    assert ("L2311-1" in text) is (debtor == "public")


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpc_1405_1407_1411_the_injonction_request_is_a_draft_with_its_grounds(
    letters: Letters, debtor: DebtorKind
) -> None:
    """The request (CPC 1405 to 1407) before the court of the debtor's place (1406), to be
    served within six months (1411); a public debtor may belong to the administrative
    judge."""
    text = letters["injonction_de_payer", debtor].text
    for article in ("1405", "1406", "1407", "1411"):
        assert article in text
    assert "PROJET" in text and "Pièces justificatives (bordereau)" in text
    assert ("juge administratif" in text) is (debtor == "public")
    assert "à compléter (article 1407 du Code de procédure civile)" in text


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_c_com_l622_24_r622_24_l622_28_the_claim_declaration_states_its_deadline(
    letters: Letters, debtor: DebtorKind
) -> None:
    """Declared within two months of the BODACC publication (C. com. L622-24, R622-24);
    interest stops at the opening judgment (L622-28)."""
    text = letters["claim_declaration", debtor].text
    assert "L622-24" in text and "R622-24" in text and "L622-28" in text
    assert "publié au BODACC le 10/11/2026" in text and "expire le 10/01/2027" in text


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_the_receipt_acknowledges_the_payment_and_the_settled_invoice(
    letters: Letters, debtor: DebtorKind
) -> None:
    """Each payment gets a receipt (a quittance; CPCE R124-6 for an agency)."""
    text = letters["payment_receipt", debtor].text
    assert "vaut quittance" in text
    assert "le 28/11/2026, votre règlement de 1 000,00 €" in text
    assert "Cette facture est désormais soldée" in text


@pytest.mark.parametrize(("kind", "debtor"), ALL)
def test_c_civ_1343_1_letters_say_payments_go_to_the_principal_first(
    letters: Letters, kind: LetterKind, debtor: DebtorKind
) -> None:
    """recouvre imputes payments to the principal first, which claims less than the
    interest-first rule of C. civ. 1343-1, and its letters say so."""
    assert "l'article 1343-1 du Code civil" in letters[kind, debtor].text


def test_c_consommation_l616_2_the_mediator_only_in_a_consumers_own_letters() -> None:
    """A configured consumer mediator is printed in the consumer's letters (C. consommation
    L612-1, L616-2), never in a professional's nor in a partner's."""
    from activities.letter_layout import LetterheadSettings
    from tests.letter_layout.conftest import render

    settings = LetterheadSettings(
        CREDITOR_SIREN="732829320", CONSUMER_MEDIATOR="Médiateur Exemple, mediateur.example"
    )
    assert "L616-2" in render("formal_notice", "consumer", settings).text
    assert "Médiateur Exemple" in render("reminder_3", "consumer", settings).text
    assert "Médiateur Exemple" not in render("formal_notice", "business", settings).text
    assert "Médiateur Exemple" not in render("handoff_agency", "consumer", settings).text
