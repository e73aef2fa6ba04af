"""One laid-out letter for several invoices of one debtor (activities/grouped_letters.py).

    doc = build_grouped_letter_document(template, items, recipient, reference=..., letterhead=...)
    layout = grouped_layout_json(template, items, recipient, reference)  # or None, logged

``template`` is ``grouped_statement@1`` (the statement of account of the last reminder,
simple post) or ``grouped_formal_notice@1`` (one mise en demeure by registered post);
``items`` are the invoices' own contexts, those their single letters (``reminder_3@1``,
``formal_notice@1``) get. Each invoice is one row of the décompte, printed as its own
letter prints it, and its décompte must add up as there; the total row is the sum of the
rows, checked (and, given the text letter's ``grand_total``, checked against it too).

The page is the single letter's (letterhead, address in the DL window, date and place,
reference, object, the LRAR banner of the notice, page numbers), laid out by
``grouped_<name>.html.j2`` so that a long décompte runs over pages with its total row once,
at its end. The mandatory mentions are the single letter's for the debtor kind, stated for
each invoice (``MentionFacts.invoices``): the notice's C. civ. 1344 and its deadline from
first presentation, a professional's penalties and 40 EUR indemnity per invoice (C. com.
L441-10 II, D441-5), nothing of those for a consumer, the computation date, and payments
imputed on the invoice they name, principal first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import cast

from activities.channel_requests import Recipient
from activities.channel_templates import DEBTOR_KINDS, InvalidContextValue, MissingContextKeys
from activities.letter_layout.amounts import (
    LetterContextError,
    amount_text,
    iso_midnight,
    long_date,
    parse_amount,
    parse_date,
)
from activities.letter_layout.builder import (
    _NONE,
    LETTER_KEYS,
    PENALTIES_LABELS,
    _Body,
    _Claim,
    _claim,
    _lines,
    _logo,
    _periods,
    _place,
    _rate_line,
    _siren_text,
)
from activities.letter_layout.document import (
    ClaimRow,
    ClaimTable,
    ClaimTotals,
    DebtorKind,
    LetterDocument,
    LetterKind,
    Party,
    document_to_json,
)
from activities.letter_layout.mentions import MentionFacts, mentions_for
from activities.letter_layout.portal_block import with_portal
from activities.letter_layout.settings import LetterheadSettings

log = logging.getLogger("recouvre.letters")

GROUPED_LAYOUTS: dict[str, tuple[LetterKind, str]] = {
    "grouped_statement@1": ("reminder_3", "reminder_3@1"),
    "grouped_formal_notice@1": ("formal_notice", "formal_notice@1"),
}
"""Each grouped letter's kind (its page, its mentions) and the single letter whose context
each of its invoices has (``LETTER_KEYS``)."""

REGISTERED = "Lettre recommandée avec demande d'avis de réception"
MIN_INVOICES = 2
"""A grouped letter lists several invoices (``GroupedLetterRequest.items``)."""


def _layout(template: str) -> tuple[LetterKind, str]:
    found = GROUPED_LAYOUTS.get(template)
    if found is None:
        known = ", ".join(sorted(GROUPED_LAYOUTS))
        raise LetterContextError(
            f"no grouped letter layout for template {template!r} (known: {known})"
        )
    return found


def _as_of(item: Mapping[str, str]) -> str:
    return item.get("as_of") or item["document_date"]


_QUIET = frozenset({"creditor_name", "creditor_address", "payment_instructions"})
"""Keys whose values an error does not quote (a log line names no one, nor an IBAN)."""


def _shared(
    template: str,
    items: Sequence[Mapping[str, str]],
    key: str,
    value: Callable[[Mapping[str, str]], str] | None = None,
) -> str:
    """The value every invoice has for ``key`` (one letter: one creditor, one date...)."""

    def read(item: Mapping[str, str]) -> str:
        return value(item) if value is not None else item[key]

    first = read(items[0])
    for number, item in enumerate(items[1:], start=2):
        other = read(item)
        if " ".join(other.split()) != " ".join(first.split()):
            values = "" if key in _QUIET else f" ({first!r}, {other!r})"
            raise LetterContextError(
                f"template {template!r}: the invoices of one letter must have the same "
                f"{key}: invoice {number} differs from invoice 1{values}"
            )
    return first


def _checked_items(template: str, single: str, items: Sequence[Mapping[str, str]]) -> None:
    if len(items) < MIN_INVOICES:
        raise LetterContextError(
            f"template {template!r}: a grouped letter lists at least {MIN_INVOICES} invoices, "
            f"not {len(items)}"
        )
    for number, item in enumerate(items, start=1):
        missing = sorted(LETTER_KEYS[single] - item.keys())
        if missing:
            raise MissingContextKeys(template, [f"{key} (invoice {number})" for key in missing])
        if item["debtor_kind"] not in DEBTOR_KINDS:
            raise InvalidContextValue(
                f"template {template!r}: debtor_kind must be one of "
                f"{', '.join(sorted(DEBTOR_KINDS))}, not {item['debtor_kind']!r} "
                f"(invoice {number})"
            )
    seen: set[str] = set()
    for item in items:
        invoice = item["invoice_number"].strip()
        if invoice in seen:
            raise LetterContextError(
                f"template {template!r}: invoice {invoice!r} is listed twice: it would be "
                "claimed twice"
            )
        seen.add(invoice)


def _claims(kind: LetterKind, items: Sequence[Mapping[str, str]]) -> tuple[list[_Claim], str]:
    """Each invoice's décompte, checked as its single letter checks it, in one currency."""
    claims: list[_Claim] = []
    for item in items:
        try:
            claims.append(_claim(kind, item))
        except LetterContextError as err:
            raise LetterContextError(f"invoice {item['invoice_number']!r}: {err}") from err
    currency = claims[0].currency
    for item, claim in zip(items, claims, strict=True):
        if claim.currency != currency:
            raise LetterContextError(
                f"invoice {item['invoice_number']!r} is in {claim.currency}, the others in "
                f"{currency}: one total cannot add them up"
            )
    return claims, currency


def _table(
    items: Sequence[Mapping[str, str]],
    claims: Sequence[_Claim],
    currency: str,
    debtor_kind: DebtorKind,
    *,
    caption: str,
    balance_label: str,
    grand_total: str,
) -> ClaimTable:
    """One row per invoice, as its own letter's row; the total row is their sum, which must
    be the sum of the invoices' totals (and ``grand_total`` when given)."""
    any_penalties = any(item["penalties"].strip() for item in items)
    any_indemnity = any(item["indemnity"].strip() for item in items)
    any_paid = any(item["paid"].strip() for item in items)
    show_penalties = not (debtor_kind == "consumer" and not any_penalties)
    show_indemnity = debtor_kind != "consumer"
    rows = tuple(
        ClaimRow(
            invoice=item["invoice_number"],
            issue_date=item["issue_date"],
            due_date=item["due_date"],
            principal=item["principal"],
            penalties=item["penalties"] or _NONE,
            indemnity=(item["indemnity"] or _NONE) if show_indemnity else "",
            paid=item["paid"] or _NONE,
            balance=claim.claimed_text,
        )
        for item, claim in zip(items, claims, strict=True)
    )
    zero = Decimal("0.00")
    principal = sum((claim.principal for claim in claims), zero)
    paid = sum((claim.paid for claim in claims), zero)
    penalties = sum((claim.penalties for claim in claims), zero)
    indemnity = sum((claim.indemnity for claim in claims), zero) if show_indemnity else zero
    balance = principal - paid + penalties + indemnity
    claimed = sum((claim.claimed for claim in claims), zero)
    if balance != claimed:
        raise LetterContextError(
            f"the décompte does not add up: the invoices' totals add up to "
            f"{amount_text(claimed, currency)}, not principal - paid + penalties + indemnity "
            f"({amount_text(balance, currency)})"
        )
    if grand_total.strip():
        stated, stated_currency = parse_amount(grand_total, "grand_total")
        if stated != claimed or stated_currency != currency:
            raise LetterContextError(
                f"the décompte does not add up: grand_total {grand_total} is not the sum of "
                f"the invoices' totals ({amount_text(claimed, currency)})"
            )
    totals = ClaimTotals(
        principal=amount_text(principal, currency),
        penalties=amount_text(penalties, currency) if any_penalties else _NONE,
        indemnity=(amount_text(indemnity, currency) if any_indemnity else _NONE)
        if show_indemnity
        else "",
        paid=amount_text(paid, currency) if any_paid else _NONE,
        balance=amount_text(balance, currency),
    )
    notes: list[str] = []
    by_note: dict[str, list[str]] = {}
    for item in items:
        note = item.get("rates_note", "").strip()
        if note:
            by_note.setdefault(note, []).append(item["invoice_number"])
    for note, invoices in by_note.items():
        text = note[:1].upper() + note[1:] + "."
        if len(by_note) > 1:
            text = f"Facture{'s' if len(invoices) > 1 else ''} n° {', '.join(invoices)} : {note}."
        notes.append(text)
    return ClaimTable(
        rows=rows,
        totals=totals,
        penalties_label=PENALTIES_LABELS[debtor_kind],
        show_penalties=show_penalties,
        show_indemnity=show_indemnity,
        balance_label=balance_label,
        caption=caption,
        notes=tuple(notes),
    )


def _statement(first: Mapping[str, str], count: int, total: str, as_of: str) -> _Body:
    return _Body(
        object=f"Relevé de compte — {count} factures",
        paragraphs=[
            f"Malgré nos précédentes relances, les {count} factures suivantes restent "
            "impayées à ce jour.",
            f"Voici le relevé de votre compte au {first['document_date']}, facture par facture :",
        ],
        after_table=[
            f"Nous vous remercions de bien vouloir régler sans délai la somme totale de {total}, "
            f"{first['payment_instructions']}, en rappelant pour chaque règlement le numéro de "
            "la facture qu'il solde.",
            "Si vous avez déjà réglé tout ou partie de ces factures, merci de ne pas tenir "
            "compte de ce courrier pour les sommes payées et de nous en indiquer les références.",
        ],
        caption=f"Relevé de compte au {as_of}",
        balance_label="Solde dû",
    )


def _formal_notice(first: Mapping[str, str], count: int, total: str, as_of: str) -> _Body:
    return _Body(
        banner=REGISTERED,
        object=f"Mise en demeure de payer — {count} factures",
        paragraphs=[
            f"Malgré nos relances, les {count} factures suivantes demeurent impayées.",
            f"Par la présente, nous vous mettons en demeure de nous payer la somme totale de "
            f"{total}, qui se décompose ainsi, facture par facture :",
        ],
        after_table=[
            f"Nous vous demandons de régler cette somme dans un délai de "
            f"{first['deadline_days']} jours à compter de la première présentation de la "
            f"présente lettre, {first['payment_instructions']}, en rappelant le numéro de "
            "chaque facture réglée.",
            "À défaut de paiement intégral dans ce délai, nous poursuivrons sans autre avis le "
            "recouvrement de notre créance : par une requête en injonction de payer devant le "
            "tribunal compétent ou, selon son montant, par la procédure simplifiée de "
            "recouvrement des petites créances, extrajudiciaire, que vous pourrez refuser, "
            "confiée à un commissaire de justice.",
            "Si vous contestez tout ou partie de ces sommes, nous vous invitons à nous en faire "
            "connaître les motifs par écrit avant l'expiration de ce délai. Si votre règlement a "
            "été effectué entre-temps, nous vous remercions de ne pas tenir compte de la présente "
            "pour les sommes payées.",
        ],
        caption=f"Décompte arrêté au {as_of}",
        balance_label="Total réclamé",
    )


_BODIES: dict[LetterKind, Callable[[Mapping[str, str], int, str, str], _Body]] = {
    "reminder_3": _statement,
    "formal_notice": _formal_notice,
}


def build_grouped_letter_document(
    template: str,
    items: Sequence[Mapping[str, str]],
    recipient: Recipient,
    *,
    reference: str = "",
    letterhead: LetterheadSettings | None = None,
    grand_total: str = "",
    created_at: datetime | None = None,
) -> LetterDocument:
    """The grouped letter ``template`` of the invoices ``items`` for ``recipient``.

    Every item has the keys of its single letter (a missing one raises
    ``MissingContextKeys`` naming the invoice, an unknown ``debtor_kind``
    ``InvalidContextValue``). ``LetterContextError`` for: an unknown template, fewer than two
    invoices, an invoice listed twice, invoices of different debtor kinds, creditors,
    dates, payment instructions or (notice) deadlines, an invoice's décompte that does not
    add up, a total row that is not the sum of the rows, or a ``grand_total`` (the text
    letter's, when given) that is not that sum. ``created_at`` (default: the document date,
    midnight UTC) dates the PDF.
    """
    kind, single = _layout(template)
    _checked_items(template, single, items)
    debtor_kind = cast(DebtorKind, _shared(template, items, "debtor_kind"))
    for key in ("creditor_name", "creditor_address", "document_date", "payment_instructions"):
        _shared(template, items, key)
    as_of = _shared(template, items, "as_of", _as_of)
    if kind == "formal_notice":
        _shared(template, items, "deadline_days")
    first = items[0]
    claims, currency = _claims(kind, items)
    total = amount_text(sum((claim.claimed for claim in claims), Decimal("0.00")), currency)
    body = _BODIES[kind](first, len(items), total, as_of)
    table = _table(
        items,
        claims,
        currency,
        debtor_kind,
        caption=body.caption,
        balance_label=body.balance_label,
        grand_total=grand_total,
    )
    settings = letterhead or LetterheadSettings()
    when = parse_date(first["document_date"], "document_date")
    creditor_lines = _lines(first.get("creditor_address", ""))
    siren = first.get("creditor_siren", "") or settings.siren
    creditor = Party(
        name=first["creditor_name"],
        address_lines=creditor_lines,
        siren=_siren_text(siren) if siren else "",
        logo=_logo(settings),
    )
    place = _place(settings, creditor_lines)
    day = long_date(when)
    notice_dates = {item.get("notice_date", "").strip() for item in items}
    rate_lines = tuple(
        f"facture n° {item['invoice_number']}, {_rate_line(period)}"
        for item in items
        for period in _periods(item)
    )
    facts = MentionFacts(
        kind=kind,
        debtor_kind=debtor_kind,
        paid=any(item["paid"].strip() for item in items),
        penalties=table.totals.penalties if table.totals.penalties != _NONE else "",
        indemnity=table.totals.indemnity if table.totals.indemnity not in ("", _NONE) else "",
        notice_date=notice_dates.pop() if len(notice_dates) == 1 else "",
        as_of=as_of,
        rate_lines=rate_lines,
        mediator=settings.mediator_text(),
        small_claims_issuer="",
        indemnity_left_out=False,
        deadline_days=first.get("deadline_days", ""),
        invoices=len(items),
    )
    count = f"{len(items)} factures"
    return LetterDocument(
        kind=kind,
        template=template,
        debtor_kind=debtor_kind,
        creditor=creditor,
        recipient=Party(name=recipient.name, address_lines=tuple(recipient.address_lines)),
        place=place,
        date=when,
        date_line=f"{place}, le {day}" if place else f"Le {day}",
        reference=f"{reference} — {count}" if reference else count,
        object=body.object,
        banner=body.banner,
        salutation=body.salutation,
        paragraphs=tuple(body.paragraphs),
        table=table,
        after_table=tuple(body.after_table),
        sections=(),
        mentions=mentions_for(facts),
        closing=body.closing,
        signature=(f"Pour {creditor.name},", "Le service recouvrement"),
        title=f"{body.object} ({reference})" if reference else body.object,
        created_at=created_at or iso_midnight(when),
    )


def grouped_layout_json(
    template: str,
    items: Sequence[Mapping[str, str]],
    recipient: Recipient,
    reference: str,
    *,
    grand_total: str = "",
    portal_url: str = "",
) -> str | None:
    """The grouped letter laid out, as JSON (what its outbox row keeps, like
    ``stored.layout_json``, with the debtor's ``portal_url``), or None for a template with
    no grouped layout or invoices the layout cannot read: logged, never raised, and the
    text letter stands."""
    if template not in GROUPED_LAYOUTS:
        return None
    try:
        document = build_grouped_letter_document(
            template,
            items,
            recipient,
            reference=reference,
            letterhead=LetterheadSettings(),
            grand_total=grand_total,
        )
    except (MissingContextKeys, InvalidContextValue, LetterContextError) as err:
        # Names no one: the error says which key, invoice or amount, not whose letter it is.
        log.warning("%s: no layout for %s (%s)", reference, template, err)
        return None
    except Exception:  # a letterhead setting (SIREN, logo) it cannot use: the text stands
        log.exception("%s: no layout for %s", reference, template)
        return None
    return document_to_json(with_portal(document, portal_url))
