"""Writing off an unpaid invoice ("passage en perte"): evidence, VAT, accounting entries.

The domain reference (french-collection-law.md) does not cover write-offs, the VAT on
unpaid invoices or the accounting entries; the rules below rest on the texts cited, and
where a source was read only through a secondary account this says so.

VAT (TVA) on an unpaid invoice
------------------------------
- CGI art. 272-1: the VAT "perçue" on a sale or service is imputed or refunded (in the
  conditions of art. 271) when the corresponding claim has become definitively
  irrecoverable; it may be imputed as early as the date of the judgment that pronounces
  the debtor's liquidation judiciaire; and the imputation or refund requires proof, to
  the administration, of the prior rectification of the initial invoice
  (BOI-TVA-DED-40-10-20 § 1, which quotes it).
- Only VAT that was actually due can come back (BOI-TVA-DECLA-20-30-10-10 § 10): for an
  unpaid invoice the question arises only when the VAT fell due before payment
  (§ 30), i.e. for goods (due on delivery, CGI 269-2-a) and for services whose supplier
  opted to pay VAT on debits (269-2-c; BOI-TVA-DED-40-10-20 § 20). On receipts
  ("encaissements", the default for services) the VAT on the unpaid part was never due,
  so nothing was paid to the Treasury and there is nothing to recover: it is simply
  never declared (its pending balance is cancelled in the books).
- Part payment: recovery is possible when only part of the price stays unpaid
  (BOI-TVA-DED-40-10-20 § 10). The VAT recovered is the invoice's VAT in proportion to
  the unpaid share of the price incl. VAT, rounded once to the cent (half up); the unpaid
  amount excl. VAT is the unpaid TTC less that VAT, so the two always add up.
  Payments are imputed to the principal first (legal/imputation.py), what exceeds it to
  the penalties and indemnity.
- Penalties (C. com. L441-10 II), the 40 EUR recovery indemnity (D441-5) and consumer
  interest repair the delay: they are not the consideration for a supply, so they are
  outside the scope of VAT (CGI 256-I; indemnities: BOI-TVA-BASE-10-10-10) and carry no
  VAT to recover. For income tax, late-payment penalties between professionals, and in
  practice the indemnity, are taxed when collected (CGI 237 sexies), so they are usually
  not booked as receivables: ``accessories_booked`` says whether this creditor did.
- The rectification of an unpaid invoice is not a credit note: the debt remains. It is a
  duplicate of the initial invoice marked "Facture demeurée impayée pour la somme de ...
  (prix net) et pour la somme de ... (TVA correspondante) qui ne peut faire l'objet d'une
  déduction (article 272 du CGI)" (former DB 3 D 1211 n° 46; restated, as a third party
  reports, in BOI-TVA-DED-40-10-20 § 110), sent to the debtor (in a liquidation, to the
  liquidator) before the VAT is imputed. ``rectification_mention_fr`` gives that text.

What proves irrecoverability
----------------------------
A mere failure to pay at the due date, or a provision, does not make a claim
irrecoverable; the proof is the failure of the creditor's proceedings against the
debtor (BOI-TVA-DED-40-10-20 § 40 and following, as summarised by the Éditions Francis
Lefebvre and others: the debtor's liquidation, a debtor gone without an address, a failed
enforcement). ``EVIDENCE_RULES`` lists each kind of evidence with what it justifies:

- definitive loss (charge 654, deductible in the year the loss became certain and
  definitive, BOI-BIC-PROV-40-20 § 10) and VAT recovery: the liquidator's certificate of
  irrecoverability, the judgment closing the liquidation for insufficiency of assets
  (after which creditors recover no individual action, C. com. L643-11), the commissaire
  de justice's procès-verbal de carence (failed enforcement), the procès-verbal de
  recherches infructueuses of a debtor gone without an address (CPC 659);
- VAT recovery only: the judgment pronouncing the liquidation judiciaire (CGI 272-1
  al. 1). The claim is not yet lost for income tax: irrecoverability is established
  later, by the closure (RES 2005/70, 6 Sep 2005), so the loss stays a provision;
- a provision only (créance douteuse or litigieuse, CGI 39-1-5°; BOI-BIC-PROV-40-20
  § 10): the opening of a sauvegarde or redressement judiciaire (a plan may still pay the
  claim; CGI 272-1 names only the liquidation), a dispute, an unanswered formal notice,
  an unanswered reminder (the weakest: a mere delay does not by itself justify a
  deductible provision), a collection agency's "certificate" (not by itself the proof the
  BOFiP asks for: record the failed enforcement or disappearance it relies on instead).

Not modelled (say so rather than guess): debt remissions in a sauvegarde / redressement
plan or a conciliation agreement, stolen or dishonoured cheques, a consumer's
rétablissement personnel (C. consom. L741-1 and following), prescription, and any
recovery after the write-off.

The time limit for the VAT claim
--------------------------------
The VAT must be imputed on a return, or its refund claimed, by 31 December of the
second year after the year of the event that opens the right (LPF R*196-1 c, "la
réalisation de l'événement qui motive la réclamation"; the same limit applies to a
deduction carried to a later return, CGI ann. II art. 208, formerly art. 224, which
RES 2005/70 cites). In a liquidation the right opens on the liquidation judgment; RES
2005/70 and CE 28 Jul 2011 n° 318872 (as reported) let the period run from the closure
judgment instead. A creditor's deadline is planned on the earlier, safe day
(french-collection-law.md s.7): ``vat_claim_deadline`` runs from the earliest evidence
that opened the right, and a note gives the later day when a definitive event is on file.

Accounting entries (Plan comptable général, règlement ANC 2014-03)
-----------------------------------------------------------------
When the claim becomes doubtful (``doubtful_on``): 416 Clients douteux / 411 Clients for
what the books still carry (TTC, plus any booked penalties), then 6817 Dotations aux
dépréciations des actifs circulants / 491 Dépréciations des comptes de clients on the
amount excl. VAT (the VAT is not a loss: recoverable on debits, never due on receipts),
times ``provision_rate``. At write-off: 654 Pertes sur créances irrécouvrables (excl.
VAT) and 44571 TVA collectée (the VAT recovered; on receipts, the pending VAT account
instead, 4458 by default) / 416 (or 411 when no provision stage was booked), then the
reversal 491 / 7817 Reprises sur dépréciations des actifs circulants. Every entry is
checked balanced (total debit = total credit) and so is the journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from legal.accrual import Payment, check_payments
from legal.errors import LegalError
from legal.kinds import DebtorKind, parse_debtor_kind
from legal.money import ZERO, check_amount, round_cents

VAT_ARTICLE = "CGI art. 272-1"
VAT_DOCTRINE = "BOI-TVA-DED-40-10-20"
DEADLINE_ARTICLE = "LPF R*196-1 c"
LOSS_DOCTRINE = "BOI-BIC-PROV-40-20 § 10"
NO_VAT_ARTICLE = "CGI art. 256-I; BOI-TVA-BASE-10-10-10"
PCG = "PCG (règlement ANC 2014-03)"

HUNDRED = Decimal("100")

# Plan comptable général accounts used by the entries, with their PCG names.
ACCOUNT_CLIENTS = "411"
ACCOUNT_DOUBTFUL = "416"
ACCOUNT_PROVISION = "491"
ACCOUNT_ALLOWANCE = "6817"
ACCOUNT_REVERSAL = "7817"
ACCOUNT_LOSS = "654"
ACCOUNT_VAT_COLLECTED = "44571"
ACCOUNT_VAT_PENDING = "4458"

ACCOUNT_NAMES: Mapping[str, str] = {
    ACCOUNT_CLIENTS: "Clients",
    ACCOUNT_DOUBTFUL: "Clients douteux ou litigieux",
    ACCOUNT_PROVISION: "Dépréciations des comptes de clients",
    ACCOUNT_ALLOWANCE: "Dotations aux dépréciations des actifs circulants",
    ACCOUNT_REVERSAL: "Reprises sur dépréciations des actifs circulants",
    ACCOUNT_LOSS: "Pertes sur créances irrécouvrables",
    ACCOUNT_VAT_COLLECTED: "TVA collectée",
    ACCOUNT_VAT_PENDING: "Taxes sur le chiffre d'affaires à régulariser ou en attente",
}


class VatExigibility(StrEnum):
    """When the invoice's VAT fell due.

    - ``debits``: on delivery or invoicing whatever the payment: goods (CGI 269-2-a) and
      services with the option for debits (269-2-c); the VAT was paid to the Treasury;
    - ``encaissements``: on receipt (services by default, 269-2-c): the VAT on what was
      never received was never due.
    """

    DEBITS = "debits"
    ENCAISSEMENTS = "encaissements"


def parse_vat_exigibility(value: str) -> VatExigibility:
    """``VatExigibility`` from its text value; unknown text raises ``LegalError``."""
    try:
        return VatExigibility(value)
    except ValueError:
        choices = ", ".join(kind.value for kind in VatExigibility)
        raise LegalError(f"unknown VAT exigibility {value!r} (expected {choices})") from None


class EvidenceKind(StrEnum):
    """A document on file about the claim's recovery (see ``EVIDENCE_RULES``)."""

    LIQUIDATOR_CERTIFICATE = "liquidator_certificate"
    LIQUIDATION_CLOSURE = "liquidation_closure"
    FAILED_ENFORCEMENT = "failed_enforcement"
    DEBTOR_DISAPPEARED = "debtor_disappeared"
    LIQUIDATION_JUDGMENT = "liquidation_judgment"
    COLLECTIVE_PROCEEDING_OPENED = "collective_proceeding_opened"
    DISPUTE = "dispute"
    FORMAL_NOTICE_UNANSWERED = "formal_notice_unanswered"
    UNANSWERED_REMINDER = "unanswered_reminder"
    AGENCY_CERTIFICATE = "agency_certificate"


def parse_evidence_kind(value: str) -> EvidenceKind:
    """``EvidenceKind`` from its text value; unknown text raises ``LegalError``."""
    try:
        return EvidenceKind(value)
    except ValueError:
        choices = ", ".join(kind.value for kind in EvidenceKind)
        raise LegalError(f"unknown evidence kind {value!r} (expected {choices})") from None


Strength = Literal["definitive", "vat_only", "provision"]
_RANK: Mapping[str, int] = {"definitive": 3, "vat_only": 2, "provision": 1}


class EvidenceRule(BaseModel):
    """What one kind of evidence justifies, and on which source."""

    model_config = ConfigDict(frozen=True)

    kind: EvidenceKind
    label_fr: str
    label_en: str
    strength: Strength
    loss_deductible: bool
    """The loss is definitive: charge 654, deductible for income tax this year."""
    vat_recoverable: bool
    """The VAT paid on the unpaid part may be imputed or refunded (when on debits)."""
    basis: str
    note: str = ""


def _rule(
    kind: EvidenceKind,
    label_fr: str,
    label_en: str,
    strength: Strength,
    basis: str,
    note: str = "",
) -> EvidenceRule:
    return EvidenceRule(
        kind=kind,
        label_fr=label_fr,
        label_en=label_en,
        strength=strength,
        loss_deductible=strength == "definitive",
        vat_recoverable=strength in ("definitive", "vat_only"),
        basis=basis,
        note=note,
    )


_LIQUIDATION_NOTE = (
    "keep the declaration of claim to the mandataire (C. com. L622-24) with this evidence; "
    "the rectified invoice goes to the liquidator"
)

EVIDENCE_RULES: Mapping[EvidenceKind, EvidenceRule] = {
    rule.kind: rule
    for rule in (
        _rule(
            EvidenceKind.LIQUIDATOR_CERTIFICATE,
            "Certificat d'irrécouvrabilité du liquidateur judiciaire",
            "Liquidator's certificate of irrecoverability",
            "definitive",
            f"{VAT_ARTICLE}; {VAT_DOCTRINE} § 40 s.; {LOSS_DOCTRINE}",
            _LIQUIDATION_NOTE,
        ),
        _rule(
            EvidenceKind.LIQUIDATION_CLOSURE,
            "Jugement de clôture de la liquidation judiciaire pour insuffisance d'actif",
            "Judgment closing the liquidation for insufficiency of assets",
            "definitive",
            f"{VAT_ARTICLE}; C. com. L643-11; RES 2005/70; {LOSS_DOCTRINE}",
            _LIQUIDATION_NOTE,
        ),
        _rule(
            EvidenceKind.FAILED_ENFORCEMENT,
            "Procès-verbal de carence du commissaire de justice (exécution infructueuse)",
            "Commissaire de justice's report of failed enforcement (procès-verbal de carence)",
            "definitive",
            f"{VAT_ARTICLE}; {VAT_DOCTRINE} § 40 s.; {LOSS_DOCTRINE}",
        ),
        _rule(
            EvidenceKind.DEBTOR_DISAPPEARED,
            "Procès-verbal de recherches infructueuses : débiteur disparu sans adresse",
            "Report of unsuccessful searches: debtor gone without an address",
            "definitive",
            f"{VAT_ARTICLE}; {VAT_DOCTRINE} § 40 s.; CPC 659; {LOSS_DOCTRINE}",
        ),
        _rule(
            EvidenceKind.LIQUIDATION_JUDGMENT,
            "Jugement prononçant la liquidation judiciaire",
            "Judgment pronouncing the liquidation judiciaire",
            "vat_only",
            f"{VAT_ARTICLE} al. 1; {VAT_DOCTRINE} § 1; RES 2005/70",
            "the VAT may be recovered from the judgment, but the loss is definitive only "
            "once the liquidator certifies it or the liquidation closes: provision until then; "
            + _LIQUIDATION_NOTE,
        ),
        _rule(
            EvidenceKind.COLLECTIVE_PROCEEDING_OPENED,
            "Ouverture d'une sauvegarde ou d'un redressement judiciaire",
            "Opening of a sauvegarde or redressement judiciaire",
            "provision",
            f"CGI 39-1-5°; {LOSS_DOCTRINE}; {VAT_ARTICLE} (only a liquidation opens the VAT "
            "right early)",
            "a plan may still pay the claim; debt remissions in a plan are not modelled",
        ),
        _rule(
            EvidenceKind.DISPUTE,
            "Litige avec le débiteur (créance litigieuse)",
            "Dispute with the debtor (créance litigieuse)",
            "provision",
            f"CGI 39-1-5°; {LOSS_DOCTRINE}",
        ),
        _rule(
            EvidenceKind.FORMAL_NOTICE_UNANSWERED,
            "Mise en demeure restée sans effet",
            "Formal notice left unanswered",
            "provision",
            f"CGI 39-1-5°; {LOSS_DOCTRINE}; {VAT_DOCTRINE} § 40 s.",
            "non-payment alone is not irrecoverability",
        ),
        _rule(
            EvidenceKind.UNANSWERED_REMINDER,
            "Relance restée sans réponse",
            "Reminder left unanswered",
            "provision",
            f"CGI 39-1-5°; {LOSS_DOCTRINE}; {VAT_DOCTRINE} § 40 s.",
            "a mere delay does not by itself justify a deductible provision: keep the "
            "reminders, the formal notice and the debtor's situation in the provision file",
        ),
        _rule(
            EvidenceKind.AGENCY_CERTIFICATE,
            "Attestation d'irrécouvrabilité d'une société de recouvrement amiable",
            "Amicable collection agency's certificate",
            "provision",
            f"{VAT_DOCTRINE} § 40 s.",
            "not by itself the failed proceedings the BOFiP asks for: record the procès-verbal "
            "de carence or de recherches infructueuses it relies on instead",
        ),
    )
}


class Evidence(BaseModel):
    """One document on file: its kind, its date, who issued it and its reference."""

    model_config = ConfigDict(frozen=True)

    kind: EvidenceKind
    on: date
    """The date of the act, judgment or certificate (for a reminder: its sending)."""
    reference: str = ""
    issuer: str = ""

    @property
    def rule(self) -> EvidenceRule:
        return EVIDENCE_RULES[self.kind]


Stage = Literal["doubtful", "provision", "vat_recovery", "write_off", "reversal"]


class EntryLine(BaseModel):
    """One line of a journal entry: one account, debit or credit."""

    model_config = ConfigDict(frozen=True)

    account: str
    account_name: str
    label: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


class JournalEntry(BaseModel):
    """One balanced entry (one piece): the lines posted together on one date."""

    model_config = ConfigDict(frozen=True)

    on: date
    journal: str
    piece: str
    stage: Stage
    description: str
    lines: tuple[EntryLine, ...]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def journal_balanced(entries: Sequence[JournalEntry]) -> bool:
    """Every entry balanced, hence the journal: total debit = total credit."""
    return all(entry.balanced for entry in entries)


VatStatus = Literal["recoverable", "not_yet_recoverable", "not_due_on_receipts"]
Treatment = Literal["loss", "provision"]


class WriteOffAssessment(BaseModel):
    """The write-off of one invoice as of ``assessed_on``; euros with two decimals."""

    model_config = ConfigDict(frozen=True)

    invoice_reference: str
    invoice_date: date
    assessed_on: date
    debtor_kind: DebtorKind
    vat_exigibility: VatExigibility

    principal_ttc: Decimal
    invoice_vat: Decimal
    invoice_ht: Decimal
    vat_rate: Decimal | None
    """Percent, when given (the invoice's VAT amount wins when both are given)."""
    vat_source: Literal["invoice_amount", "rate"]

    paid: Decimal
    paid_to_principal: Decimal
    paid_beyond_principal: Decimal
    """Imputed to the penalties and indemnity once the principal was paid."""

    unpaid_ttc: Decimal
    unpaid_ht: Decimal
    unpaid_vat: Decimal
    """The invoice's VAT in proportion to the unpaid TTC."""

    penalties: Decimal
    indemnity: Decimal
    accessories_unpaid: Decimal
    """Penalties and indemnity still unpaid: no VAT on them (CGI 256-I)."""
    accessories_booked: bool

    evidence: tuple[Evidence, ...]
    deciding_evidence: Evidence
    treatment: Treatment
    """``loss``: definitive, charge 654; ``provision``: doubtful, 6817 / 491 only."""
    loss_deductible: bool

    vat_status: VatStatus
    vat_recoverable: Decimal
    vat_right_opened_on: date | None
    vat_claim_deadline: date | None
    """31 December of the second year after ``vat_right_opened_on`` (LPF R*196-1 c)."""
    rectification_required: bool

    provision_rate: Decimal
    provision_base: Decimal
    provision: Decimal
    written_off: Decimal
    """What the books still carried for the invoice and now leave 411 / 416."""
    loss: Decimal
    """The charge 654 (excl. VAT, plus booked penalties); zero for a provision."""

    entries: tuple[JournalEntry, ...]
    balanced: bool
    notes: tuple[str, ...]
    articles: tuple[str, ...]


def format_amount_fr(value: Decimal) -> str:
    """An amount the French way, exactly to the cent: ``1 234,56`` (narrow no-break
    space between thousands)."""
    text = f"{round_cents(value):,.2f}"
    return text.replace(",", "\u202f").replace(".", ",")


def rectification_mention_fr(assessment: WriteOffAssessment) -> str | None:
    """The mention for the duplicate of the unpaid invoice (CGI 272-1; former DB 3 D 1211
    n° 46), or None when no VAT is recovered."""
    if assessment.vat_recoverable == 0:
        return None
    return (
        f"Facture n° {assessment.invoice_reference} du {assessment.invoice_date:%d/%m/%Y} "
        f"demeurée impayée pour la somme de {format_amount_fr(assessment.unpaid_ht)} € "
        f"(prix net) et pour la somme de {format_amount_fr(assessment.vat_recoverable)} € "
        "(TVA correspondante) qui ne peut faire l'objet d'une déduction (article 272 du CGI)."
    )


def vat_claim_deadline(event: date) -> date:
    """31 December of the second year after ``event`` (LPF R*196-1 c)."""
    return date(event.year + 2, 12, 31)


def _check_rate(rate: Decimal) -> Decimal:
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate < HUNDRED:
        raise LegalError(f"VAT rate must be a percentage from 0 to under 100, got {rate!r}")
    return rate


def _invoice_vat(
    ttc: Decimal, vat_rate: Decimal | None, vat_amount: Decimal | None, notes: list[str]
) -> tuple[Decimal, Literal["invoice_amount", "rate"]]:
    from_rate = None
    if vat_rate is not None:
        rate = Fraction(_check_rate(vat_rate))
        from_rate = round_cents(Fraction(ttc) * rate / (100 + rate))
    if vat_amount is None:
        if from_rate is None:
            raise LegalError("give the invoice's VAT amount or its VAT rate")
        notes.append(
            f"invoice VAT {from_rate} computed from the rate {vat_rate} % on {ttc} TTC; "
            "check it against the invoice, whose VAT is what was declared"
        )
        return from_rate, "rate"
    vat = check_amount(vat_amount, "invoice VAT", allow_zero=True)
    if vat >= ttc:
        raise LegalError(f"invoice VAT {vat} is not less than the amount incl. VAT {ttc}")
    if from_rate is not None and abs(from_rate - vat) > Decimal("0.01"):
        notes.append(
            f"the invoice's VAT {vat} differs from {from_rate} at {vat_rate} %: the "
            "invoice's amount is used (several rates, or line rounding)"
        )
    return vat, "invoice_amount"


def _deciding(evidence: Sequence[Evidence]) -> Evidence:
    """The strongest evidence; among equals, the earliest (then the first given)."""
    best = evidence[0]
    for item in evidence[1:]:
        rank, best_rank = _RANK[item.rule.strength], _RANK[best.rule.strength]
        if rank > best_rank or (rank == best_rank and item.on < best.on):
            best = item
    return best


def _debtor_notes(kind: DebtorKind, evidence: Sequence[Evidence]) -> list[str]:
    kinds = {item.kind for item in evidence}
    liquidation = kinds & {
        EvidenceKind.LIQUIDATION_JUDGMENT,
        EvidenceKind.LIQUIDATOR_CERTIFICATE,
        EvidenceKind.LIQUIDATION_CLOSURE,
    }
    notes: list[str] = []
    if kind is DebtorKind.PUBLIC and (liquidation or EvidenceKind.FAILED_ENFORCEMENT in kinds):
        notes.append(
            "public debtor: a public-law person cannot be put in liquidation judiciaire "
            "(C. com. L640-2 covers professionals and private-law legal persons) and its "
            "property cannot be seized (CG3P L2311-1); this evidence fits only a public "
            "company under private law: check the debtor"
        )
    if kind is DebtorKind.CONSUMER and liquidation:
        notes.append(
            "consumer debtor: the liquidation judiciaire of the Code de commerce concerns a "
            "private person only for a professional activity; a consumer's rétablissement "
            "personnel (C. consom. L741-1 and following) is not modelled here: check the "
            "judgment"
        )
    return notes


class _Book:
    """Builds the entries of one write-off (one journal, one invoice reference)."""

    def __init__(self, journal: str, reference: str) -> None:
        self.journal = journal
        self.reference = reference
        self.entries: list[JournalEntry] = []

    def post(
        self,
        on: date,
        stage: Stage,
        code: str,
        description: str,
        lines: Sequence[tuple[str, str, Decimal, Decimal]],
    ) -> None:
        entry = JournalEntry(
            on=on,
            journal=self.journal,
            piece=f"{self.reference}-{code}",
            stage=stage,
            description=description,
            lines=tuple(
                EntryLine(
                    account=account,
                    account_name=ACCOUNT_NAMES.get(account, ACCOUNT_NAMES[ACCOUNT_VAT_PENDING]),
                    label=label,
                    debit=debit,
                    credit=credit,
                )
                for account, label, debit, credit in lines
                if debit or credit
            ),
        )
        if not entry.balanced:  # pragma: no cover - the amounts are built to balance
            raise LegalError(f"entry {entry.piece} does not balance")
        self.entries.append(entry)


def write_off_assessment(
    *,
    invoice_reference: str,
    invoice_date: date,
    principal_ttc: Decimal,
    evidence: Sequence[Evidence],
    debtor_kind: DebtorKind | str,
    vat_exigibility: VatExigibility | str,
    assessed_on: date,
    vat_rate: Decimal | None = None,
    vat_amount: Decimal | None = None,
    payments: Sequence[Payment] = (),
    penalties: Decimal = ZERO,
    indemnity: Decimal = ZERO,
    accessories_booked: bool = False,
    doubtful_on: date | None = None,
    provision_rate: Decimal = HUNDRED,
    journal: str = "OD",
    pending_vat_account: str = ACCOUNT_VAT_PENDING,
) -> WriteOffAssessment:
    """Assess the write-off of one invoice and build its accounting entries (pure).

    ``principal_ttc``: the invoice's amount incl. VAT; ``vat_amount`` the VAT it states
    (preferred: it is what was declared) or ``vat_rate`` in percent (20, 10, 5.5...).
    ``payments``: what the debtor paid, imputed to the principal first.
    ``penalties`` / ``indemnity``: what the case claims on top (no VAT); they enter the
    books only if ``accessories_booked`` (the creditor booked them as receivables).
    ``evidence``: the documents on file; the strongest decides (``EVIDENCE_RULES``).
    ``vat_exigibility``: ``debits`` or ``encaissements`` (see ``VatExigibility``).
    ``assessed_on``: the date of the write-off (or of the provision when the evidence
    justifies only a provision); no payment or evidence may be later.
    ``doubtful_on``: when the claim became doubtful: the reclassification to 416 and the
    provision are posted that day, reversed at the write-off. Without it, a provision
    outcome is posted on ``assessed_on`` and a loss is written off straight from 411.
    ``provision_rate``: percent of the amount excl. VAT provisioned (the share whose
    recovery is compromised; 100 by default).
    ``pending_vat_account``: on receipts, where the not-yet-due VAT was booked.
    Raises ``LegalError`` on inconsistent input or when nothing is left to write off.
    """
    reference = invoice_reference.strip()
    if not reference:
        raise LegalError("the invoice reference is empty")
    if not journal.strip():
        raise LegalError("the journal code is empty")
    kind = parse_debtor_kind(debtor_kind)
    exigibility = (
        vat_exigibility
        if isinstance(vat_exigibility, VatExigibility)
        else parse_vat_exigibility(vat_exigibility)
    )
    if assessed_on < invoice_date:
        raise LegalError(f"the write-off date {assessed_on} is before the invoice {invoice_date}")
    if doubtful_on is not None and not invoice_date <= doubtful_on <= assessed_on:
        raise LegalError(
            f"the claim became doubtful on {doubtful_on}, outside {invoice_date}..{assessed_on}"
        )
    if (
        not isinstance(provision_rate, Decimal)
        or not provision_rate.is_finite()
        or not 0 < provision_rate <= HUNDRED
    ):
        raise LegalError(f"provision rate must be above 0 and at most 100, got {provision_rate}")
    if not evidence:
        raise LegalError("no evidence on file: a write-off or a provision needs its proof")
    items = tuple(sorted(evidence, key=lambda item: item.on))
    for item in items:
        if item.on > assessed_on:
            raise LegalError(f"{item.kind} dated {item.on} is after the write-off {assessed_on}")

    notes: list[str] = []
    ttc = check_amount(principal_ttc, "principal incl. VAT")
    invoice_vat, vat_source = _invoice_vat(ttc, vat_rate, vat_amount, notes)
    penalties = check_amount(penalties, "penalties", allow_zero=True)
    indemnity = check_amount(indemnity, "indemnity", allow_zero=True)
    if kind is DebtorKind.CONSUMER and indemnity:
        raise LegalError("a consumer owes no 40 EUR indemnity (C. com. L441-10 II, D441-5)")

    ordered = check_payments(payments, assessed_on)
    paid = round_cents(sum((p.amount for p in ordered), ZERO))
    to_principal = min(paid, ttc)
    beyond = paid - to_principal
    unpaid_ttc = ttc - to_principal
    unpaid_vat = round_cents(Fraction(invoice_vat) * Fraction(unpaid_ttc) / Fraction(ttc))
    unpaid_ht = unpaid_ttc - unpaid_vat
    accessories_unpaid = max(penalties + indemnity - beyond, ZERO)
    booked_accessories = accessories_unpaid if accessories_booked else ZERO
    written_off = unpaid_ttc + booked_accessories
    if written_off == 0:
        raise LegalError(
            "nothing left to write off: the principal is paid"
            + (" and so are the booked penalties" if accessories_booked else "")
        )
    if accessories_unpaid and not accessories_booked:
        notes.append(
            f"penalties and indemnity still unpaid ({accessories_unpaid}) were not booked "
            "(taxed when collected, CGI 237 sexies): no entry, no loss, no VAT"
        )

    deciding = _deciding(items)
    rule = deciding.rule
    treatment: Treatment = "loss" if rule.loss_deductible else "provision"
    vat_events = [item for item in items if item.rule.vat_recoverable]
    vat_status: VatStatus
    right_opened_on: date | None = None
    if exigibility is VatExigibility.ENCAISSEMENTS:
        vat_status = "not_due_on_receipts"
        notes.append(
            f"VAT on receipts: the {unpaid_vat} of VAT on the unpaid part was never due nor "
            f"paid, so nothing is recovered ({VAT_ARTICLE}; BOI-TVA-DECLA-20-30-10-10 § 30)"
        )
    elif vat_events:
        vat_status = "recoverable"
        right_opened_on = vat_events[0].on
    else:
        vat_status = "not_yet_recoverable"
    vat_recoverable = unpaid_vat if vat_status == "recoverable" else ZERO
    deadline = vat_claim_deadline(right_opened_on) if right_opened_on else None
    if deadline is not None:
        notes.append(
            f"impute or claim the VAT by {deadline} ({DEADLINE_ARTICLE}; CGI ann. II art. 208), "
            f"counted from {right_opened_on} ({vat_events[0].kind}), after sending the "
            "rectified duplicate of the invoice"
        )
        definitive = [
            item
            for item in vat_events
            if item.kind in (EvidenceKind.LIQUIDATOR_CERTIFICATE, EvidenceKind.LIQUIDATION_CLOSURE)
        ]
        if vat_events[0].kind is EvidenceKind.LIQUIDATION_JUDGMENT and definitive:
            later = vat_claim_deadline(definitive[-1].on)
            if later > deadline:
                notes.append(
                    f"from the definitive event of {definitive[-1].on} the period would end "
                    f"{later} (RES 2005/70; CE 28 Jul 2011 n° 318872): not relied on, the safe "
                    f"day is {deadline}"
                )
    if rule.note:
        notes.append(f"{deciding.kind}: {rule.note}")
    notes.extend(_debtor_notes(kind, items))

    provision_base = unpaid_ht + booked_accessories
    provision = round_cents(Fraction(provision_base) * Fraction(provision_rate) / 100)
    doubtful_day = doubtful_on
    if treatment == "provision" and doubtful_day is None:
        doubtful_day = assessed_on
    loss = provision_base if treatment == "loss" else ZERO

    book = _Book(journal.strip(), reference)
    receivable = ACCOUNT_CLIENTS
    if doubtful_day is not None:
        receivable = ACCOUNT_DOUBTFUL
        book.post(
            doubtful_day,
            "doubtful",
            "DOUT",
            f"Claim {reference} becomes doubtful ({deciding.kind})",
            [
                (ACCOUNT_DOUBTFUL, f"Créance douteuse {reference}", written_off, ZERO),
                (ACCOUNT_CLIENTS, f"Créance douteuse {reference}", ZERO, written_off),
            ],
        )
        label = f"Dépréciation créance {reference} ({provision_rate} % HT)"
        book.post(
            doubtful_day,
            "provision",
            "DEPR",
            f"Provision of {provision_rate} % of {provision_base} excl. VAT ({LOSS_DOCTRINE})",
            [
                (ACCOUNT_ALLOWANCE, label, provision, ZERO),
                (ACCOUNT_PROVISION, label, ZERO, provision),
            ],
        )
    if treatment == "provision" and vat_recoverable:
        label = f"TVA récupérée sur créance {reference} (CGI art. 272-1)"
        book.post(
            assessed_on,
            "vat_recovery",
            "TVA",
            f"VAT recovered from the liquidation judgment ({VAT_ARTICLE} al. 1)",
            [
                (ACCOUNT_VAT_COLLECTED, label, vat_recoverable, ZERO),
                (receivable, label, ZERO, vat_recoverable),
            ],
        )
    if treatment == "loss":
        vat_account = ACCOUNT_VAT_COLLECTED
        vat_label = f"TVA récupérée sur créance {reference} (CGI art. 272-1)"
        vat_debit = vat_recoverable
        if exigibility is VatExigibility.ENCAISSEMENTS:
            vat_account = pending_vat_account.strip() or ACCOUNT_VAT_PENDING
            vat_label = f"TVA non exigible annulée {reference} (encaissements)"
            vat_debit = unpaid_vat
        label = f"Perte sur créance irrécouvrable {reference}"
        book.post(
            assessed_on,
            "write_off",
            "PERTE",
            f"Write-off on {deciding.rule.label_en.lower()} {deciding.reference}".rstrip(),
            [
                (ACCOUNT_LOSS, label, loss, ZERO),
                (vat_account, vat_label, vat_debit, ZERO),
                (receivable, label, ZERO, written_off),
            ],
        )
        if doubtful_day is not None:
            label = f"Reprise dépréciation créance {reference}"
            book.post(
                assessed_on,
                "reversal",
                "REPR",
                "Reversal of the provision at write-off",
                [
                    (ACCOUNT_PROVISION, label, provision, ZERO),
                    (ACCOUNT_REVERSAL, label, ZERO, provision),
                ],
            )

    articles = [VAT_ARTICLE, VAT_DOCTRINE, "BOI-TVA-DECLA-20-30-10-10", LOSS_DOCTRINE]
    articles += ["CGI 39-1-5°", DEADLINE_ARTICLE, NO_VAT_ARTICLE, "C. com. L441-10", PCG]
    return WriteOffAssessment(
        invoice_reference=reference,
        invoice_date=invoice_date,
        assessed_on=assessed_on,
        debtor_kind=kind,
        vat_exigibility=exigibility,
        principal_ttc=ttc,
        invoice_vat=invoice_vat,
        invoice_ht=ttc - invoice_vat,
        vat_rate=vat_rate,
        vat_source=vat_source,
        paid=paid,
        paid_to_principal=to_principal,
        paid_beyond_principal=beyond,
        unpaid_ttc=unpaid_ttc,
        unpaid_ht=unpaid_ht,
        unpaid_vat=unpaid_vat,
        penalties=penalties,
        indemnity=indemnity,
        accessories_unpaid=accessories_unpaid,
        accessories_booked=accessories_booked,
        evidence=items,
        deciding_evidence=deciding,
        treatment=treatment,
        loss_deductible=treatment == "loss",
        vat_status=vat_status,
        vat_recoverable=vat_recoverable,
        vat_right_opened_on=right_opened_on,
        vat_claim_deadline=deadline,
        rectification_required=vat_recoverable > 0,
        provision_rate=provision_rate,
        provision_base=provision_base,
        provision=provision if doubtful_day is not None else ZERO,
        written_off=written_off,
        loss=loss,
        entries=tuple(book.entries),
        balanced=journal_balanced(book.entries),
        notes=tuple(notes),
        articles=tuple(articles),
    )
