"""Who the letters say the parties are, and what they say they may do (the issue "The law, to
the letter"), in the plain text and in the laid-out PDF of one context.

shared/domain/french-collection-law.md s.4 (CPC 1407, which requires the mentions of CPC 54
and 57: the parties' identity in an injonction de payer request), s.3 (C. consommation
L616-2: a consumer whose complaint was refused is given the consumer mediator's details)
and, for a public debtor, C. commande publique L6 (the code's contracts concluded by a
public-law person are administrative contracts: the administrative judge is competent).

Each mandatory mention is looked for where it must be, and looked for in vain in the other
debtor kinds' letters; a setting left empty prints "à compléter".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pytest

from activities.channel_templates import TEMPLATE_KEYS, render_channel, template_keys
from activities.creditor_identity import (
    CREDITOR_KEYS,
    IDENTITY_KEYS,
    MEDIATOR_KEYS,
    CreditorIdentity,
    CreditorSettingsError,
    creditor_context,
    mediator_missing,
)
from activities.letter_layout import (
    DEBTOR_KINDS,
    DebtorKind,
    LetterDocument,
    LetterheadSettings,
    LetterKind,
    build_letter_document,
    letter_kind,
    render_letter_pdf,
)
from activities.letter_layout.mentions import administrative_judge_warning
from activities.letter_layout.samples import TEMPLATES, sample_context, sample_recipient
from tests.letter_layout.conftest import REFERENCE, flat, pdftotext
from tests.letter_layout.test_mentions import EXCLUSIVE

IDENTITY_ENV = (
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
)
MEDIATOR_ENV = (
    "CONSUMER_MEDIATOR",
    "CONSUMER_MEDIATOR_NAME",
    "CONSUMER_MEDIATOR_ADDRESS",
    "CONSUMER_MEDIATOR_WEBSITE",
)

IDENTITIES: dict[str, dict[str, str]] = {
    "legal": {
        "CREDITOR_LEGAL_FORM": "société par actions simplifiée au capital de 10 000 euros",
        "CREDITOR_REGISTERED_OFFICE": "1 place de la Bourse\n75002 Paris",
        "CREDITOR_REPRESENTATIVE": "M. Paul Démo, président",
        "CREDITOR_RCS": "RCS Paris 732 829 320",
    },
    "person": {
        "CREDITOR_PERSON_FIRST_NAMES": "Jeanne Marie",
        "CREDITOR_PERSON_PROFESSION": "architecte",
        "CREDITOR_PERSON_DOMICILE": "4 rue des Lilas\n69003 Lyon",
        "CREDITOR_PERSON_NATIONALITY": "française",
        "CREDITOR_PERSON_BIRTH_DATE": "12/03/1975",
        "CREDITOR_PERSON_BIRTH_PLACE": "Annecy (Haute-Savoie)",
    },
    "empty": {},
    "person_partly": {"CREDITOR_PERSON_PROFESSION": "architecte"},
}
"""Named creditor settings (every other identity setting empty, whatever the environment)."""

MEDIATORS: dict[str, dict[str, str]] = {
    "full": {
        "CONSUMER_MEDIATOR_NAME": "Médiateur Exemple de la consommation",
        "CONSUMER_MEDIATOR_ADDRESS": "14 rue de la Médiation\n75017 Paris",
        "CONSUMER_MEDIATOR_WEBSITE": "https://mediateur.example",
    },
    "none": {},
    "one_line": {"CONSUMER_MEDIATOR": "Médiateur Ancien, ancien.example"},
}

NEW_TEMPLATES: dict[str, LetterKind] = {
    "injonction_de_payer@2": "injonction_de_payer",
    "reminder_3@2": "reminder_3",
    "formal_notice@2": "formal_notice",
    "handoff_agency@2": "handoff_agency",
    "handoff_small_claims@3": "handoff_small_claims",
}
PUBLIC_WARNED = ["handoff_agency@2", "handoff_small_claims@3", "injonction_de_payer@2"]
TO_CONSUMER = ["reminder_3@2", "formal_notice@2"]


def identity(name: str) -> CreditorIdentity:
    return CreditorIdentity.model_validate({env: "" for env in IDENTITY_ENV} | IDENTITIES[name])


def letterhead(name: str) -> LetterheadSettings:
    values = {env: "" for env in MEDIATOR_ENV} | MEDIATORS[name]
    return LetterheadSettings.model_validate({"CREDITOR_SIREN": "732829320", **values})


@dataclass(frozen=True)
class Printed:
    context: dict[str, str]
    doc: LetterDocument
    text: str
    """The plain-text letter (render_channel), on one line."""
    pdf: str
    """The laid-out PDF as pdftotext reads it, on one line."""

    def both(self) -> tuple[str, str]:
        return self.text, self.pdf


@cache
def printed(
    template: str,
    debtor: DebtorKind,
    creditor: str = "legal",
    mediator: str = "full",
    refused: str = "yes",
) -> Printed:
    """``template`` for a debtor of kind ``debtor``: the sample context of its kind plus the
    keys the activity adds from the settings (and ``complaint_refused`` when it uses it)."""
    kind = letter_kind(template)
    keys = TEMPLATE_KEYS[template]
    context = sample_context(kind, debtor) | creditor_context(
        keys, identity=identity(creditor), letterhead=letterhead(mediator)
    )
    if "complaint_refused" in keys:
        context["complaint_refused"] = refused
    recipient = sample_recipient(kind, debtor)
    doc = build_letter_document(template, context, recipient, reference=REFERENCE)
    text = render_channel(template, context, recipient)
    return Printed(context, doc, flat(text), flat(pdftotext(render_letter_pdf(doc), "-layout")))


def section(doc: LetterDocument, title: str) -> tuple[str, ...]:
    return next(s.lines for s in doc.sections if s.title.startswith(title))


def text_block(text: str, start: str, *ends: str) -> str:
    """The part of ``text`` after ``start`` up to the first of ``ends`` (any case: the text
    letter writes its headings in capitals)."""
    folded = text.lower()
    begin = folded.index(start.lower()) + len(start)
    stops = [i for i in (folded.find(end.lower(), begin) for end in ends) if i >= 0]
    return text[begin : min(stops, default=len(text))]


CLAIMANT = ("Demandeur (articles 54", "Débiteur (articles 57")
DEFENDANT_END = ("Compétence", "Exposé de la créance")


# CPC 54 and 1407: the creditor (the claimant)


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpc_54_1407_a_legal_person_creditor_states_form_name_office_and_representative(
    debtor: DebtorKind,
) -> None:
    """A legal person claimant gives its form, name, registered office and the body that
    legally represents it (CPC 54 3° b, required by CPC 1407)."""
    letter = printed("injonction_de_payer@2", debtor)
    lines = (
        "Dénomination : Démo Créancier SAS",
        "Forme : société par actions simplifiée au capital de 10 000 euros",
        "Siège social : 1 place de la Bourse, 75002 Paris",
        "Immatriculation : RCS Paris 732 829 320",
        "Organe qui le représente légalement : M. Paul Démo, président",
    )
    claimant = section(letter.doc, "Demandeur (articles 54 et 1407")
    for line in lines:
        assert line in claimant
        for where in letter.both():
            assert line in where, line
    for where in letter.both():
        block = text_block(where, *CLAIMANT)
        assert "à compléter" not in block
        assert "Prénoms" not in block and "Nationalité" not in block
    assert letter.doc.signature[-2:] == ("M. Paul Démo, président", "(signature)")


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpc_54_1407_a_natural_person_creditor_states_names_profession_birth_and_domicile(
    debtor: DebtorKind,
) -> None:
    """A natural person claimant gives surname, first names, profession, domicile,
    nationality, date and place of birth (CPC 54 3° a, required by CPC 1407)."""
    letter = printed("injonction_de_payer@2", debtor, creditor="person")
    lines = (
        "Nom : Démo Créancier SAS",
        "Prénoms : Jeanne Marie",
        "Profession : architecte",
        "Domicile : 4 rue des Lilas, 69003 Lyon",
        "Nationalité : française",
        "Date de naissance : 12/03/1975",
        "Lieu de naissance : Annecy (Haute-Savoie)",
    )
    assert set(lines) <= set(section(letter.doc, "Demandeur"))
    for where in letter.both():
        for line in lines:
            assert line in where, line
        block = text_block(where, *CLAIMANT)
        assert "Organe qui le représente" not in block and "Siège social" not in block
        assert "Immatriculation" not in block  # a person may have none, and gave none
    assert letter.doc.signature[-1] == "(signature)"


@pytest.mark.parametrize(
    ("creditor", "expected"),
    [
        (
            "empty",
            (
                "Forme : à compléter",
                "Siège social : à compléter",
                "Immatriculation : à compléter",
                "Organe qui le représente légalement : à compléter",
            ),
        ),
        (
            "person_partly",
            (
                "Prénoms : à compléter",
                "Profession : architecte",
                "Domicile : à compléter",
                "Nationalité : à compléter",
                "Date de naissance : à compléter",
                "Lieu de naissance : à compléter",
            ),
        ),
    ],
)
def test_cpc_54_a_creditor_setting_left_empty_prints_a_completer(
    creditor: str, expected: tuple[str, ...]
) -> None:
    """A detail CPC 54 requires and nobody configured is printed "à compléter", for the
    signatory to fill in before filing: never a blank, never a failure."""
    letter = printed("injonction_de_payer@2", "business", creditor=creditor)
    assert set(expected) <= set(section(letter.doc, "Demandeur"))
    for where in letter.both():
        for line in expected:
            assert line in where, line
        assert "Toute mention « à compléter » doit l'être avant le dépôt" in where
    if creditor == "empty":
        assert "(nom et qualité du représentant : à compléter)" in letter.doc.signature


# CPC 57 and 1407: the debtor (the defendant)

DEFENDANT: dict[DebtorKind, tuple[str, ...]] = {
    "consumer": (
        "Nom et prénoms : Mme Claire Martin",
        "Domicile : 8 allée des Tilleuls, 69003 Lyon",
    ),
    "business": (
        "Dénomination : Durand SARL (SIREN 732 829 320)",
        "Forme : à compléter (extrait Kbis)",
        "Siège social : Service comptabilité, 12 rue de la Paix, 75002 Paris",
    ),
    "public": (
        "Dénomination : Commune de Montreuil (SIREN 219 300 480)",
        "Nature de la personne publique : à compléter",
        "Siège : Direction des finances, Place Jean Jaurès, 93100 Montreuil",
    ),
}
DEFENDANT_WORDS: dict[DebtorKind, tuple[str, ...]] = {
    "consumer": ("Nom et prénoms :", "Domicile :"),
    "business": ("Forme :", "Siège social :", "extrait Kbis"),
    "public": ("Nature de la personne publique", "Siège :"),
}
"""What only one kind of debtor's identity says."""


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpc_57_1407_the_debtor_is_named_as_its_kind_requires(debtor: DebtorKind) -> None:
    """A natural person defendant by names and domicile, a legal person by its name and
    registered office (CPC 57, required by CPC 1407); the company's form too, which the case
    does not know: "à compléter". Another kind's details never appear."""
    letter = printed("injonction_de_payer@2", debtor)
    defendant = section(letter.doc, "Débiteur (articles 57 et 1407")
    for line in DEFENDANT[debtor]:
        assert any(shown.startswith(line) for shown in defendant), line
    for where in letter.both():
        block = text_block(where, CLAIMANT[1], *DEFENDANT_END)
        for line in DEFENDANT[debtor]:
            assert line in block, line
        for other in DEBTOR_KINDS:
            if other != debtor:
                for word in DEFENDANT_WORDS[other]:
                    assert word not in block, f"{debtor} request prints {other}'s {word!r}"


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpc_1405_1407_1411_the_identified_request_keeps_its_grounds_and_cites_54_and_57(
    debtor: DebtorKind,
) -> None:
    letter = printed("injonction_de_payer@2", debtor)
    injonction = next(m for m in letter.doc.mentions if m.key == "injonction")
    assert injonction.source == "CPC 54, 57, 1405, 1406, 1407, 1411"
    for where in letter.both():
        for article in ("articles 54 et 1407", "articles 57 et 1407", "1405", "1406", "1411"):
            assert article in where, article
        assert "PROJET" in where
        assert "les mentions des articles 54 et 57 du Code de procédure civile" in where
    assert "Pièces justificatives (bordereau)" in letter.pdf


def test_cpc_1407_version_1_of_the_request_is_laid_out_as_before() -> None:
    """Cases already running keep ``injonction_de_payer@1`` and its layout."""
    doc = build_letter_document(
        "injonction_de_payer@1",
        sample_context("injonction_de_payer", "public"),
        sample_recipient("injonction_de_payer", "public"),
    )
    assert TEMPLATES["injonction_de_payer"] == "injonction_de_payer@1"
    assert "ATTENTION : débiteur public." in doc.notice and "L6" not in doc.notice
    assert section(doc, "Demandeur")[-1] == "agissant par son représentant légal."
    assert "CPC 54" not in next(m for m in doc.mentions if m.key == "injonction").source


# C. consommation L616-2: the consumer mediator after a refused complaint


@pytest.mark.parametrize("template", TO_CONSUMER)
def test_c_consommation_l616_2_a_refused_consumer_complaint_names_the_mediator(
    template: str,
) -> None:
    """The professional gives the consumer the details of its mediator, on a durable medium,
    once a written complaint was refused (C. consommation L616-2; free: L612-1)."""
    letter = printed(template, "consumer")
    for where in letter.both():
        assert "votre réclamation écrite n'ayant pas permis de régler le litige" in where
        assert "Médiateur Exemple de la consommation" in where
        assert "14 rue de la Médiation, 75017 Paris" in where
        assert "L616-2 du Code de la consommation" in where
    assert "https://mediateur.example" in letter.text
    assert re.search(r"https:// ?mediateur\.example", letter.pdf)  # may wrap after "//"
    mention = next(m for m in letter.doc.mentions if m.key == "b2c_mediator")
    assert "L616-2" in mention.source


@pytest.mark.parametrize("template", TO_CONSUMER)
@pytest.mark.parametrize("refused", ["no", ""])
def test_c_consommation_l616_2_no_mediator_without_a_refused_complaint(
    template: str, refused: str
) -> None:
    letter = printed(template, "consumer", refused=refused)
    for where in letter.both():
        assert "médiateur" not in where and "L616-2" not in where
    assert "b2c_mediator" not in {m.key for m in letter.doc.mentions}


@pytest.mark.parametrize("template", [*TO_CONSUMER, *PUBLIC_WARNED])
@pytest.mark.parametrize("debtor", ["business", "public"])
def test_c_consommation_l616_2_never_in_a_business_or_public_debtors_letter(
    template: str, debtor: DebtorKind
) -> None:
    """Even with a refused complaint and a configured mediator: L616-2 is a consumer rule."""
    letter = printed(template, debtor)
    for where in letter.both():
        for word in ("médiateur", "Médiateur", "L616-2", "L612-1", "Code de la consommation"):
            assert word not in where, word


def test_c_consommation_l616_2_no_mediator_configured_none_is_invented() -> None:
    letter = printed("formal_notice@2", "consumer", mediator="none")
    for where in letter.both():
        assert "médiateur" not in where
    assert mediator_missing(letter.context)
    assert not mediator_missing(printed("formal_notice@2", "consumer").context)
    assert not mediator_missing(printed("formal_notice@2", "business", mediator="none").context)


def test_c_consommation_l616_2_the_older_one_line_setting_still_names_the_mediator() -> None:
    letter = printed("reminder_3@2", "consumer", mediator="one_line")
    assert letter.context["consumer_mediator_name"] == "Médiateur Ancien, ancien.example"
    for where in letter.both():
        assert "Médiateur Ancien, ancien.example" in where


# C. commande publique L6: the administrative judge for a public debtor


@pytest.mark.parametrize("template", PUBLIC_WARNED)
def test_c_commande_publique_l6_public_hand_offs_warn_that_the_administrative_judge_is_competent(
    template: str,
) -> None:
    """A public procurement contract concluded by a public-law person is an administrative
    contract (C. commande publique L6): its disputes go to the administrative judge (e.g. the
    référé-provision, CJA R541-1), not to an injonction de payer. The hand-offs and the
    request say so, first, for a public debtor, and for no other."""
    kind = letter_kind(template)
    warning = flat(administrative_judge_warning(kind))
    letter = printed(template, "public")
    assert warning in flat(letter.doc.notice)
    for where in letter.both():
        assert warning in where
        assert "article L6 du Code de la commande publique" in where
        assert "R541-1 du Code de justice administrative" in where
    for debtor in ("business", "consumer"):
        other = printed(template, debtor)
        for where in other.both():
            assert "juge administratif" not in where and "L6 du Code" not in where


@pytest.mark.parametrize("kind", ["handoff_agency", "handoff_small_claims"])
def test_c_commande_publique_l6_earlier_hand_off_versions_are_left_as_they_were(
    kind: LetterKind,
) -> None:
    doc = build_letter_document(
        TEMPLATES[kind], sample_context(kind, "public"), sample_recipient(kind, "public")
    )
    assert doc.notice == ""


# Every new letter, every debtor kind


@pytest.mark.parametrize("template", sorted(NEW_TEMPLATES))
@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_the_new_letters_keep_each_debtor_kinds_rules_and_their_figures(
    template: str, debtor: DebtorKind
) -> None:
    """No other kind's rules (as in test_mentions), the same figures in both renderings."""
    letter = printed(template, debtor)
    for where in letter.both():
        for other in DEBTOR_KINDS:
            if other == debtor:
                continue
            for word in EXCLUSIVE[other]:
                assert word not in where, f"{debtor} {template} prints {other}'s {word!r}"
        left_out = {"indemnity"} if template.startswith("handoff_small_claims") else set()
        for key in {"principal", "paid", "penalties", "indemnity"} - left_out:
            figure = flat(letter.context[key])
            if figure:
                assert figure in where, key
    assert "page 1 / " in letter.pdf


# The settings themselves


def test_the_templates_name_exactly_the_creditor_keys_of_the_settings() -> None:
    used = {key for keys in TEMPLATE_KEYS.values() for key in keys if key in CREDITOR_KEYS}
    assert used == CREDITOR_KEYS
    assert TEMPLATE_KEYS["injonction_de_payer@2"] >= IDENTITY_KEYS
    for template in TO_CONSUMER:
        assert MEDIATOR_KEYS | {"complaint_refused"} <= template_keys(template)
    for template in ("injonction_de_payer@1", "reminder_3@1", "formal_notice@1"):
        assert not CREDITOR_KEYS & TEMPLATE_KEYS[template]


def test_only_the_keys_a_template_uses_are_added() -> None:
    who, where = identity("legal"), letterhead("full")
    assert creditor_context(TEMPLATE_KEYS["reminder_3@1"], identity=who, letterhead=where) == {}
    court = creditor_context(TEMPLATE_KEYS["injonction_de_payer@2"], identity=who, letterhead=where)
    assert set(court) == IDENTITY_KEYS and court["creditor_kind"] == "legal_person"
    letter = creditor_context(TEMPLATE_KEYS["formal_notice@2"], identity=who, letterhead=where)
    assert set(letter) == MEDIATOR_KEYS


def test_the_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*IDENTITY_ENV, *MEDIATOR_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREDITOR_LEGAL_FORM", "  SARL  ")
    monkeypatch.setenv("CREDITOR_REGISTERED_OFFICE", "3 rue Neuve\n\n33000 Bordeaux\n")
    monkeypatch.setenv("CONSUMER_MEDIATOR_WEBSITE", "https://mediateur.example")
    values = creditor_context(TEMPLATE_KEYS["injonction_de_payer@2"] | MEDIATOR_KEYS)
    assert values["creditor_legal_form"] == "SARL"
    assert values["creditor_registered_office"] == "3 rue Neuve, 33000 Bordeaux"
    assert values["creditor_representative"] == "" and values["creditor_kind"] == "legal_person"
    assert values["consumer_mediator_website"] == "https://mediateur.example"
    monkeypatch.setenv("CREDITOR_PERSON_BIRTH_PLACE", "Annecy")
    with pytest.raises(CreditorSettingsError, match="CREDITOR_LEGAL_FORM"):
        creditor_context(TEMPLATE_KEYS["injonction_de_payer@2"])
    # A template that names no creditor setting is not held back by them.
    assert creditor_context(TEMPLATE_KEYS["handoff_agency@2"]) == {}
