"""Build a ``LetterDocument`` from the text templates' context (activities/channel_templates.py).

Same keys, same formatted strings: the amounts the laid-out letter prints are the context's
own, and the décompte must add up (principal - paid + penalties + indemnity = total) or the
builder refuses, naming the figures. The table's total row is computed from the rows and
formatted like the context (schemas.french_format), so it can be checked against it.

Besides the context, the builder takes what the context does not carry: the letter's
reference (the outbox's ``reference_for(idempotency_key)``), the letterhead settings (SIREN,
logo, place, consumer mediator) and, when the caller has the décompte, its rate periods (the
formal notice states each period and its rate). Templates that name the creditor's identity
or the consumer mediator by context keys (``injonction_de_payer@2``, ``reminder_3@2``,
``formal_notice@2``: activities/creditor_identity.py) are laid out from those keys, so the
text and the layout of one context say the same.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import cast

from pydantic import TypeAdapter

from activities.channel_requests import Recipient
from activities.channel_templates import (
    DEBTOR_KINDS,
    TEMPLATE_KEYS,
    InvalidContextValue,
    MissingContextKeys,
)
from activities.letter_layout.amounts import (
    LetterContextError,
    amount_text,
    iso_midnight,
    long_date,
    optional_amount,
    parse_amount,
    parse_date,
)
from activities.letter_layout.document import (
    LETTER_KINDS,
    ClaimRow,
    ClaimTable,
    ClaimTotals,
    DebtorKind,
    LetterDocument,
    LetterKind,
    Logo,
    Party,
    Section,
)
from activities.letter_layout.mentions import (
    L111_8_PARAGRAPHS,
    MentionFacts,
    administrative_judge_warning,
    mentions_for,
)
from activities.letter_layout.settings import LOGO_TYPES, LetterheadSettings
from legal.rate_periods import RatePeriod

_RATE_PERIODS = TypeAdapter(list[RatePeriod])

_COMMON = frozenset(
    {"creditor_name", "document_date", "invoice_number", "issue_date", "due_date", "debtor_kind"}
)
_AMOUNTS = frozenset({"principal", "paid", "balance", "penalties", "indemnity", "total"})

RECEIPT_KEYS = (
    _COMMON
    | _AMOUNTS
    | {"creditor_address", "payment_date", "payment_amount", "payment_instructions"}
)
"""The payment receipt's keys (``payment_receipt@1``, a letter of this package only): the
amounts after the payment (``paid`` includes it, ``total`` is what remains due)."""

LETTER_KEYS: dict[str, frozenset[str]] = {
    **{
        name: keys for name, keys in TEMPLATE_KEYS.items() if name.partition("@")[0] in LETTER_KINDS
    },
    "payment_receipt@1": RECEIPT_KEYS,
}
"""The context keys each laid-out letter needs: the text template's, plus the receipt's."""

PENALTIES_LABELS: dict[DebtorKind, str] = {
    "business": "Pénalités de retard",
    "public": "Intérêts moratoires",
    "consumer": "Intérêts au taux légal",
}
DEBTOR_LABELS: dict[DebtorKind, str] = {
    "business": "professionnel",
    "public": "acheteur public",
    "consumer": "particulier",
}
_CITY = re.compile(r"^\d{5}\s+(?P<city>.+?)(?:\s+CEDEX\b.*)?$", re.IGNORECASE)
_NONE = "—"
TO_COMPLETE = "à compléter"
"""What a court request prints for an identity detail nobody configured (CPC 54, 57)."""

ADMINISTRATIVE_JUDGE_SINCE: dict[LetterKind, int] = {
    "handoff_agency": 2,
    "handoff_small_claims": 3,
    "injonction_de_payer": 2,
}
"""From which template version a hand-off or court request for a public debtor warns that
the administrative judge may be competent (C. commande publique L6); ``injonction_de_payer@1``
printed its own, shorter warning."""


@dataclass
class _Body:
    object: str
    paragraphs: list[str]
    after_table: list[str]
    caption: str
    balance_label: str
    salutation: str = "Madame, Monsieur,"
    banner: str = ""
    notice: str = ""
    sections: list[Section] = field(default_factory=list)
    closing: str = "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
    signature: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    """The décompte read back from the context, checked."""

    currency: str
    principal: Decimal
    paid: Decimal
    penalties: Decimal
    indemnity: Decimal
    claimed: Decimal
    claimed_text: str
    principal_and_interest_only: bool


def letter_kind(template: str) -> LetterKind:
    """``formal_notice@1`` -> ``formal_notice``; an error for a template with no layout."""
    name = template.partition("@")[0]
    if template not in LETTER_KEYS or name not in LETTER_KINDS:
        known = ", ".join(sorted(LETTER_KEYS))
        raise LetterContextError(f"no letter layout for template {template!r} (known: {known})")
    return name


def _siren_text(siren: str) -> str:
    compact = "".join(siren.split())
    if len(compact) == 9 and compact.isdigit():
        return f"{compact[:3]} {compact[3:6]} {compact[6:]}"
    return siren.strip()


def _logo(settings: LetterheadSettings) -> Logo | None:
    path = settings.logo_path
    if path is None:
        return None
    media_type = LOGO_TYPES[path.suffix.lower()]
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return Logo(media_type=media_type, data_uri=f"data:{media_type};base64,{data}")


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _one_line(text: str) -> str:
    return ", ".join(_lines(text))


def _version(template: str) -> int:
    version = template.partition("@")[2]
    return int(version) if version.isdigit() else 0


def _place(settings: LetterheadSettings, creditor_lines: Sequence[str]) -> str:
    if settings.place.strip():
        return settings.place.strip()
    for line in reversed(creditor_lines):
        match = _CITY.match(line)
        if match:
            return match["city"].strip()
    return ""


def _claim(kind: LetterKind, context: Mapping[str, str]) -> _Claim:
    principal, currency = parse_amount(context["principal"], "principal")
    paid = optional_amount(context["paid"], "paid", currency)
    balance = optional_amount(context["balance"], "balance", currency)
    penalties = optional_amount(context["penalties"], "penalties", currency)
    indemnity = optional_amount(context["indemnity"], "indemnity", currency)
    if principal - paid != balance:
        raise LetterContextError(
            f"the décompte does not add up: principal {context['principal']} - paid "
            f"{context['paid'] or '0'} is not the balance {context['balance']}"
        )
    if context["debtor_kind"] == "consumer" and indemnity:
        raise LetterContextError(
            "a consumer owes no fixed recovery indemnity (C. com. D441-5 is for professionals; "
            f"CPCE L111-8): indemnity {context['indemnity']!r} must be empty"
        )
    only = kind == "handoff_small_claims" and "claimed" in context
    key = "claimed" if only else "total"
    claimed, found = parse_amount(context[key], key)
    expected = balance + penalties + (Decimal(0) if only else indemnity)
    if found != currency or claimed != expected:
        parts = "balance + penalties" + ("" if only else " + indemnity")
        raise LetterContextError(
            f"the décompte does not add up: {key} {context[key]} is not {parts} "
            f"({amount_text(expected, currency)})"
        )
    return _Claim(currency, principal, paid, penalties, indemnity, claimed, context[key], only)


def _table(
    kind: LetterKind,
    debtor_kind: DebtorKind,
    context: Mapping[str, str],
    claim: _Claim,
    body: _Body,
) -> ClaimTable:
    show_penalties = not (debtor_kind == "consumer" and not context["penalties"])
    show_indemnity = debtor_kind != "consumer" and not claim.principal_and_interest_only
    row = ClaimRow(
        invoice=context["invoice_number"],
        issue_date=context["issue_date"],
        due_date=context["due_date"],
        principal=context["principal"],
        penalties=context["penalties"] or _NONE,
        indemnity=(context["indemnity"] or _NONE) if show_indemnity else "",
        paid=context["paid"] or _NONE,
        balance=claim.claimed_text,
    )
    money = claim.currency
    indemnity = claim.indemnity if show_indemnity else Decimal(0)
    totals = ClaimTotals(
        principal=amount_text(claim.principal, money),
        penalties=amount_text(claim.penalties, money) if context["penalties"] else _NONE,
        indemnity=(amount_text(indemnity, money) if context["indemnity"] else _NONE)
        if show_indemnity
        else "",
        paid=amount_text(claim.paid, money) if context["paid"] else _NONE,
        balance=amount_text(claim.principal - claim.paid + claim.penalties + indemnity, money),
    )
    notes: list[str] = []
    note = context.get("rates_note", "").strip()
    if note:
        notes.append(note[:1].upper() + note[1:] + ".")
    if claim.principal_and_interest_only:
        notes.append("Total limité au principal et aux intérêts.")
    return ClaimTable(
        rows=(row,),
        totals=totals,
        penalties_label=PENALTIES_LABELS[debtor_kind],
        show_penalties=show_penalties,
        show_indemnity=show_indemnity,
        balance_label=body.balance_label,
        caption=body.caption,
        notes=tuple(notes),
    )


def _rate_line(period: RatePeriod) -> str:
    rate = f"{period.rate:.2f}".replace(".", ",")
    span = (
        f"du {period.start.strftime('%d/%m/%Y')} au {period.end.strftime('%d/%m/%Y')} "
        f"({period.days} jours)"
    )
    basis = period.basis
    ecb = re.match(r"ECB rate ([\d.]+) % on (\d{4})-(\d{2})-(\d{2})", basis)
    if ecb:
        points = "8" if "+ 8 points" in basis else "10"
        on = f"{ecb[4]}/{ecb[3]}/{ecb[2]}"
        why = f"taux BCE de {ecb[1].replace('.', ',')} % au {on} majoré de {points} points"
    elif basis.startswith("contract rate"):
        why = "taux contractuel"
    elif basis.startswith("3 x"):
        why = "trois fois le taux de l'intérêt légal, plancher du taux contractuel"
    elif basis.startswith("legal interest rate"):
        why = f"taux de l'intérêt légal du semestre {period.half_year}"
    else:
        why = basis
    reported = (
        ", taux publié par voie de presse, à confirmer" if period.status != "official" else ""
    )
    return f"{span} : {rate} % l'an ({why}{reported} ; {period.article})"


def _periods(context: Mapping[str, str]) -> tuple[RatePeriod, ...]:
    """The optional ``rate_periods_json`` key: the statement's ``rate_periods`` as a JSON
    list (``[p.model_dump(mode="json") for p in statement.rate_periods]``)."""
    raw = context.get("rate_periods_json", "").strip()
    if not raw:
        return ()
    try:
        return tuple(_RATE_PERIODS.validate_json(raw))
    except ValueError as err:
        raise LetterContextError(f"context key 'rate_periods_json': {err}") from err


def _debtor_section(context: Mapping[str, str], debtor_kind: DebtorKind, title: str) -> Section:
    lines = (
        context["debtor_name"],
        *_lines(context["debtor_address"]),
        f"({DEBTOR_LABELS[debtor_kind]})",
    )
    return Section(title, lines, position="before_table")


def _claim_section(context: Mapping[str, str], *extra: str) -> Section:
    return Section(
        "Créance",
        (
            f"Fondement : {context['claim_basis']}",
            f"Facture n° {context['invoice_number']} émise le {context['issue_date']}, échue le "
            f"{context['due_date']}.",
            *extra,
        ),
        position="before_table",
    )


def _enclosures(*items: str) -> Section:
    return Section("Pièces jointes", items, style="numbered")


def _reminder_3(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv = c["invoice_number"]
    return _Body(
        object=f"Dernière relance avant mise en demeure — facture n° {inv}",
        paragraphs=[
            f"Malgré nos précédents rappels, la facture n° {inv} émise le {c['issue_date']} et "
            f"échue le {c['due_date']} n'a pas été intégralement réglée.",
            f"Voici le relevé de votre compte au {c['document_date']} :",
        ],
        after_table=[
            f"Nous vous demandons de régler sans délai la somme de {c['total']}, "
            f"{c['payment_instructions']}, en rappelant la référence {inv}.",
            "Cette lettre constitue notre dernière démarche amiable. À défaut de règlement, nous "
            "vous adresserons une mise en demeure par lettre recommandée avec demande d'avis de "
            "réception, avant d'engager le recouvrement de notre créance.",
            "Si vous contestez tout ou partie de cette somme, merci de nous en indiquer les motifs "
            "par écrit. Si votre règlement a été effectué entre-temps, nous vous remercions de ne "
            "pas tenir compte de la présente.",
        ],
        caption=f"Relevé de compte au {c.get('as_of') or c['document_date']}",
        balance_label="Solde dû",
    )


def _formal_notice(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv = c["invoice_number"]
    return _Body(
        banner="Lettre recommandée avec demande d'avis de réception",
        object=f"Mise en demeure de payer — facture n° {inv}",
        paragraphs=[
            f"Malgré nos relances, la facture n° {inv} émise le {c['issue_date']} et échue le "
            f"{c['due_date']} demeure impayée.",
            f"Par la présente, nous vous mettons en demeure de nous payer la somme de "
            f"{c['total']}, qui se décompose ainsi :",
        ],
        after_table=[
            f"Nous vous demandons de régler cette somme dans un délai de {c['deadline_days']} "
            f"jours à compter de la première présentation de la présente lettre, "
            f"{c['payment_instructions']}, en rappelant la référence {inv}.",
            "À défaut de paiement intégral dans ce délai, nous poursuivrons sans autre avis le "
            "recouvrement de notre créance : par une requête en injonction de payer devant le "
            "tribunal compétent ou, selon son montant, par la procédure simplifiée de "
            "recouvrement des petites créances, extrajudiciaire, confiée à un commissaire de "
            "justice.",
            "Si vous contestez tout ou partie de cette somme, nous vous invitons à nous en faire "
            "connaître les motifs par écrit avant l'expiration de ce délai. Si votre règlement a "
            "été effectué entre-temps, nous vous remercions de ne pas tenir compte de la présente.",
        ],
        caption=f"Décompte arrêté au {c.get('as_of') or c['document_date']}",
        balance_label="Total réclamé",
    )


def _handoff_small_claims(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv, notice = c["invoice_number"], c["notice_date"]
    presented = (
        f"Mise en demeure par lettre recommandée avec demande d'avis de réception, première "
        f"présentation le {notice}, restée sans effet."
        if notice
        else "Mise en demeure par lettre recommandée avec demande d'avis de réception, restée "
        "sans effet."
    )
    return _Body(
        object="Procédure simplifiée de recouvrement des petites créances — "
        f"{c['debtor_name']}, facture n° {inv}",
        salutation="Maître,",
        paragraphs=[
            "Nous vous demandons de bien vouloir mettre en œuvre, pour notre compte, la procédure "
            "simplifiée de recouvrement des petites créances prévue par l'article L125-1 du Code "
            "des procédures civiles d'exécution, à l'encontre du débiteur suivant.",
        ],
        sections=[
            _debtor_section(c, kind, "Débiteur"),
            _claim_section(c, presented),
            _enclosures(
                f"Facture n° {inv} du {c['issue_date']}",
                "Contrat, bon de commande ou devis accepté",
                "Copies des lettres de relance",
                f"Mise en demeure et avis de première présentation du {notice}"
                if notice
                else "Mise en demeure et avis de première présentation",
                "Décompte de la créance",
            ),
        ],
        after_table=[
            "Vous inviterez le débiteur à participer à la procédure par lettre recommandée avec "
            "demande d'avis de réception ou par voie électronique. En cas d'accord sur le montant "
            "et les modalités du paiement, vous délivrerez un titre exécutoire.",
            "En cas de refus ou de silence du débiteur, merci de nous en informer sans délai afin "
            "que nous saisissions la juridiction compétente.",
        ],
        caption="Décompte",
        balance_label="Total réclamé",
        closing="Nous vous prions d'agréer, Maître, l'expression de nos salutations distinguées.",
    )


def _handoff_agency(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv = c["invoice_number"]
    return _Body(
        object=f"Mandat de recouvrement amiable — {c['debtor_name']}, facture n° {inv}",
        paragraphs=[
            "Dans le cadre de la convention écrite qui nous lie, nous vous confions le "
            "recouvrement amiable, en notre nom et pour notre compte, de la créance suivante.",
        ],
        sections=[
            _debtor_section(c, kind, "Débiteur"),
            _claim_section(c),
            Section(
                "Article L111-8 du Code des procédures civiles d'exécution, deuxième et troisième "
                "alinéas, à reproduire dans votre première lettre au débiteur (article R124-4)",
                L111_8_PARAGRAPHS,
                style="quote",
            ),
            _enclosures(
                f"Facture n° {inv} du {c['issue_date']}",
                "Contrat, bon de commande ou devis accepté",
                "Copies des lettres de relance et, le cas échéant, de la mise en demeure",
                "Décompte de la créance",
            ),
        ],
        after_table=[
            "Aucuns frais de recouvrement ne peuvent être réclamés au débiteur : seules les sommes "
            "du décompte ci-dessus peuvent lui être demandées.",
            "Merci de nous informer sans délai de toute contestation (le recouvrement est alors "
            "suspendu), de toute proposition d'échéancier ou de remise (soumise à notre accord "
            "écrit préalable), de tout paiement reçu et de toute procédure collective ouverte à "
            "l'encontre du débiteur.",
        ],
        caption="Décompte",
        balance_label="Total à recouvrer",
        closing="Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations "
        "distinguées.",
    )


def _handoff_enforcement(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv = c["invoice_number"]
    title = c["title_description"] or "titre exécutoire à préciser (absent du dossier)"
    paragraphs = [
        "Nous disposons à l'encontre du débiteur ci-dessous du titre exécutoire suivant : "
        f"{title}.",
        f"Ce titre porte sur la facture n° {inv} émise le {c['issue_date']} et échue le "
        f"{c['due_date']}, qui reste impayée.",
    ]
    if c["small_claims_issuer"]:
        paragraphs.append(
            f"Ce titre a été délivré par {c['small_claims_issuer']}, commissaire de justice, à "
            "l'issue de la procédure simplifiée de recouvrement des petites créances : nous vous "
            "en confions l'exécution."
        )
    paragraphs.append(
        "Nous vous demandons d'en poursuivre l'exécution forcée, par les mesures que vous jugerez "
        "appropriées (notamment saisie-attribution des comptes bancaires, saisie des biens "
        "meubles, saisie des rémunérations), après signification préalable du titre si elle n'a "
        "pas encore eu lieu."
    )
    return _Body(
        object=f"Exécution forcée d'un titre exécutoire — {c['debtor_name']}, facture n° {inv}",
        salutation="Maître,",
        paragraphs=paragraphs,
        sections=[
            _debtor_section(c, kind, "Débiteur"),
            _enclosures(
                "Le titre exécutoire (expédition revêtue de la formule exécutoire) et, le cas "
                "échéant, l'acte de signification",
                f"Facture n° {inv} du {c['issue_date']}",
                "Décompte de la créance",
            ),
        ],
        after_table=[
            "Merci de nous tenir informés de chaque mesure engagée et de ses résultats, et de nous "
            "reverser les sommes recouvrées.",
        ],
        caption="Sommes restant dues, sous réserve des intérêts postérieurs et des frais "
        "d'exécution",
        balance_label="Total",
        closing="Nous vous prions d'agréer, Maître, l'expression de nos salutations distinguées.",
    )


def _claimant(c: Mapping[str, str]) -> Section:
    """The creditor as CPC 54 (by CPC 1407) names a claimant; "à compléter" for a detail
    the settings do not give."""

    def value(key: str) -> str:
        return c[key].strip() or TO_COMPLETE

    correspondence = f"Adresse de correspondance : {_one_line(c['creditor_address'])}"
    if c["creditor_kind"] == "natural_person":
        lines = [
            f"Nom : {c['creditor_name']}",
            f"Prénoms : {value('creditor_person_first_names')}",
            f"Profession : {value('creditor_person_profession')}",
            f"Domicile : {value('creditor_person_domicile')}",
            f"Nationalité : {value('creditor_person_nationality')}",
            f"Date de naissance : {value('creditor_person_birth_date')}",
            f"Lieu de naissance : {value('creditor_person_birth_place')}",
        ]
        if c["creditor_rcs"].strip():
            lines.append(f"Immatriculation : {c['creditor_rcs'].strip()}")
    else:
        lines = [
            f"Dénomination : {c['creditor_name']}",
            f"Forme : {value('creditor_legal_form')}",
            f"Siège social : {value('creditor_registered_office')}",
            f"Immatriculation : {value('creditor_rcs')}",
            f"Organe qui le représente légalement : {value('creditor_representative')}",
        ]
    lines.append(correspondence)
    return Section(
        "Demandeur (articles 54 et 1407 du Code de procédure civile)",
        tuple(lines),
        position="before_table",
    )


def _defendant(c: Mapping[str, str], kind: DebtorKind) -> Section:
    """The debtor as CPC 57 (by CPC 1407) names a defendant: a person's names and domicile,
    a legal person's name, form and registered office (what the case does not know is left
    "à compléter" for the signatory)."""
    place = _one_line(c["debtor_address"]) or TO_COMPLETE
    lines = {
        "consumer": (f"Nom et prénoms : {c['debtor_name']}", f"Domicile : {place}"),
        "public": (
            f"Dénomination : {c['debtor_name']}",
            f"Nature de la personne publique : {TO_COMPLETE} (État, collectivité territoriale, "
            "établissement public…)",
            f"Siège : {place} (adresse connue du créancier : à vérifier)",
        ),
        "business": (
            f"Dénomination : {c['debtor_name']}",
            f"Forme : {TO_COMPLETE} (extrait Kbis)",
            f"Siège social : {place} (adresse connue du créancier : vérifier sur l'extrait "
            "Kbis qu'il s'agit du siège social)",
        ),
    }[kind]
    return Section(
        "Débiteur (articles 57 et 1407 du Code de procédure civile)",
        lines,
        position="before_table",
    )


def _injonction(c: Mapping[str, str], kind: DebtorKind, identified: bool = False) -> _Body:
    """The draft request; ``identified`` (``injonction_de_payer@2``): both parties named as
    CPC 1407 requires, by its reference to CPC 54 and 57, from the creditor settings."""
    inv, notice = c["invoice_number"], c["notice_date"]
    draft = (
        "PROJET — à relire, compléter et signer par le créancier ou son représentant avant dépôt "
        "au greffe. La représentation par avocat n'est pas obligatoire pour présenter cette "
        "requête."
    )
    if identified:
        draft = (
            "PROJET — à relire, compléter et signer par le créancier ou son représentant avant "
            "dépôt au greffe. Toute mention « à compléter » doit l'être avant le dépôt : la "
            "requête contient, à peine de nullité, les mentions des articles 54 et 57 du Code de "
            "procédure civile (article 1407). La représentation par avocat n'est pas obligatoire "
            "pour présenter cette requête."
        )
    elif kind == "public":
        draft += (
            " ATTENTION : débiteur public. Si la créance résulte d'un marché public ou d'un autre "
            "contrat administratif, c'est le juge administratif qui est compétent et cette "
            "requête ne doit pas être déposée : à vérifier avant tout dépôt."
        )
    identity = {
        "business": "Forme, siège social et organe qui le représente : à compléter "
        "(article 1407 du Code de procédure civile).",
        "consumer": "Nom, prénoms, profession, domicile, nationalité, date et lieu de "
        "naissance : à compléter (article 1407 du Code de procédure civile).",
        "public": "Nature de la personne publique, siège et organe qui la représente : à "
        "compléter (article 1407 du Code de procédure civile).",
    }[kind]
    presented = f", présentée pour la première fois le {notice}" if notice else ""
    return _Body(
        notice=draft,
        banner="Requête en injonction de payer (articles 1405 à 1407 du Code de procédure civile)",
        object=f"Requête en injonction de payer — {c['debtor_name']}, facture n° {inv}",
        salutation="Madame, Monsieur le Président,",
        paragraphs=[
            "Le demandeur ci-dessous est créancier du débiteur ci-dessous d'une somme d'un montant "
            "déterminé, ayant une cause contractuelle (article 1405 du Code de procédure civile). "
            "La juridiction saisie est celle du lieu où demeure le débiteur (article 1406).",
        ],
        sections=[
            _claimant(c)
            if identified
            else Section(
                "Demandeur",
                (
                    c["creditor_name"],
                    *_lines(c["creditor_address"]),
                    "agissant par son représentant légal.",
                ),
                position="before_table",
            ),
            _defendant(c, kind)
            if identified
            else Section(
                "Débiteur",
                (c["debtor_name"], *_lines(c["debtor_address"]), identity),
                position="before_table",
            ),
            Section(
                "Exposé de la créance",
                (
                    f"Fondement : {c['claim_basis']}",
                    f"Facture n° {inv} émise le {c['issue_date']}, échue le {c['due_date']}.",
                    "Malgré les relances qui lui ont été adressées et une mise en demeure par "
                    f"lettre recommandée avec demande d'avis de réception{presented}, le débiteur "
                    "ne s'est pas acquitté de sa dette.",
                ),
                position="before_table",
            ),
            Section(
                "Par ces motifs",
                (
                    "Le demandeur sollicite qu'il plaise au président de la juridiction saisie de "
                    f"bien vouloir enjoindre à {c['debtor_name']} de payer à {c['creditor_name']} "
                    f"la somme de {c['total']}, outre les intérêts"
                    + (" et pénalités" if kind == "business" else "")
                    + " postérieurs jusqu'à complet paiement ;",
                    "mettre les dépens à la charge du débiteur.",
                ),
                style="list",
            ),
            Section(
                "Pièces justificatives (bordereau)",
                (
                    f"Facture n° {inv} du {c['issue_date']}",
                    "Contrat, bon de commande ou devis accepté",
                    "Copies des lettres de relance",
                    "Mise en demeure et preuve de sa première présentation"
                    + (f" le {notice}" if notice else "")
                    + " (avis de réception ou avis de La Poste)",
                    "Décompte détaillé de la créance",
                ),
                style="numbered",
            ),
        ],
        after_table=[],
        caption="Décompte de la somme réclamée (article 1407 du Code de procédure civile)",
        balance_label="Total",
        closing="",
        signature=_injonction_signature(c)
        if identified
        else ["(nom, qualité et signature du représentant)"],
    )


def _injonction_signature(c: Mapping[str, str]) -> list[str]:
    if c["creditor_kind"] == "natural_person":
        return ["(signature)"]
    representative = c["creditor_representative"].strip()
    return [representative or "(nom et qualité du représentant : à compléter)", "(signature)"]


def _claim_declaration(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv = c["invoice_number"]
    address = ", ".join(_lines(c["debtor_address"]))
    where = f", {address}," if address else ""
    return _Body(
        banner="Lettre recommandée avec demande d'avis de réception",
        object=f"Déclaration de créance — {c['debtor_name']} — procédure : {c['proceeding']}",
        salutation="Maître,",
        paragraphs=[
            f"Le jugement d'ouverture de la procédure collective de {c['debtor_name']}{where} "
            f"ayant été publié au BODACC le {c['publication_date']}, nous vous déclarons la "
            "créance que nous détenons sur ce débiteur.",
            "La présente déclaration est faite dans le délai de deux mois à compter de cette "
            f"publication, qui expire le {c['declaration_deadline']}.",
        ],
        sections=[
            Section(
                "Nature de la créance",
                (
                    "Créance chirographaire, échue, née antérieurement au jugement d'ouverture.",
                    f"Fondement : {c['claim_basis']}",
                    f"Facture n° {inv} émise le {c['issue_date']}, échue le {c['due_date']}.",
                ),
                position="before_table",
            ),
            Section(
                "Pièces jointes (bordereau)",
                (
                    f"Facture n° {inv} du {c['issue_date']}",
                    "Contrat, bon de commande ou devis accepté",
                    "Décompte de la créance",
                    "Copies des relances et, le cas échéant, de la mise en demeure",
                ),
                style="numbered",
            ),
        ],
        after_table=[
            "Aucune somme n'est déclarée pour la période postérieure au jugement d'ouverture.",
            "Nous certifions la présente déclaration sincère et véritable.",
        ],
        caption="Montant déclaré, arrêté au jour du jugement d'ouverture",
        balance_label="Total déclaré",
        closing="Nous vous prions d'agréer, Maître, l'expression de nos salutations distinguées.",
        signature=["(nom, qualité et signature du déclarant)"],
    )


def _payment_receipt(c: Mapping[str, str], kind: DebtorKind) -> _Body:
    inv = c["invoice_number"]
    remaining, _ = parse_amount(c["total"], "total")
    paragraphs = [
        f"Nous avons bien reçu, le {c['payment_date']}, votre règlement de "
        f"{c['payment_amount']} au titre de la facture n° {inv} émise le {c['issue_date']} et "
        f"échue le {c['due_date']}.",
    ]
    after = (
        [
            "Cette facture est désormais soldée : aucune relance ne vous sera plus adressée à son "
            "sujet."
        ]
        if remaining <= 0
        else [
            f"Il reste dû à ce jour la somme de {c['total']}, à régler "
            f"{c['payment_instructions']}, en rappelant la référence {inv}."
        ]
    )
    return _Body(
        object=f"Reçu de paiement — facture n° {inv}",
        paragraphs=paragraphs,
        after_table=after,
        caption=f"Situation de votre compte au {c['document_date']}",
        balance_label="Reste dû",
        closing="Nous vous remercions de votre règlement et vous prions d'agréer, Madame, "
        "Monsieur, l'expression de nos salutations distinguées.",
    )


_BODIES: dict[LetterKind, Callable[[Mapping[str, str], DebtorKind], _Body]] = {
    "reminder_3": _reminder_3,
    "formal_notice": _formal_notice,
    "handoff_small_claims": _handoff_small_claims,
    "handoff_agency": _handoff_agency,
    "handoff_enforcement": _handoff_enforcement,
    "injonction_de_payer": _injonction,
    "claim_declaration": _claim_declaration,
    "payment_receipt": _payment_receipt,
}


def build_letter_document(
    template: str,
    context: Mapping[str, str],
    recipient: Recipient,
    *,
    reference: str = "",
    letterhead: LetterheadSettings | None = None,
    rate_periods: Sequence[RatePeriod] = (),
    created_at: datetime | None = None,
) -> LetterDocument:
    """The letter ``template`` (e.g. ``formal_notice@1``) of ``context`` for ``recipient``.

    ``rate_periods`` (else the context's optional ``rate_periods_json``) are the décompte's
    periods and rates, which the formal notice, the last reminder and the court request state.

    ``context`` and ``recipient`` are those ``render_channel`` gets (a ``ChannelRequest``'s,
    with the debtor's identity resolved); a missing key raises ``MissingContextKeys`` and an
    unknown ``debtor_kind`` ``InvalidContextValue``, as for the text; an amount that cannot
    be read or a décompte that does not add up raises ``LetterContextError``.
    ``created_at`` (default: the document date, midnight UTC) dates the PDF.
    """
    kind = letter_kind(template)
    missing = sorted(LETTER_KEYS[template] - context.keys())
    if missing:
        raise MissingContextKeys(template, missing)
    if context["debtor_kind"] not in DEBTOR_KINDS:
        raise InvalidContextValue(
            f"template {template!r}: debtor_kind must be one of "
            f"{', '.join(sorted(DEBTOR_KINDS))}, not {context['debtor_kind']!r}"
        )
    debtor_kind = cast(DebtorKind, context["debtor_kind"])
    settings = letterhead or LetterheadSettings()
    claim = _claim(kind, context)
    keys = LETTER_KEYS[template]
    if kind == "injonction_de_payer" and "creditor_kind" in keys:
        body = _injonction(context, debtor_kind, identified=True)
    else:
        body = _BODIES[kind](context, debtor_kind)
    since = ADMINISTRATIVE_JUDGE_SINCE.get(kind)
    if debtor_kind == "public" and since is not None and _version(template) >= since:
        body.notice = " ".join(filter(None, (body.notice, administrative_judge_warning(kind))))
    if "complaint_refused" in keys:  # the mediator comes with the context (creditor_identity)
        refused = context["complaint_refused"] == "yes"
        parts = (
            context["consumer_mediator_name"],
            context["consumer_mediator_address"],
            context["consumer_mediator_website"],
        )
        mediator = ", ".join(part.strip() for part in parts if part.strip()) if refused else ""
    else:
        refused, mediator = False, settings.mediator_text()
    when = parse_date(context["document_date"], "document_date")
    creditor_lines = _lines(context.get("creditor_address", ""))
    siren = context.get("creditor_siren", "") or settings.siren
    creditor = Party(
        name=context["creditor_name"],
        address_lines=creditor_lines,
        siren=_siren_text(siren) if siren else "",
        logo=_logo(settings),
    )
    place = _place(settings, creditor_lines)
    day = long_date(when)
    date_line = f"{place}, le {day}" if place else f"Le {day}"
    if kind == "injonction_de_payer":
        body.signature = [
            f"Fait à {place}, le {day}" if place else f"Fait le {day}",
            f"Pour {creditor.name}",
            *body.signature,
        ]
    elif not body.signature:
        body.signature = [f"Pour {creditor.name},", "Le service recouvrement"]
    else:
        body.signature = [f"Pour {creditor.name}", *body.signature]
    facts = MentionFacts(
        kind=kind,
        debtor_kind=debtor_kind,
        paid=bool(context["paid"].strip()),
        penalties=context["penalties"],
        indemnity=context["indemnity"],
        notice_date=context.get("notice_date", ""),
        as_of=context.get("as_of") or context["document_date"],
        rate_lines=tuple(_rate_line(period) for period in rate_periods or _periods(context)),
        mediator=mediator,
        small_claims_issuer=context.get("small_claims_issuer", ""),
        indemnity_left_out=claim.principal_and_interest_only,
        deadline_days=context.get("deadline_days", ""),
        complaint_refused=refused,
        legal_identity="creditor_kind" in keys,
    )
    reference_line = (
        f"{reference} — facture n° {context['invoice_number']}"
        if reference
        else (f"facture n° {context['invoice_number']}")
    )
    return LetterDocument(
        kind=kind,
        template=template,
        debtor_kind=debtor_kind,
        creditor=creditor,
        recipient=Party(name=recipient.name, address_lines=tuple(recipient.address_lines)),
        place=place,
        date=when,
        date_line=date_line,
        reference=reference_line,
        object=body.object,
        banner=body.banner,
        salutation=body.salutation,
        paragraphs=tuple(body.paragraphs),
        table=_table(kind, debtor_kind, context, claim, body),
        after_table=tuple(body.after_table),
        sections=tuple(body.sections),
        mentions=mentions_for(facts),
        closing=body.closing,
        signature=tuple(body.signature),
        title=f"{body.object} ({reference})" if reference else body.object,
        created_at=created_at or iso_midnight(when),
        notice=body.notice,
    )
