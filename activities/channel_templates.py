"""Render the French documents of the non-email channels (letters, call scripts, partner files).

Templates live in ``activities/templates/channels/<id>@<version>.txt.j2``: plain text, Jinja2,
one self-contained file per version (no shared partials, so a published version never changes
when another template is edited). Every context value is an already formatted string; the
workflow decides what to claim, the template only lays it out.

Every variable a template mentions must be present in the context, even inside a branch that
is not taken: a missing key is an error naming it, never a blank. Keys marked "may be empty"
below must still be given; an empty value ("") leaves the corresponding line out.

The renderer adds two keys from ``ChannelRequest.recipient`` (they override the context):

- ``recipient_name``: the addressee (the debtor, or the partner for a hand-off, the court for
  a court file, the mandataire judiciaire for a declaration of claim);
- ``recipient_address``: ``recipient.address_lines`` joined with newlines ("" when none).

Context keys (one vocabulary for all templates):

- ``creditor_name``, ``creditor_address`` (multi-line): who claims;
- ``document_date``: the date printed on the document, e.g. "05/12/2026";
- ``invoice_number``, ``issue_date``, ``due_date``: the unpaid invoice;
- ``debtor_kind``: "business", "consumer" or "public" (chooses the legal wording);
- ``debtor_name``, ``debtor_address`` (multi-line): the debtor, in documents addressed to a
  third party (the name may carry the SIREN, e.g. "Durand SARL (SIREN 732 829 320)");
- ``principal``: the invoice amount incl. VAT; ``paid`` (may be empty): payments received;
  ``balance``: principal still due; ``penalties`` (may be empty): B2B late-payment penalties,
  B2G moratorium interest or, for a consumer, legal-rate interest (only once the formal
  notice was presented); ``indemnity`` (may be empty): the 40 EUR fixed recovery indemnity,
  never for a consumer; ``total``: what is claimed (balance + penalties + indemnity).
  There is deliberately no key for collection fees: they are never charged to the debtor
  without an enforceable title (CPCE L111-8);
- ``payment_instructions``: how to pay, e.g. "par virement sur l'IBAN FR76 ...";
- ``deadline_days``: the formal notice's deadline in days, e.g. "8";
- ``contact_phone`` (may be empty): the number an operator should call;
- ``claim_basis``: what the claim is for, e.g. "maintenance informatique, commande BC-12";
- ``notice_date``: first presentation (or delivery) of the formal notice;
- ``title_description``: the enforceable title, e.g. "ordonnance d'injonction de payer du
  président du tribunal de commerce de Paris du 12/01/2027, revêtue de la formule exécutoire";
- ``small_claims_issuer`` (may be empty): the commissaire de justice who issued the title
  when it came from the small-claims procedure (CPCE R125-8);
- ``proceeding``: the insolvency proceeding, e.g. "redressement judiciaire ouvert par jugement
  du tribunal de commerce de Lyon du 02/03/2027";
- ``publication_date``, ``declaration_deadline``: BODACC publication of the opening judgment
  and the last day to declare;
- ``complaint_refused``: "yes" when the consumer's written complaint (a dispute) was
  rejected, anything else ("no", "") when not: the consumer letters then name the consumer
  mediator (C. consommation L616-2). The channel activity reads a request that leaves it
  out as "" (nothing refused); ``render_channel`` itself needs it like any other key.

Keys the channel activity adds from the creditor settings (activities/creditor_identity.py),
never carried by the workflow; the settings' values override the context's, and each may be
empty:

- ``creditor_kind``: "legal_person" or "natural_person";
- for a legal person ``creditor_legal_form``, ``creditor_registered_office``,
  ``creditor_representative`` (the body that represents it); ``creditor_rcs`` (its
  registration);
- for a natural person ``creditor_person_first_names``, ``creditor_person_profession``,
  ``creditor_person_domicile``, ``creditor_person_nationality``,
  ``creditor_person_birth_date``, ``creditor_person_birth_place``;
  an empty identity value prints "à compléter" (CPC 54, 57, 1407), never a blank;
- ``consumer_mediator_name``, ``consumer_mediator_address``, ``consumer_mediator_website``:
  empty, no mediator is named.

Keys per template (``TEMPLATE_KEYS`` below; the tests check it against the files). "Common"
is creditor_name, document_date, invoice_number, issue_date, due_date, debtor_kind; "amounts"
is principal, paid, balance, penalties, indemnity, total; "third party" is common + amounts +
creditor_address, debtor_name, debtor_address.

- ``reminder_3@1`` (letter to the debtor, last amicable warning with statement of account):
  common + amounts + creditor_address, payment_instructions.
- ``formal_notice@1`` (registered letter to the debtor, the mise en demeure): common + amounts
  + creditor_address, payment_instructions, deadline_days.
- ``phone_call@1`` (phone task, the operator's call script): common + balance, total,
  payment_instructions, contact_phone.
- ``handoff_small_claims@1`` (to a commissaire de justice, CPCE L125-1): third party +
  claim_basis, notice_date.
- ``handoff_small_claims@2``: the same request limited to principal and interest, as the
  official request model lists them (``claimed``; the 40 EUR indemnity said to be left out,
  french-collection-law.md s.4), and the procedure said to be extra-judicial.
- ``handoff_agency@1`` (mandate to an amicable collection agency, CPCE R124-1 to R124-7):
  third party + claim_basis.
- ``handoff_enforcement@1`` (to a commissaire de justice, enforcement of a title): third party
  + title_description, small_claims_issuer.
- ``injonction_de_payer@1`` (court file, draft request, CPC 1405 to 1407): third party +
  claim_basis, notice_date.
- ``injonction_de_payer@2``: the same request identifying both parties as CPC 1407 requires
  (by its reference to CPC 54 and 57): the creditor's identity keys above, and the debtor as
  a company (name, form, registered office), a person (names, domicile) or a public person;
  for a public debtor, the warning that the administrative judge is competent for a public
  procurement contract (C. commande publique L6).
- ``handoff_agency@2`` and ``handoff_small_claims@3``: the keys of ``handoff_agency@1`` and
  ``handoff_small_claims@2``, with the same warning for a public debtor.
- ``reminder_3@2`` and ``formal_notice@2``: the keys of their version 1 + complaint_refused
  and the mediator keys: a consumer whose complaint was refused is given the consumer
  mediator's details (C. consommation L616-2); never a business or a public debtor.
- ``grouped_statement@1`` / ``grouped_formal_notice@1``: one letter for several invoices of a
  debtor (its conversation's), each invoice's décompte on a line (``invoice_lines``) and the
  total (``grand_total``), activities/grouped_letters.py.
- ``letter_problem@1`` (operator task): a registered letter the provider will not deliver
  (``letter_final`` "yes": retry the step) or holds (funding the account releases it).
- ``claim_declaration@1`` (to the mandataire judiciaire, C. com. L622-24, R622-24): third
  party + claim_basis, proceeding, publication_date, declaration_deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jinja2
from jinja2 import meta

from activities.channel_requests import Recipient

TEMPLATE_DIR = Path(__file__).with_name("templates") / "channels"

RECIPIENT_KEYS = frozenset({"recipient_name", "recipient_address"})

_COMMON = frozenset(
    {"creditor_name", "document_date", "invoice_number", "issue_date", "due_date", "debtor_kind"}
)
_AMOUNTS = frozenset({"principal", "paid", "balance", "penalties", "indemnity", "total"})
_THIRD_PARTY = _COMMON | _AMOUNTS | {"creditor_address", "debtor_name", "debtor_address"}
_CREDITOR_IDENTITY = frozenset(
    {"creditor_kind", "creditor_legal_form", "creditor_registered_office"}
    | {"creditor_representative", "creditor_rcs", "creditor_person_first_names"}
    | {"creditor_person_profession", "creditor_person_domicile", "creditor_person_nationality"}
    | {"creditor_person_birth_date", "creditor_person_birth_place"}
)
_MEDIATOR = frozenset(
    {"complaint_refused", "consumer_mediator_name", "consumer_mediator_address"}
    | {"consumer_mediator_website"}
)
_REMINDER_3 = _COMMON | _AMOUNTS | {"creditor_address", "payment_instructions"}
_FORMAL_NOTICE = _REMINDER_3 | {"deadline_days"}
_SMALL_CLAIMS_PI = (_THIRD_PARTY - {"total"}) | {"claim_basis", "notice_date", "claimed"}

TEMPLATE_KEYS: dict[str, frozenset[str]] = {
    "reminder_3@1": _REMINDER_3,
    "reminder_3@2": _REMINDER_3 | _MEDIATOR,
    "formal_notice@1": _FORMAL_NOTICE,
    "formal_notice@2": _FORMAL_NOTICE | _MEDIATOR,
    "phone_call@1": _COMMON | {"balance", "total", "payment_instructions", "contact_phone"},
    "handoff_small_claims@1": _THIRD_PARTY | {"claim_basis", "notice_date"},
    "handoff_small_claims@2": _SMALL_CLAIMS_PI,
    "handoff_small_claims@3": _SMALL_CLAIMS_PI,
    "handoff_agency@1": _THIRD_PARTY | {"claim_basis"},
    "handoff_agency@2": _THIRD_PARTY | {"claim_basis"},
    "handoff_enforcement@1": _THIRD_PARTY | {"title_description", "small_claims_issuer"},
    "injonction_de_payer@1": _THIRD_PARTY | {"claim_basis", "notice_date"},
    "injonction_de_payer@2": _THIRD_PARTY | {"claim_basis", "notice_date"} | _CREDITOR_IDENTITY,
    "claim_declaration@1": _THIRD_PARTY
    | {"claim_basis", "proceeding", "publication_date", "declaration_deadline"},
    "step_failed@1": frozenset(
        {"creditor_name", "document_date", "invoice_number", "issue_date", "due_date"}
        | {"balance", "failed_step", "failure", "retry_path"}
    ),
    "grouped_statement@1": frozenset(
        {"creditor_name", "creditor_address", "document_date", "debtor_kind"}
        | {"invoice_count", "invoice_lines", "grand_total", "payment_instructions"}
    ),
    "grouped_formal_notice@1": frozenset(
        {"creditor_name", "creditor_address", "document_date", "debtor_kind"}
        | {"invoice_count", "invoice_lines", "grand_total", "payment_instructions"}
        | {"deadline_days"}
    ),
    "letter_problem@1": frozenset(
        {"creditor_name", "document_date", "invoice_number", "issue_date", "due_date"}
        | {"balance", "letter_reference", "letter_reason", "letter_detail", "letter_final"}
        | {"retry_path"}
    ),
}
"""The context keys each shipped template needs (besides the recipient keys)."""

_TEMPLATE_ID = re.compile(r"^[a-z0-9_]+@[1-9][0-9]*$")


class ChannelTemplateNotFound(LookupError):
    """No template file for this ``id@version``."""


class MissingContextKeys(LookupError):
    """The context lacks keys the template uses."""

    def __init__(self, template: str, keys: list[str]) -> None:
        self.template = template
        self.keys = keys
        super().__init__(
            f"template {template!r} needs context keys missing from the request: " + ", ".join(keys)
        )


class InvalidContextValue(ValueError):
    """A context value outside the values the template knows."""


DEBTOR_KINDS = frozenset({"business", "consumer", "public"})


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # plain text for paper and operators, never HTML
    )


@cache
def _load(template: str) -> tuple[jinja2.Template, frozenset[str]]:
    if not _TEMPLATE_ID.fullmatch(template):
        raise ChannelTemplateNotFound(
            f"channel template {template!r} is not a valid '<id>@<version>' name"
        )
    environment = _environment()
    try:
        compiled = environment.get_template(f"{template}.txt.j2")
    except jinja2.TemplateNotFound:
        raise ChannelTemplateNotFound(
            f"channel template {template!r} not found in {TEMPLATE_DIR}"
        ) from None
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, f"{template}.txt.j2")
    used = meta.find_undeclared_variables(environment.parse(source))
    return compiled, frozenset(used)


def template_keys(template: str) -> frozenset[str]:
    """Every variable ``template`` mentions, recipient keys included."""
    return _load(template)[1]


def render_channel(template: str, context: Mapping[str, str], recipient: Recipient) -> str:
    """Render ``template`` (``id@version``) for ``recipient``; raise rather than leave a blank.

    Trailing spaces are removed and runs of blank lines collapse to one, so templates may
    use conditional blocks freely.
    """
    compiled, used = _load(template)
    values: dict[str, str] = {
        **context,
        "recipient_name": recipient.name,
        "recipient_address": "\n".join(recipient.address_lines),
    }
    missing = sorted(used - values.keys())
    if missing:
        raise MissingContextKeys(template, missing)
    if "debtor_kind" in used and values["debtor_kind"] not in DEBTOR_KINDS:
        raise InvalidContextValue(
            f"template {template!r}: debtor_kind must be one of "
            f"{', '.join(sorted(DEBTOR_KINDS))}, not {values['debtor_kind']!r}"
        )
    try:
        text = compiled.render(values)
    except jinja2.UndefinedError as err:  # e.g. an attribute of a value: same meaning
        raise MissingContextKeys(template, [str(err)]) from err
    lines = [line.rstrip() for line in text.strip().splitlines()]
    collapsed: list[str] = []
    for line in lines:
        if line or (collapsed and collapsed[-1]):
            collapsed.append(line)
    return "\n".join(collapsed) + "\n"
