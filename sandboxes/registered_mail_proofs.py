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


def deposit_proof_pdf(sending: dict[str, Any], recipient: dict[str, Any], sha256: str) -> bytes:
    text = "\n".join(
        [
            "PREUVE DE DÉPÔT - LETTRE RECOMMANDÉE AVEC AVIS DE RÉCEPTION",
            NOTICE,
            "",
            f"Envoi : {sending['id']} ({sending.get('name', '')})",
            f"Numéro de recommandé : {recipient.get('registered_number', '-')}",
            f"Date de dépôt : {_when(recipient.get('deposit_proof_date'))}",
            f"Empreinte SHA-256 du document posté : {sha256}",
            "",
            "Destinataire :",
            _address(recipient),
        ]
    )
    return render_letter_pdf(
        text,
        title="Preuve de dépôt",
        reference=str(recipient.get("registered_number", "")),
        created_at=datetime.fromisoformat(
            str(recipient.get("deposit_proof_date")).replace("Z", "+00:00")
        ),
    )


def acknowledgement_pdf(sending: dict[str, Any], recipient: dict[str, Any]) -> bytes:
    signer = recipient.get("address_line_2") or recipient.get("address_line_1") or ""
    text = "\n".join(
        [
            "AVIS DE RÉCEPTION",
            NOTICE,
            "",
            f"Envoi : {sending['id']}",
            f"Numéro de recommandé : {recipient.get('registered_number', '-')}",
            f"Présenté / distribué le : {_when(recipient.get('acknowledgement_of_receipt_date'))}",
            f"Signature du destinataire : {signer}",
            "",
            "Destinataire :",
            _address(recipient),
        ]
    )
    return render_letter_pdf(
        text,
        title="Avis de réception",
        reference=str(recipient.get("registered_number", "")),
        created_at=datetime.fromisoformat(
            str(recipient.get("acknowledgement_of_receipt_date")).replace("Z", "+00:00")
        ),
    )


def content_proof_pdf(sending: dict[str, Any], recipient: dict[str, Any], sha256: str) -> bytes:
    text = "\n".join(
        [
            "PREUVE DE CONTENU - LETTRE RECOMMANDÉE",
            NOTICE,
            "",
            f"Envoi : {sending['id']} ({sending.get('name', '')})",
            f"Numéro de recommandé : {recipient.get('registered_number', '-')}",
            f"Date : {_when(recipient.get('content_proof_date'))}",
            f"Empreinte SHA-256 du document posté : {sha256}",
            "",
            "Destinataire :",
            _address(recipient),
        ]
    )
    return render_letter_pdf(
        text,
        title="Preuve de contenu",
        reference=str(recipient.get("registered_number", "")),
        created_at=datetime.fromisoformat(
            str(recipient.get("content_proof_date")).replace("Z", "+00:00")
        ),
    )


def undelivered_mail_pdf(sending: dict[str, Any], recipient: dict[str, Any]) -> bytes:
    text = "\n".join(
        [
            "PLI NON DISTRIBUABLE - IMAGE DU PLI RETOURNÉ",
            NOTICE,
            "",
            f"Envoi : {sending['id']}",
            f"Numéro de recommandé : {recipient.get('registered_number', '-')}",
            f"Retourné le : {_when(recipient.get('undelivered_mail_date'))}",
            f"Motif : {recipient.get('undelivered_mail_reason', '-')}",
            "",
            "Destinataire :",
            _address(recipient),
        ]
    )
    return render_letter_pdf(
        text,
        title="Pli retourné",
        reference=str(recipient.get("registered_number", "")),
        created_at=datetime.fromisoformat(
            str(recipient.get("undelivered_mail_date")).replace("Z", "+00:00")
        ),
    )
