"""The sandbox's proof documents: deposit proof, content proof, signed acknowledgement of
receipt, and the scan of a returned letter.

Plain PDFs that say what a real proof says (who, where, when, the registered number and the
digest of the posted document). They are marked as sandbox documents with no legal value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.registered_mail.letter_pdf import render_letter_pdf

NOTICE = "DOCUMENT DE TEST (bac à sable recouvre) - sans valeur juridique"


def _address(recipient: dict[str, Any]) -> str:
    lines = [str(recipient.get(f"address_line_{n}") or "") for n in range(1, 7)]
    return "\n".join(line for line in lines if line)


def _when(value: Any) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.strftime("%d/%m/%Y %H:%M UTC")


def _proof(
    heading: str,
    title: str,
    recipient: dict[str, Any],
    date_field: str,
    details: list[str],
) -> bytes:
    """A proof as the sandbox prints it: heading, notice, the sending's lines, the
    recipient's address; dated by ``recipient[date_field]``."""
    text = "\n".join(
        [
            heading,
            NOTICE,
            "",
            *details,
            "",
            "Destinataire :",
            _address(recipient),
        ]
    )
    return render_letter_pdf(
        text,
        title=title,
        reference=str(recipient.get("registered_number", "")),
        created_at=datetime.fromisoformat(str(recipient.get(date_field)).replace("Z", "+00:00")),
    )


def _sending_lines(sending: dict[str, Any], recipient: dict[str, Any], named: bool) -> list[str]:
    name = f" ({sending.get('name', '')})" if named else ""
    return [
        f"Envoi : {sending['id']}{name}",
        f"Numéro de recommandé : {recipient.get('registered_number', '-')}",
    ]


def deposit_proof_pdf(sending: dict[str, Any], recipient: dict[str, Any], sha256: str) -> bytes:
    return _proof(
        "PREUVE DE DÉPÔT - LETTRE RECOMMANDÉE AVEC AVIS DE RÉCEPTION",
        "Preuve de dépôt",
        recipient,
        "deposit_proof_date",
        [
            *_sending_lines(sending, recipient, named=True),
            f"Date de dépôt : {_when(recipient.get('deposit_proof_date'))}",
            f"Empreinte SHA-256 du document posté : {sha256}",
        ],
    )


def acknowledgement_pdf(sending: dict[str, Any], recipient: dict[str, Any]) -> bytes:
    signer = recipient.get("address_line_2") or recipient.get("address_line_1") or ""
    received = _when(recipient.get("acknowledgement_of_receipt_date"))
    return _proof(
        "AVIS DE RÉCEPTION",
        "Avis de réception",
        recipient,
        "acknowledgement_of_receipt_date",
        [
            *_sending_lines(sending, recipient, named=False),
            f"Présenté / distribué le : {received}",
            f"Signature du destinataire : {signer}",
        ],
    )


def content_proof_pdf(sending: dict[str, Any], recipient: dict[str, Any], sha256: str) -> bytes:
    return _proof(
        "PREUVE DE CONTENU - LETTRE RECOMMANDÉE",
        "Preuve de contenu",
        recipient,
        "content_proof_date",
        [
            *_sending_lines(sending, recipient, named=True),
            f"Date : {_when(recipient.get('content_proof_date'))}",
            f"Empreinte SHA-256 du document posté : {sha256}",
        ],
    )


def undelivered_mail_pdf(sending: dict[str, Any], recipient: dict[str, Any]) -> bytes:
    return _proof(
        "PLI NON DISTRIBUABLE - IMAGE DU PLI RETOURNÉ",
        "Pli retourné",
        recipient,
        "undelivered_mail_date",
        [
            *_sending_lines(sending, recipient, named=False),
            f"Retourné le : {_when(recipient.get('undelivered_mail_date'))}",
            f"Motif : {recipient.get('undelivered_mail_reason', '-')}",
        ],
    )
