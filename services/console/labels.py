"""French labels for what the domain names in English (stages, outcomes, holds, facts)."""

from __future__ import annotations

STAGES = {
    "amicable": "Amiable",
    "formal_notice": "Mise en demeure",
    "small_claims": "Petits litiges",
    "injonction_de_payer": "Injonction de payer",
    "agency": "Agence de recouvrement",
    "enforcement": "Exécution forcée",
    "insolvency": "Procédure collective",
    "awaiting_next_phase": "En attente de la phase suivante",
    "closed": "Clos",
}
OUTCOMES = {
    "paid": "payé",
    "cancelled": "annulé",
    "written_off": "passé en perte",
    "prescribed": "prescrit",
    "insolvency_claim_declared": "créance déclarée",
    "handed_over": "transmis",
}
HOLDS = {
    "promise": "Promesse de paiement",
    "payment_plan": "Échéancier",
    "dispute": "Litige",
    "operator": "Pause opérateur",
    "insolvency": "Procédure collective",
    "factored": "Affacturé",
    "awaiting_funds": "En attente des fonds",
    "blocked": "Étape bloquée",
}
CHANNELS = {
    "email": "courriel",
    "letter": "lettre",
    "letter_and_email": "lettre et courriel",
    "registered_letter": "lettre recommandée",
    "phone_task": "appel",
    "handoff": "transmission",
    "court_file": "dossier judiciaire",
    "claim_declaration": "déclaration de créance",
}
FACTS = {
    "InvoiceRegistered": "Facture enregistrée",
    "ReminderSent": "Relance envoyée",
    "FormalNoticeSent": "Mise en demeure envoyée",
    "PhoneTaskCreated": "Appel à passer",
    "PhoneCallLogged": "Appel consigné",
    "PaymentRecorded": "Paiement reçu",
    "Overpayment": "Trop-perçu",
    "PromiseToPayMade": "Promesse de paiement",
    "PromiseBroken": "Promesse non tenue",
    "PaymentPlanAgreed": "Échéancier accordé",
    "InstalmentMissed": "Échéance manquée",
    "DisputeOpened": "Litige ouvert",
    "DisputeResolved": "Litige résolu",
    "CreditNoteIssued": "Avoir émis",
    "CasePaused": "Dossier en pause",
    "CaseResumed": "Dossier repris",
    "CaseClosed": "Dossier clos",
    "CaseEscalated": "Dossier escaladé",
    "CaseHandedOver": "Dossier transmis",
    "ClaimDeclared": "Créance déclarée",
    "InsolvencyDetected": "Procédure collective publiée",
    "RegisteredLetterStatus": "Suivi de la lettre recommandée",
    "PartnerReport": "Rapport du partenaire",
    "EInvoicingStatusReceived": "Statut de facturation électronique",
    "PrescriptionAlerted": "Alerte de prescription",
    "PolicyMigrated": "Politique changée",
    "StepFailed": "Étape en échec",
    "StepRetried": "Étape relancée",
    "StepSkipped": "Étape sautée",
    "ReceiptSent": "Reçu envoyé",
    "EmailBounced": "Courriel rejeté",
    "InvalidRecipient": "Destinataire invalide",
    "EventRejected": "Événement refusé",
    "EventIgnored": "Événement ignoré",
}
PHONE_OUTCOMES = {
    "reached": "Joint",
    "promise": "Promesse de paiement",
    "dispute": "Litige",
    "no_answer": "Pas de réponse",
}
BANDS = {
    "not_due": "Non échu",
    "days_1_30": "1 à 30 jours",
    "days_31_60": "31 à 60 jours",
    "days_61_90": "61 à 90 jours",
    "over_90": "Plus de 90 jours",
}


def stage(value: str) -> str:
    return STAGES.get(value, value)


def fact(value: str) -> str:
    return FACTS.get(value, value)
