"""summary.pdf: the case's timeline on a few pages, for people who read paper.

Core fonts only (nothing to ship or embed): their WinAnsi encoding covers French (é, à,
ç, œ, €, « », curly quotes). Any other character is replaced by its unaccented form, or by "?",
so no text of a case can make the summary fail.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from schemas.case import CaseView
from schemas.french_format import french_amount, french_date
from services.audit.case_records import CaseRecord, EmailRecord, OutboxRecord
from services.audit.models import ChainVerification

ENCODING = "cp1252"  # what WinAnsiEncoding, declared by fpdf2 for core fonts, means
_SUBSTITUTES = {
    "\u202f": "\u00a0",  # narrow no-break space (French thousands) -> no-break space
    "\u2009": " ",
    "\u2011": "-",
    "\u2212": "-",
    "\u2192": "->",
    "\u2264": "<=",
    "\u2265": ">=",
    "\t": "    ",
    # letters with no decomposition to a base letter
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0126": "H",
    "\u0127": "h",
    "\u0131": "i",
}


def pdf_text(text: str) -> str:
    """``text`` reduced to what the core fonts can draw; never raises."""
    out = []
    for char in text.replace("\r\n", "\n"):
        char = _SUBSTITUTES.get(char, char)
        if char != "\n" and unicodedata.category(char[0]) in ("Cc", "Cf"):
            out.append(" " if unicodedata.category(char[0]) == "Cc" else "")
            continue
        if _encodable(char):
            out.append(char)
            continue
        stripped = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(stripped if stripped and _encodable(stripped) else "?")
    return "".join(out)


def _encodable(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S UTC")


def day(value: date | None) -> str:
    return "-" if value is None else french_date(value)


def money(value: Decimal | str | None, currency: str = "EUR") -> str:
    return "-" if value is None else french_amount(Decimal(value), currency)


@dataclass(frozen=True)
class SummaryInput:
    case: CaseRecord
    view: CaseView
    chain: ChainVerification
    emails: list[EmailRecord]
    documents: list[OutboxRecord]
    history_events: int
    generated_at: datetime
    generated_by: str


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.core_fonts_encoding = ENCODING
        self._footer_text = pdf_text(footer_text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "I", 7)
        self.cell(0, 5, f"{self._footer_text} - page {self.page_no()}/{{nb}}", align="C")


class _Writer:
    def __init__(self, pdf: _Pdf) -> None:
        self.pdf = pdf

    def title(self, text: str) -> None:
        self.pdf.set_font("Helvetica", "B", 15)
        self.pdf.multi_cell(0, 8, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("Helvetica", "B", 11)
        self.pdf.multi_cell(0, 6, pdf_text(text), border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(1)

    def field(self, label: str, value: Any, mono: bool = False) -> None:
        self.pdf.set_font("Helvetica", "B", 9)
        self.pdf.cell(48, 5, pdf_text(f"{label} :"))
        self.pdf.set_font("Courier" if mono else "Helvetica", "", 8 if mono else 9)
        self.pdf.multi_cell(0, 5, pdf_text(str(value)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def line(self, text: str, indent: float = 0, size: float = 9, bold: bool = False) -> None:
        self.pdf.set_font("Helvetica", "B" if bold else "", size)
        self.pdf.set_x(self.pdf.l_margin + indent)
        self.pdf.multi_cell(0, 4.6, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def none(self, text: str = "aucun") -> None:
        self.pdf.set_font("Helvetica", "I", 9)
        self.pdf.multi_cell(0, 5, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_summary(data: SummaryInput) -> bytes:
    """The PDF; the same input gives the same bytes (its dates come from ``data``)."""
    case, view = data.case, data.view
    pdf = _Pdf(f"recouvre - dossier {case.case_id} - {when(data.generated_at)}")
    pdf.set_title(pdf_text(f"Dossier de preuve - facture {case.invoice_number}"))
    pdf.set_author(pdf_text(data.generated_by))
    pdf.set_creator("recouvre")
    pdf.set_creation_date(data.generated_at)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    w = _Writer(pdf)

    w.title(f"Dossier de preuve - facture {case.invoice_number}")
    w.line(f"Généré le {when(data.generated_at)} pour {data.generated_by}", size=8)
    _identity(w, data)
    _invoice_and_debtor(w, data)
    _balance(w, view)
    _formal_notice(w, view)
    _actions(w, view)
    _payments_and_holds(w, view)
    _journal(w, view)
    _documents(w, data)
    _chain(w, data)
    return bytes(pdf.output())


def _identity(w: _Writer, data: SummaryInput) -> None:
    case, view = data.case, data.view
    w.heading("Dossier")
    w.field("Dossier (case id)", case.case_id, mono=True)
    w.field("Workflow", case.workflow_id, mono=True)
    w.field("Créancier (tenant)", case.tenant)
    w.field("Ouvert le", when(view.opened_at))
    w.field("Étape", view.stage.value)
    w.field("Issue", view.outcome.value if view.outcome else "en cours")
    w.field("Clôturé le", when(view.closed_at))
    w.field("Politique", f"{view.policy_id} version {view.policy_version}")
    w.field("Barème des taux", view.rates_version or "non enregistré")
    w.field("Prescription", day(view.prescription_last_day))
    w.field("Historique Temporal", f"{data.history_events} événements (history.json)")


def _invoice_and_debtor(w: _Writer, data: SummaryInput) -> None:
    invoice, view = data.case.invoice, data.view
    w.heading("Facture")
    w.field("Numéro", data.case.invoice_number)
    w.field("Émise le", _iso_day(invoice.get("issue_date")))
    w.field("Échéance", day(view.due_date))
    w.field("Montant dû", money(view.amount_due, view.currency))
    debtor = invoice.get("debtor") or {}
    address = debtor.get("address") or {}
    w.heading("Débiteur")
    w.field("Nom", debtor.get("name", view.debtor_name))
    w.field("Type", debtor.get("kind", view.debtor_kind))
    if debtor.get("siren"):
        w.field("SIREN", debtor["siren"])
    w.field("Email", debtor.get("email", "-"))
    lines = [address.get("line1"), address.get("line2")]
    place = " ".join(p for p in (address.get("postal_code"), address.get("city")) if p)
    w.field("Adresse", ", ".join(p for p in [*lines, place, address.get("country")] if p) or "-")


def _iso_day(value: Any) -> str:
    try:
        return day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _balance(w: _Writer, view: CaseView) -> None:
    w.heading("Solde")
    w.field("Montant dû", money(view.amount_due, view.currency))
    w.field("Payé", money(view.paid_total, view.currency))
    w.field("Avoirs", money(view.credited, view.currency))
    w.field("Solde restant", money(view.balance, view.currency))


def _formal_notice(w: _Writer, view: CaseView) -> None:
    w.heading("Mise en demeure")
    notice = view.formal_notice
    if notice is None:
        w.none("Mise en demeure : non envoyée")
        return
    w.field("Envoyée le", when(notice.sent_at))
    w.field("Première présentation", day(notice.first_presented_on))
    w.field("Délai jusqu'au", day(notice.deadline))
    for status, on in notice.statuses:
        w.line(f"{day(on)} - statut du recommandé : {status}", indent=4)


def _actions(w: _Writer, view: CaseView) -> None:
    w.heading(f"Actions ({len(view.actions)})")
    if not view.actions:
        w.none()
    for action in view.actions:
        w.line(f"{when(action.done_at)} - {action.label} [{action.step}]", bold=True)
        w.line(
            f"canal : {action.channel.value} - destinataire : {action.recipient or '-'} - "
            f"statut : {action.status}",
            indent=4,
        )
        w.line(f"référence : {action.reference or '-'}", indent=4, size=8)
        if action.detail:
            w.line(action.detail, indent=4, size=8)


def _payments_and_holds(w: _Writer, view: CaseView) -> None:
    w.heading(f"Paiements ({len(view.payments)})")
    if not view.payments:
        w.none()
    for payment in view.payments:
        w.line(
            f"{day(payment.paid_on)} - {money(payment.amount, view.currency)} - "
            f"référence {payment.reference} (enregistré le {when(payment.recorded_at)})"
        )
    w.heading(f"Suspensions en cours ({len(view.holds)})")
    if not view.holds:
        w.none("aucune")
    for hold in view.holds:
        until = f" jusqu'au {day(hold.until)}" if hold.until else ""
        by = f" par {hold.by}" if hold.by else ""
        w.line(f"{hold.kind.value} depuis le {when(hold.since)}{until}{by} : {hold.reason}")


def _journal(w: _Writer, view: CaseView) -> None:
    w.heading(f"Journal ({len(view.journal)})")
    if not view.journal:
        w.none()
    for entry in view.journal:
        by = f" (par {entry.by})" if entry.by else ""
        w.line(f"{when(entry.at)} - {entry.type}{by} : {entry.detail}")


def _documents(w: _Writer, data: SummaryInput) -> None:
    total = len(data.emails) + len(data.documents)
    w.heading(f"Documents ({total}, dans documents/)")
    if not total:
        w.none()
    for email in data.emails:
        w.line(
            f"{when(email.sent_at or email.created_at)} - email [{email.step}] à "
            f"{email.recipient} - {email.subject} - {email.status}"
        )
        w.line(f"Message-ID {email.message_id} - SHA-256 {email.body_sha256}", indent=4, size=7)
    for doc in data.documents:
        who = doc.recipient.get("name", "-")
        w.line(
            f"{when(doc.created_at)} - {doc.channel} [{doc.step}] à {who} - "
            f"{doc.template} - référence {doc.reference}"
        )
        w.line(f"SHA-256 {doc.body_sha256}", indent=4, size=7)


def _chain(w: _Writer, data: SummaryInput) -> None:
    chain = data.chain
    w.heading("Chaîne d'événements")
    w.field("Flux", data.case.case_id, mono=True)
    if chain.ok:
        w.field("Vérification", f"intacte : {chain.count} événements vérifiés")
    else:
        broken = chain.first_break
        assert broken is not None
        w.field(
            "Vérification",
            f"ROMPUE à la version {broken.version} ({broken.problem}); "
            f"{chain.count} événements vérifiés avant la rupture",
        )
        w.field("Attendu", broken.expected, mono=True)
        w.field("Trouvé", broken.found, mono=True)
    w.field("Hash de tête", chain.head_hash, mono=True)
    w.line(
        "Chaque événement porte le SHA-256 de son contenu et du hash précédent : "
        "events.json permet de tout recalculer.",
        size=8,
    )
