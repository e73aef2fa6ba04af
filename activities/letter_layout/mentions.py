"""The mandatory mentions of each letter, per debtor kind (shared/domain/french-collection-law.md).

One rule per debtor kind, never another kind's: a consumer's letter carries no 40 EUR
indemnity and no late-payment penalties (C. com. L441-10 is for professionals), a business's
no legal-rate interest from the notice (C. civ. 1231-6 is the consumer's rule here), and a
public buyer's the moratorium interest and indemnity of the Code de la commande publique.

Each mention states its source; tests look for the article in the printed letter and for
the absence of the other kinds' articles.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.letter_layout.document import DebtorKind, LetterKind, Mention

TO_DEBTOR: frozenset[LetterKind] = frozenset({"reminder_3", "formal_notice", "payment_receipt"})
"""Letters the debtor reads; the others go to a partner, a court or a mandataire."""

L111_8_PARAGRAPHS = (
    "Les frais de recouvrement entrepris sans titre exécutoire restent à la charge du "
    "créancier, sauf s'ils concernent un acte dont l'accomplissement est prescrit par la loi "
    "au créancier. Toute stipulation contraire est réputée non écrite, sauf disposition "
    "législative contraire.",
    "Cependant, le créancier qui justifie du caractère nécessaire des démarches entreprises "
    "pour recouvrer sa créance peut demander au juge de l'exécution de laisser tout ou partie "
    "des frais ainsi exposés à la charge du débiteur de mauvaise foi.",
)
"""CPCE L111-8, second and third paragraphs (version in force since 19 March 2014), which
an agency's first letter must reproduce (CPCE R124-4)."""

ADMINISTRATIVE_CONTRACT = (
    "ATTENTION — débiteur public. Si la créance résulte d'un marché public ou d'un autre "
    "contrat relevant du Code de la commande publique conclu par une personne morale de droit "
    "public, ce contrat est un contrat administratif (article L6 du Code de la commande "
    "publique, sauf exceptions prévues par ce code) et son contentieux relève du juge "
    "administratif (tribunal administratif, par exemple en référé-provision, article R541-1 du "
    "Code de justice administrative)."
)
"""Why a public debtor's claim may belong to the administrative judge (C. commande publique
L6: the contracts of that code concluded by public-law persons are administrative)."""

_ADMINISTRATIVE_CONSEQUENCE: dict[LetterKind, str] = {
    "injonction_de_payer": "Cette requête, portée devant le juge judiciaire, ne doit alors "
    "pas être déposée : à vérifier avant tout dépôt.",
    "handoff_small_claims": "Merci de vérifier avec nous la nature du contrat avant d'inviter "
    "le débiteur : le cas échéant, la juridiction compétente sera le juge administratif, et "
    "non le juge judiciaire d'une requête en injonction de payer.",
    "handoff_agency": "N'annoncez donc au débiteur ni injonction de payer ni autre procédure "
    "devant le juge judiciaire sans notre accord : nous vérifierons la juridiction compétente "
    "avant toute action.",
}


def administrative_judge_warning(kind: LetterKind) -> str:
    """The warning a hand-off or court request for a public debtor prints above everything
    ("" for a letter that needs none)."""
    consequence = _ADMINISTRATIVE_CONSEQUENCE.get(kind)
    return f"{ADMINISTRATIVE_CONTRACT} {consequence}" if consequence else ""


@dataclass(frozen=True)
class MentionFacts:
    """What the mentions depend on, read from the same context as the letter."""

    kind: LetterKind
    debtor_kind: DebtorKind
    paid: bool
    penalties: str
    indemnity: str
    notice_date: str
    as_of: str
    rate_lines: tuple[str, ...]
    mediator: str
    small_claims_issuer: str
    indemnity_left_out: bool
    deadline_days: str
    complaint_refused: bool = False
    """The consumer's written complaint was refused (C. consommation L616-2)."""
    legal_identity: bool = False
    """The request identifies the parties as CPC 54 and 57 require (injonction@2)."""
    invoices: int = 1
    """How many invoices the letter claims: more than one in a grouped letter
    (activities/letter_layout/grouped.py), whose mentions then speak of each invoice."""


def _b2b(facts: MentionFacts) -> list[Mention]:
    if facts.kind == "payment_receipt":
        return []
    grouped = facts.invoices > 1
    due = (
        "dès le jour suivant la date d'échéance de chaque facture et jusqu'à son paiement complet"
        if grouped
        else "dès le jour suivant la date d'échéance et jusqu'au paiement complet"
    )
    each = " par facture" if grouped else ""
    mentions = [
        Mention(
            "b2b_penalties",
            "Des pénalités de retard sont dues de plein droit, sans qu'un rappel soit "
            f"nécessaire, {due}, au taux prévu par les conditions de vente ou, à défaut, au taux "
            "de refinancement de la Banque centrale européenne majoré de 10 points (article "
            "L441-10 II du Code de commerce).",
            "C. com. L441-10 II",
        )
    ]
    if facts.indemnity_left_out:
        mentions.append(
            Mention(
                "b2b_indemnity",
                f"L'indemnité forfaitaire pour frais de recouvrement de 40 euros{each} due "
                "par tout professionnel en retard de paiement (articles L441-10 II et D441-5 du "
                "Code de commerce) n'est pas comprise dans la présente demande, limitée au "
                "principal et aux intérêts.",
                "C. com. L441-10 II, D441-5",
            )
        )
    else:
        mentions.append(
            Mention(
                "b2b_indemnity",
                "Tout professionnel en situation de retard de paiement est de plein droit "
                "débiteur, à l'égard du créancier, d'une indemnité forfaitaire pour frais de "
                f"recouvrement de 40 euros{each} ; une indemnisation complémentaire peut être "
                "demandée, sur justification, lorsque les frais de recouvrement exposés sont "
                "supérieurs (articles L441-10 II et D441-5 du Code de commerce).",
                "C. com. L441-10 II, D441-5",
            )
        )
    return mentions


def _b2g(facts: MentionFacts) -> list[Mention]:
    if facts.kind == "payment_receipt":
        return []
    mentions = [
        Mention(
            "b2g_interest",
            "Le dépassement du délai de paiement fait courir de plein droit, dès le jour suivant "
            "l'expiration de ce délai et jusqu'au paiement complet, des intérêts moratoires "
            "(article L2192-13 du Code de la commande publique), au taux de la Banque centrale "
            "européenne en vigueur au premier jour du semestre au cours duquel ils ont commencé "
            "à courir, majoré de 8 points (article R2192-31).",
            "C. commande publique L2192-13, R2192-31",
        )
    ]
    if facts.indemnity_left_out:
        mentions.append(
            Mention(
                "b2g_indemnity",
                "L'indemnité forfaitaire pour frais de recouvrement de 40 euros (article D2192-35 "
                "du Code de la commande publique) n'est pas comprise dans la présente demande, "
                "limitée au principal et aux intérêts.",
                "C. commande publique D2192-35",
            )
        )
    else:
        mentions.append(
            Mention(
                "b2g_indemnity",
                "Le retard de paiement donne lieu, de plein droit, au versement d'une indemnité "
                "forfaitaire pour frais de recouvrement de 40 euros (article D2192-35 du Code de "
                "la commande publique). Les intérêts moratoires et l'indemnité sont versés dans "
                "un délai de 45 jours suivant la mise en paiement du principal (article "
                "R2192-36).",
                "C. commande publique D2192-35, R2192-36",
            )
        )
    return mentions


def _b2c(facts: MentionFacts) -> list[Mention]:
    mentions: list[Mention] = []
    source = "C. civ. 1231-6, 1344-1"
    since = f", le {facts.notice_date}" if facts.notice_date else ""
    if facts.kind == "formal_notice":
        mentions.append(
            Mention(
                "b2c_interest",
                "La présente mise en demeure fait courir, sur la somme restant due, les intérêts "
                "au taux légal à compter de sa première présentation et jusqu'à complet paiement "
                "(articles 1231-6 et 1344-1 du Code civil).",
                source,
            )
        )
    elif facts.kind == "reminder_3" and not facts.penalties:
        mentions.append(
            Mention(
                "b2c_interest",
                "Aucun intérêt ne vous est réclamé à ce jour : les intérêts au taux légal ne "
                "courent qu'à compter de la première présentation d'une mise en demeure "
                "(articles 1231-6 et 1344-1 du Code civil).",
                source,
            )
        )
    elif facts.kind != "payment_receipt":
        stop = (
            " et jusqu'au jugement d'ouverture, qui en arrête le cours"
            if facts.kind == "claim_declaration"
            else ""
        )
        mentions.append(
            Mention(
                "b2c_interest",
                "Les intérêts au taux légal courent sur la somme restant due depuis la première "
                f"présentation de la mise en demeure{since}{stop} (articles 1231-6 et 1344-1 du "
                "Code civil).",
                source,
            )
        )
    if facts.kind in ("reminder_3", "formal_notice", "handoff_small_claims", "payment_receipt"):
        addressee = "vous sont" if facts.kind in TO_DEBTOR else "ne peuvent être"
        mentions.append(
            Mention(
                "b2c_no_fees",
                f"Aucuns frais de recouvrement ne {addressee} réclamés"
                + (" au débiteur" if facts.kind not in TO_DEBTOR else "")
                + " : les frais du recouvrement entrepris sans titre exécutoire restent à la "
                "charge du créancier (article L111-8 du Code des procédures civiles "
                "d'exécution).",
                "CPCE L111-8",
            )
        )
    if facts.mediator and facts.kind in TO_DEBTOR and facts.complaint_refused:
        mentions.append(
            Mention(
                "b2c_mediator",
                "Médiation de la consommation : votre réclamation écrite n'ayant pas permis de "
                "régler le litige, vous pouvez recourir gratuitement au médiateur de la "
                f"consommation dont nous relevons : {facts.mediator} (articles L612-1, L616-1 "
                "et L616-2 du Code de la consommation).",
                "C. consommation L612-1, L616-1, L616-2",
            )
        )
    elif facts.mediator and facts.kind in TO_DEBTOR:
        mentions.append(
            Mention(
                "b2c_mediator",
                "En cas de litige, après une réclamation écrite auprès de nos services restée "
                "sans réponse satisfaisante, vous pouvez recourir gratuitement au médiateur de la "
                f"consommation : {facts.mediator} (articles L612-1 et L616-2 du Code de la "
                "consommation).",
                "C. consommation L612-1, L616-2",
            )
        )
    return mentions


def _computation(facts: MentionFacts) -> list[Mention]:
    """The periods, their rates and the date to which the amounts are computed (C. civ.
    1344 as practised: french-collection-law.md s.3)."""
    if facts.kind not in ("reminder_3", "formal_notice", "injonction_de_payer"):
        return []
    text = f"Montants arrêtés au {facts.as_of}."
    if facts.rate_lines:
        text += " Taux appliqués : " + " ; ".join(facts.rate_lines) + "."
    elif facts.penalties:
        text += " Le détail des périodes et des taux appliqués est joint au décompte."
    return [Mention("computation", text, "C. civ. 1344 (décompte)")]


def _kind(facts: MentionFacts) -> list[Mention]:
    kind = facts.kind
    if kind == "formal_notice":
        days = facts.deadline_days
        return [
            Mention(
                "formal_notice",
                "La présente lettre vaut mise en demeure au sens de l'article 1344 du Code "
                f"civil. Le délai de {days} jours qu'elle accorde court à compter de sa première "
                "présentation ; une lettre avisée et non réclamée est réputée "
                "présentée.",
                "C. civ. 1344",
            )
        ]
    if kind == "handoff_agency":
        return [
            Mention(
                "agency_r124",
                "Recouvrement amiable pour le compte d'autrui (articles R124-1 à R124-7 du Code "
                "des procédures civiles d'exécution) : votre première lettre au débiteur indique "
                "votre identité et votre activité de recouvrement amiable, notre identité et "
                "notre adresse, le fondement et le montant de la somme due en distinguant le "
                "principal, les intérêts et les autres accessoires, une demande de payer avec "
                "les modalités de paiement, et reproduit les deuxième et troisième alinéas de "
                "l'article L111-8 du même code, cités ci-dessus (article R124-4) ; tout "
                "paiement donne lieu à quittance et les fonds encaissés nous sont reversés dans "
                "le mois de leur encaissement (article R124-6).",
                "CPCE R124-4, R124-6, L111-8",
            )
        ]
    if kind == "handoff_small_claims":
        return [
            Mention(
                "small_claims",
                "Procédure simplifiée de recouvrement des petites créances (article L125-1 et "
                "articles R125-1 et suivants du Code des procédures civiles d'exécution) : "
                "procédure extrajudiciaire, pour une créance n'excédant pas 5 000 euros en "
                "principal et intérêts ; le débiteur est libre de l'accepter ou de la refuser, "
                "il dispose d'un mois pour accepter et son silence vaut refus ; les frais de la "
                "procédure sont à la charge exclusive du créancier ; le commissaire de justice "
                "qui délivre le titre ne peut en poursuivre l'exécution forcée (article R125-8).",
                "CPCE L125-1, R125-1 s., R125-8",
            )
        ]
    if kind == "handoff_enforcement":
        mentions = [
            Mention(
                "enforcement",
                "Exécution forcée sur le fondement d'un titre exécutoire (articles L111-2 et "
                "L111-3 du Code des procédures civiles d'exécution) ; un titre délivré par une "
                "juridiction peut être exécuté pendant dix ans (article L111-4).",
                "CPCE L111-2, L111-3, L111-4",
            )
        ]
        if facts.small_claims_issuer:
            mentions.append(
                Mention(
                    "r125_8",
                    f"Le titre a été délivré par {facts.small_claims_issuer}, qui ne peut en "
                    "poursuivre l'exécution forcée (article R125-8 du Code des procédures "
                    "civiles d'exécution).",
                    "CPCE R125-8",
                )
            )
        if facts.debtor_kind == "public":
            mentions.append(
                Mention(
                    "public_assets",
                    "À vérifier avant toute mesure : les biens des personnes publiques sont "
                    "insaisissables (article L2311-1 du Code général de la propriété des "
                    "personnes publiques) ; l'exécution d'une condamnation d'une personne "
                    "publique suit des voies propres, que le commissaire de justice confirmera.",
                    "CGPPP L2311-1",
                )
            )
        return mentions
    if kind == "injonction_de_payer" and facts.legal_identity:
        return [
            Mention(
                "injonction",
                "Requête fondée sur les articles 1405 à 1407 du Code de procédure civile : "
                "créance contractuelle d'un montant déterminé ; juridiction du lieu où demeure "
                "le débiteur (article 1406) ; la requête identifie le demandeur (article 54 : "
                "forme, dénomination, siège social et organe représentant d'une personne "
                "morale ; nom, prénoms, profession, domicile, nationalité, date et lieu de "
                "naissance d'une personne physique) et le débiteur (article 57 : nom, prénoms "
                "et domicile, ou dénomination et siège social), et précise le montant réclamé "
                "avec son décompte et son fondement (article 1407) ; l'ordonnance doit être "
                "signifiée dans les six mois de sa date, faute de quoi elle est non avenue "
                "(article 1411).",
                "CPC 54, 57, 1405, 1406, 1407, 1411",
            )
        ]
    if kind == "injonction_de_payer":
        return [
            Mention(
                "injonction",
                "Requête fondée sur les articles 1405 à 1407 du Code de procédure civile : "
                "créance contractuelle d'un montant déterminé ; juridiction du lieu où demeure "
                "le débiteur (article 1406) ; l'ordonnance doit être signifiée dans les six mois "
                "de sa date, faute de quoi elle est non avenue (article 1411).",
                "CPC 1405, 1406, 1407, 1411",
            )
        ]
    if kind == "claim_declaration":
        return [
            Mention(
                "claim_declaration",
                "Déclaration faite en application des articles L622-24 et L622-25 du Code de "
                "commerce, dans le délai de deux mois à compter de la publication au BODACC du "
                "jugement d'ouverture (article R622-24) ; le jugement d'ouverture arrête le "
                "cours des intérêts et des pénalités (article L622-28).",
                "C. com. L622-24, L622-25, R622-24, L622-28",
            )
        ]
    if kind == "payment_receipt":
        return [
            Mention(
                "receipt",
                "Le présent reçu vaut quittance de la somme reçue.",
                "quittance (pratique)",
            )
        ]
    return []


def _imputation(facts: MentionFacts) -> list[Mention]:
    if facts.invoices > 1:  # the grouped letter asks that each payment name its invoice
        return [
            Mention(
                "imputation",
                "Chaque règlement est imputé sur la facture que vous désignez en payant "
                "(article 1342-10 du Code civil) et, sur cette facture, en priorité sur le "
                "principal, ce qui réduit les intérêts réclamés ; l'article 1343-1 du Code civil "
                "l'imputerait d'abord sur les intérêts.",
                "C. civ. 1342-10, 1343-1",
            )
        ]
    if not facts.paid:
        return []
    return [
        Mention(
            "imputation",
            "Les règlements reçus sont imputés en priorité sur le principal, ce qui réduit les "
            "intérêts réclamés ; l'article 1343-1 du Code civil les imputerait d'abord sur les "
            "intérêts.",
            "C. civ. 1343-1",
        )
    ]


def mentions_for(facts: MentionFacts) -> tuple[Mention, ...]:
    """The mandatory mentions of one letter, in the order they are printed."""
    by_kind = {"business": _b2b, "public": _b2g, "consumer": _b2c}[facts.debtor_kind]
    return tuple([*_kind(facts), *by_kind(facts), *_computation(facts), *_imputation(facts)])
