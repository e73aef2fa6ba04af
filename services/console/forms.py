"""The case forms: which fields, which API model, which API code path.

A form's fields become the same pydantic model the API's endpoint takes, sent through the
same function the endpoint calls (``services.api.routers.cases.post_payment``, the event
router's ``_send``, the tasks router's ``post_outcome``): no rule is restated here. Errors
come back named by field as the API names them (``amount``, ``instalments.0.due_on``),
so each lands next to its field; a refusal for the case's state (409) heads the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.case import PaymentIn
from schemas.case_events import (
    ApprovalDecision,
    CloseCase,
    CreditNote,
    DisputeOpened,
    DisputeResolved,
    OperatorPause,
    OperatorResume,
    PaymentPlanAgreed,
    PhoneOutcome,
    PromiseToPay,
)
from services.api.acks import CaseAck
from services.api.deps import Runtime
from services.api.errors import ApiError, _field_of
from services.api.keys import Principal
from services.api.routers import case_events, tasks
from services.api.routers import cases as api_cases
from services.console import labels

GENERAL = "_form"
"""Where an error that names no field of the form is shown: the form's head."""
PLAN_ROWS = 6


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    """text, date, amount, select, textarea"""
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    today: bool = False
    """A date field that starts at today."""


@dataclass(frozen=True)
class CaseForm:
    name: str
    title: str
    button: str
    done: str
    model: type[BaseModel]
    fields: tuple[Field, ...]
    rows: int = 0
    """For the payment plan: how many instalment rows."""


@dataclass
class FormErrors(Exception):
    errors: dict[str, str] = field(default_factory=dict)


def _fields(*fields: Field) -> tuple[Field, ...]:
    return fields


AMOUNT_HINT = "En euros, par ex. 200.00"
FORMS: dict[str, CaseForm] = {
    form.name: form
    for form in (
        CaseForm(
            "payment",
            "Enregistrer un paiement",
            "Enregistrer le paiement",
            "Paiement enregistré.",
            PaymentIn,
            _fields(
                Field("amount", "Montant", "amount", True, hint=AMOUNT_HINT),
                Field("paid_on", "Date du paiement", "date", True, today=True),
                Field("reference", "Référence (virement, chèque)", required=True),
            ),
        ),
        CaseForm(
            "promise",
            "Promesse de paiement",
            "Enregistrer la promesse",
            "Promesse enregistrée.",
            PromiseToPay,
            _fields(
                Field("promised_on", "Payera au plus tard le", "date", True),
                Field("amount", "Montant promis (par défaut : le solde)", "amount"),
                Field("note", "Note", "textarea"),
            ),
        ),
        CaseForm(
            "payment-plan",
            "Échéancier",
            "Accorder l'échéancier",
            "Échéancier accordé.",
            PaymentPlanAgreed,
            _fields(Field("agreed_on", "Accordé le", "date", True, today=True)),
            rows=PLAN_ROWS,
        ),
        CaseForm(
            "dispute",
            "Ouvrir un litige",
            "Ouvrir le litige",
            "Litige ouvert.",
            DisputeOpened,
            _fields(Field("reason", "Motif du litige", "textarea", True)),
        ),
        CaseForm(
            "dispute-resolution",
            "Résoudre le litige",
            "Résoudre",
            "Litige résolu.",
            DisputeResolved,
            _fields(
                Field(
                    "outcome",
                    "Issue",
                    "select",
                    True,
                    (("rejected", "Rejeté (le recouvrement reprend)"), ("upheld", "Fondé")),
                ),
                Field("credit_note_amount", "Avoir accordé (fondé en partie)", "amount"),
                Field("note", "Note", "textarea"),
            ),
        ),
        CaseForm(
            "credit-note",
            "Avoir",
            "Enregistrer l'avoir",
            "Avoir enregistré.",
            CreditNote,
            _fields(
                Field("amount", "Montant de l'avoir", "amount", True, hint=AMOUNT_HINT),
                Field("reference", "Référence de l'avoir", required=True),
                Field("issued_on", "Émis le", "date", True, today=True),
            ),
        ),
        CaseForm(
            "pause",
            "Mettre en pause",
            "Mettre en pause",
            "Dossier mis en pause.",
            OperatorPause,
            _fields(Field("reason", "Motif de la pause", "textarea", True)),
        ),
        CaseForm(
            "resume",
            "Reprendre",
            "Reprendre le recouvrement",
            "Dossier repris.",
            OperatorResume,
            _fields(Field("reason", "Motif de la reprise", "textarea")),
        ),
        CaseForm(
            "approval",
            "Approuver ou rejeter l'étape",
            "Enregistrer la décision",
            "Décision enregistrée.",
            ApprovalDecision,
            _fields(
                Field("step", "Étape", "hidden", True),
                Field(
                    "decision",
                    "Décision",
                    "select",
                    True,
                    (("approve", "Approuver : l'étape part"), ("reject", "Rejeter")),
                ),
                Field("reason", "Motif (obligatoire pour rejeter)", "textarea"),
            ),
        ),
        CaseForm(
            "close",
            "Clore le dossier",
            "Clore",
            "Dossier clos.",
            CloseCase,
            _fields(
                Field(
                    "outcome",
                    "Issue",
                    "select",
                    True,
                    (
                        ("written_off", "Passé en perte"),
                        ("handed_over", "Transmis"),
                        ("cancelled", "Annulé"),
                    ),
                ),
                Field("reason", "Motif", "textarea", True),
            ),
        ),
    )
}
PHONE_FIELDS = _fields(
    Field("outcome", "Résultat de l'appel", "select", True, tuple(labels.PHONE_OUTCOMES.items())),
    Field("promised_on", "Date promise (si promesse)", "date"),
    Field("reason", "Motif (si litige)", "textarea"),
)


def _typed(kind: str, value: str) -> str:
    """A French decimal comma is the same amount (1200,50 = 1200.50); nothing else changes."""
    return value.replace(",", ".") if kind == "amount" else value


def _values(form: CaseForm | None, fields: tuple[Field, ...], posted: dict[str, str]) -> Any:
    """The API body the form stands for: empty optional fields left out, as a JSON client
    would leave them out."""
    body: dict[str, Any] = {
        f.name: _typed(f.kind, posted[f.name]) for f in fields if posted.get(f.name)
    }
    if form is not None and form.rows:
        instalments = []
        for row in range(form.rows):
            due_on = posted.get(f"instalments.{row}.due_on", "")
            amount = posted.get(f"instalments.{row}.amount", "")
            if due_on or amount:
                instalments.append({"due_on": due_on, "amount": _typed("amount", amount)})
        body["instalments"] = instalments
    return body


def _validated(model: type[BaseModel], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as err:
        found: dict[str, str] = {}
        for error in err.errors():
            name, message = _field_of(dict(error))
            found.setdefault(name, message)
        raise FormErrors(found) from None


def api_errors(err: ApiError) -> FormErrors:
    """The API's refusal, by field (422), or at the form's head (409, 503)."""
    if err.status == 422 and isinstance(err.details, list):
        found = {
            str(d.get("field")): str(d.get("message"))
            for d in err.details
            if isinstance(d, dict) and d.get("field")
        }
        if found:
            return FormErrors(found)
    return FormErrors({GENERAL: err.message})


async def submit_case_form(
    form: CaseForm, runtime: Runtime, principal: Principal, case_id: str, posted: dict[str, str]
) -> CaseAck:
    """Validate as the API does, then take the API's own path; FormErrors on refusal."""
    event = _validated(form.model, _values(form, form.fields, posted))
    try:
        if isinstance(event, PaymentIn):
            return await api_cases.post_payment(case_id, event, principal, runtime)
        return await case_events._send(runtime, principal, case_id, event)
    except ApiError as err:
        if err.status in (403, 404):
            raise
        raise api_errors(err) from None


async def submit_phone_outcome(
    runtime: Runtime, principal: Principal, task_id: str, posted: dict[str, str]
) -> CaseAck:
    outcome = _validated(PhoneOutcome, _values(None, PHONE_FIELDS, posted))
    try:
        return await tasks.post_outcome(task_id, outcome, principal, runtime)
    except ApiError as err:
        if err.status in (403, 404):
            raise
        raise api_errors(err) from None


def known_fields(form: CaseForm) -> set[str]:
    names = {f.name for f in form.fields}
    if form.rows:
        names.add("instalments")
        for row in range(form.rows):
            names.update({f"instalments.{row}", f"instalments.{row}.due_on"})
            names.add(f"instalments.{row}.amount")
    return names


def placed(errors: dict[str, str], names: set[str]) -> dict[str, str]:
    """Errors keyed by a field the form shows; any other goes to the form's head."""
    out: dict[str, str] = {}
    for name, message in errors.items():
        key = name if name in names else GENERAL
        if key == GENERAL and name != GENERAL:
            message = f"{name} : {message}"
        out[key] = f"{out[key]} ; {message}" if key in out else message
    return out
