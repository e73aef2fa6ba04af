"""One letter for several invoices of one debtor (activities/letter_layout/grouped.py): the
statement of account (``grouped_statement@1``) and one formal notice by registered post
(``grouped_formal_notice@1``), rendered for every debtor kind and read back as printed
(poppler's ``pdftotext -layout``).

shared/domain/french-collection-law.md s.2-4: each invoice keeps its own décompte, the
total row is their sum, and the mentions are the single letters' for the debtor kind, said
of each invoice; nothing meant for another kind of debtor.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from activities.channel_requests import ChannelRequest, Recipient
from activities.channel_templates import InvalidContextValue, MissingContextKeys, render_channel
from activities.grouped_letters import GROUPED_TEMPLATES, grouped_context
from activities.letter_layout import (
    DEBTOR_KINDS,
    DebtorKind,
    LetterContextError,
    LetterDocument,
    LetterheadSettings,
    build_letter_document,
    document_from_json,
    render_letter_html,
    render_letter_pdf,
)
from activities.letter_layout import grouped as grouped_module
from activities.letter_layout.grouped import build_grouped_letter_document, grouped_layout_json
from activities.letter_layout.samples import (
    sample_context,
    sample_grouped_items,
    sample_recipient,
)
from legal.rate_periods import RatePeriod
from schemas.french_format import french_amount
from tests.letter_layout.conftest import LETTERHEAD, REFERENCE, flat, pdftotext
from tests.letter_layout.test_mentions import EXCLUSIVE

STATEMENT, NOTICE = "grouped_statement@1", "grouped_formal_notice@1"
TEMPLATES = (STATEMENT, NOTICE)
ALL = [(template, debtor) for template in TEMPLATES for debtor in DEBTOR_KINDS]
AMOUNT = re.compile(r"\d{1,3}(?: \d{3})*,\d{2} €|—")
MM = 72 / 25.4


@dataclass(frozen=True)
class Grouped:
    template: str
    debtor: DebtorKind
    items: list[dict[str, str]]
    doc: LetterDocument
    pdf: bytes
    layout: str

    @property
    def text(self) -> str:
        return flat(self.layout)

    @property
    def pages(self) -> list[str]:
        return [page for page in self.layout.split("\f") if page.strip()]


def _recipient(debtor: DebtorKind) -> Recipient:
    return sample_recipient("formal_notice", debtor)


def render(template: str, debtor: DebtorKind, count: int = 3) -> Grouped:
    items = sample_grouped_items(template, debtor, count)
    doc = build_grouped_letter_document(
        template, items, _recipient(debtor), reference=REFERENCE, letterhead=LETTERHEAD
    )
    pdf = render_letter_pdf(doc)
    return Grouped(template, debtor, items, doc, pdf, pdftotext(pdf, "-layout"))


@pytest.fixture(scope="module")
def letters() -> dict[tuple[str, DebtorKind], Grouped]:
    """Both grouped letters x 3 debtor kinds, three invoices each, rendered once."""
    return {(template, debtor): render(template, debtor) for template, debtor in ALL}


Letters = dict[tuple[str, DebtorKind], Grouped]


def _rows(layout: str, first_word: str) -> list[list[str]]:
    """The amounts of each table line that starts with ``first_word``."""
    lines = [flat(line) for line in layout.splitlines()]
    return [
        AMOUNT.findall(line) for line in lines if line.startswith(first_word + " ") and "€" in line
    ]


def _amount(text: str) -> Decimal:
    text = flat(text)
    if text in ("", "—"):
        return Decimal("0.00")
    return Decimal(text.replace(" ", "").replace("€", "").replace(",", "."))


def _expected_row(item: dict[str, str], debtor: DebtorKind, penalties_column: bool) -> list[str]:
    """An invoice's figures in the table's column order, by french-collection-law.md s.2
    and s.4 (stated here, not read from the code): no indemnity column for a consumer."""
    figures = [item["principal"]]
    if penalties_column:
        figures.append(item["penalties"] or "—")
    if debtor != "consumer":
        figures.append(item["indemnity"] or "—")
    figures += [item["paid"] or "—", item["total"]]
    return [flat(figure) for figure in figures]


@pytest.mark.parametrize(("template", "debtor"), ALL)
def test_one_row_per_invoice_and_the_total_row_is_their_sum(
    letters: Letters, template: str, debtor: DebtorKind
) -> None:
    """Each invoice's row prints its own décompte (principal, penalties or interest,
    indemnity but never a consumer's, payments, its total); the total row adds the rows up,
    column by column, and its last figure is principal - paid + penalties + indemnity."""
    rendered = letters[template, debtor]
    penalties_column = debtor != "consumer" or any(i["penalties"] for i in rendered.items)
    expected_rows = [_expected_row(i, debtor, penalties_column) for i in rendered.items]
    for item, expected in zip(rendered.items, expected_rows, strict=True):
        assert _rows(rendered.layout, item["invoice_number"]) == [expected]
    sums = [
        sum((_amount(row[column]) for row in expected_rows), Decimal("0.00"))
        for column in range(len(expected_rows[0]))
    ]
    total_row = [
        "—" if all(row[column] == "—" for row in expected_rows) else flat(french_amount(value))
        for column, value in enumerate(sums)
    ]
    assert _rows(rendered.layout, "Total") == [total_row]
    principal, *middle, paid, balance = sums
    assert principal - paid + sum(middle, Decimal(0)) == balance
    assert f"la somme totale de {flat(french_amount(balance))}" in rendered.text
    assert "Facture Émise le Échue le" in rendered.text
    assert len(rendered.doc.table.rows) == 3


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_c_civ_1344_the_grouped_formal_notice_says_so_with_its_deadline_and_computation_date(
    letters: Letters, debtor: DebtorKind
) -> None:
    """One mise en demeure (C. civ. 1344) for all the invoices, by registered letter with
    acknowledgement of receipt: it says it is one, gives its deadline from first
    presentation and the date to which the amounts are computed (french-collection-law.md
    s.3)."""
    text = letters[NOTICE, debtor].text
    assert "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION" in text
    assert "Objet : Mise en demeure de payer — 3 factures" in text
    assert "vaut mise en demeure au sens de l'article 1344 du Code civil" in text
    days = "15" if debtor == "consumer" else "8"
    assert f"dans un délai de {days} jours à compter de la première présentation" in text
    assert f"Le délai de {days} jours qu'elle accorde court à compter de sa première" in text
    assert "Montants arrêtés au 02/12/2026" in text
    assert "Réf. : OUT-3f2a9c41d0b7 — 3 factures" in text


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_c_civ_1344_the_grouped_statement_is_no_formal_notice(
    letters: Letters, debtor: DebtorKind
) -> None:
    """The statement of account (simple post) claims the invoices without putting the
    debtor on notice: no LRAR banner, no C. civ. 1344; its amounts are dated all the same."""
    text = letters[STATEMENT, debtor].text
    assert "Objet : Relevé de compte — 3 factures" in text
    assert "Relevé de compte au 02/12/2026" in text
    assert "Montants arrêtés au 02/12/2026" in text
    assert "RECOMMANDÉE" not in text
    assert "1344 du Code civil" not in text and "vaut mise en demeure" not in text


@pytest.mark.parametrize("debtor", DEBTOR_KINDS)
def test_cpce_l125_1_the_grouped_notice_announces_the_small_claims_procedure_extrajudicial(
    letters: Letters, debtor: DebtorKind
) -> None:
    """The simplified small-claims procedure (CPCE L125-1) is extra-judicial and the
    debtor may refuse it: the notice says so, and never calls it a judicial procedure."""
    text = letters[NOTICE, debtor].text
    assert "petites créances, extrajudiciaire, que vous pourrez refuser" in text
    assert "procédure judiciaire" not in text.lower()


@pytest.mark.parametrize("template", TEMPLATES)
def test_c_com_l441_10_ii_d441_5_business_grouped_letters_claim_penalties_and_40_eur_per_invoice(
    letters: Letters, template: str
) -> None:
    """A professional owes late-payment penalties from the day after each due date, without
    reminder, and a 40 EUR fixed recovery indemnity for each invoice paid late (C. com.
    L441-10 II, D441-5): one 40,00 € per row, their sum in the total row."""
    rendered = letters[template, "business"]
    text = rendered.text
    assert "article L441-10 II du Code de commerce" in text and "D441-5" in text
    assert "sans qu'un rappel soit nécessaire" in text
    assert "dès le jour suivant la date d'échéance de chaque facture" in text
    assert "40 euros par facture" in text
    assert re.search(r"Pénalités de .{0,80}retard", text)
    assert re.search(r"Indemnité .{0,80}forfaitaire", text)
    for item in rendered.items:
        assert "40,00 €" in _rows(rendered.layout, item["invoice_number"])[0]
    assert "120,00 €" in _rows(rendered.layout, "Total")[0]


@pytest.mark.parametrize("template", TEMPLATES)
def test_ccp_l2192_13_r2192_31_d2192_35_public_grouped_letters_state_interest_and_indemnity(
    letters: Letters, template: str
) -> None:
    """A public buyer owes moratorium interest at the ECB rate + 8 points (C. commande
    publique L2192-13, R2192-31) and the 40 EUR indemnity (D2192-35), paid within 45 days
    of the principal (R2192-36)."""
    text = letters[template, "public"].text
    assert "article L2192-13 du Code de la commande publique" in text
    assert "R2192-31" in text and "majoré de 8 points" in text
    assert "D2192-35" in text and "40 euros" in text
    assert "R2192-36" in text and "45 jours" in text
    assert re.search(r"Intérêts .{0,80}moratoires", text)


@pytest.mark.parametrize("template", TEMPLATES)
def test_cpce_l111_8_consumer_grouped_letters_claim_no_indemnity_and_no_fees(
    letters: Letters, template: str
) -> None:
    """A consumer owes no fixed indemnity (D441-5 is for professionals) and no recovery
    costs incurred without an enforceable title (CPCE L111-8): no column, no mention."""
    rendered = letters[template, "consumer"]
    text = rendered.text
    for word in ("40,00", "40 euros", "ndemnité forfaitaire", "D441-5", "L441-10"):
        assert word not in text, word
    assert "Indemnité" not in rendered.layout
    assert "article L111-8 du Code des procédures civiles d'exécution" in text
    assert "Aucuns frais de recouvrement ne vous sont réclamés" in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_c_civ_1231_6_1344_1_a_consumers_interest_runs_only_from_the_formal_notice(
    letters: Letters, template: str
) -> None:
    """Legal-rate interest on a consumer's debt runs from the formal notice's first
    presentation (C. civ. 1231-6, 1344-1): the statement claims none, the notice starts it."""
    rendered = letters[template, "consumer"]
    text = rendered.text
    assert "articles 1231-6 et 1344-1 du Code civil" in text
    assert "Intérêts au taux légal" not in rendered.layout  # no column: nothing claimed yet
    if template == STATEMENT:
        assert "Aucun intérêt ne vous est réclamé à ce jour" in text
    else:
        assert "La présente mise en demeure fait courir" in text


@pytest.mark.parametrize(("template", "debtor"), ALL)
def test_no_grouped_letter_prints_another_debtor_kinds_rules(
    letters: Letters, template: str, debtor: DebtorKind
) -> None:
    """Nothing meant for one kind of debtor in another's letter (C. com. L441-10 for
    professionals, C. commande publique L2192-13 for public buyers, C. civ. 1231-6 for
    consumers)."""
    text = letters[template, debtor].text
    for other in DEBTOR_KINDS:
        if other == debtor:
            continue
        for word in EXCLUSIVE[other]:
            assert word not in text, f"{debtor} {template} prints {other}'s {word!r}"


@pytest.mark.parametrize(("template", "debtor"), ALL)
def test_c_civ_1342_10_1343_1_each_payment_goes_to_its_invoice_principal_first(
    letters: Letters, template: str, debtor: DebtorKind
) -> None:
    """The debtor of several debts names the one a payment settles (C. civ. 1342-10), and
    recouvre imputes it to that invoice's principal first, which claims less than the
    interest-first rule of C. civ. 1343-1; the letter asks for the invoice numbers."""
    text = letters[template, debtor].text
    assert "imputé sur la facture que vous désignez en payant (article 1342-10" in text
    assert "en priorité sur le principal" in text and "l'article 1343-1 du Code civil" in text
    assert "numéro de chaque facture réglée" in text or "numéro de la facture qu'il solde" in text


@pytest.mark.parametrize(("template", "debtor"), ALL)
def test_every_page_is_numbered_page_n_of_total(
    letters: Letters, template: str, debtor: DebtorKind
) -> None:
    """CSS @page counters: "page 1 / 2" at the foot of each page; later pages repeat the
    reference at the top."""
    rendered = letters[template, debtor]
    total = len(PdfReader(io.BytesIO(rendered.pdf)).pages)
    assert len(rendered.pages) == total
    for number, page in enumerate(rendered.pages, start=1):
        assert f"page {number} / {total}" in flat(page)
    if total > 1:
        assert "Réf. : OUT-3f2a9c41d0b7 — 3 factures" in flat(rendered.pages[1])


def test_a_long_decompte_runs_over_pages_with_its_header_repeated_and_one_total_row() -> None:
    """30 invoices: the grid starts on the first page, its header row is repeated on each
    page it runs over, each invoice is printed once, and the total row once, after the
    last invoice (a repeated total under a part of the rows would misstate the claim)."""
    rendered = render(NOTICE, "business", count=30)
    pages = rendered.pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"page {number} / {len(pages)}" in flat(page)
    for item in rendered.items:
        assert len(_rows(rendered.layout, item["invoice_number"])) == 1, item["invoice_number"]
    with_rows = [page for page in pages if "F-2026-" in page]
    assert len(with_rows) >= 2 and "F-2026-0042" in with_rows[0]  # no empty first page
    for page in with_rows:
        assert "Facture Émise le Échue le" in flat(page)
    totals = _rows(rendered.layout, "Total")
    assert len(totals) == 1
    last = rendered.items[-1]["invoice_number"]
    assert rendered.layout.index(last) < rendered.layout.index(" Total ")
    expected = sum((_amount(i["total"]) for i in rendered.items), Decimal("0.00"))
    assert totals[0][-1] == flat(french_amount(expected))


@pytest.mark.parametrize("template", TEMPLATES)
def test_nf_z_11_001_the_recipient_block_sits_in_a_dl_window(template: str) -> None:
    """The address block in the part of a DL envelope's window that always shows the
    folded sheet (100-190 mm across, 50-84 mm down), as in the single letters."""
    recipient = _recipient("business")
    doc = build_grouped_letter_document(
        template, sample_grouped_items(template, "business"), recipient, letterhead=LETTERHEAD
    )
    bbox = pdftotext(render_letter_pdf(doc), "-bbox", "-f", "1", "-l", "1")
    words = [
        (float(x0), float(y0), float(x1), float(y1), html.unescape(word))
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            bbox,
        )
    ]
    window = [w for w in words if w[0] > 90 * MM and w[1] < 86 * MM]
    assert " ".join(w[4] for w in window) == " ".join([recipient.name, *recipient.address_lines])
    assert abs(min(w[0] for w in window) - 100 * MM) < 0.5 * MM
    assert 50 * MM <= min(w[1] for w in window) <= 53 * MM
    assert max(w[2] for w in window) <= 190 * MM
    assert max(w[3] for w in window) <= 84 * MM


@pytest.mark.parametrize(("template", "debtor"), ALL)
def test_the_laid_out_letter_states_the_same_amounts_as_the_text_letter(
    letters: Letters, template: str, debtor: DebtorKind
) -> None:
    """The text letter of the same invoices (activities/grouped_letters.py, as
    ``send_grouped_letter`` renders it) and the laid-out one print the same figures, and
    its grand total is the total row's."""
    rendered = letters[template, debtor]
    channel = next(name for name, value in GROUPED_TEMPLATES.items() if value == template)
    requests = [
        ChannelRequest(
            idempotency_key=f"case-{index}/step",
            case_id=f"case-{index}",
            tenant="demo",
            step="formal_notice" if template == NOTICE else "reminder_3",
            channel=channel,
            template="formal_notice@1" if template == NOTICE else "reminder_3@1",
            recipient=_recipient(debtor),
            context=item,
        )
        for index, item in enumerate(rendered.items)
    ]
    context = grouped_context(requests, [_amount(item["total"]) for item in rendered.items])
    text_letter = flat(render_channel(template, context, _recipient(debtor)))
    assert flat(context["grand_total"]) == _rows(rendered.layout, "Total")[0][-1]
    for item in rendered.items:
        for key in ("principal", "paid", "penalties", "indemnity", "total"):
            figure = flat(item[key])
            if figure:
                assert figure in text_letter and figure in rendered.text, (item, key)
    document = build_grouped_letter_document(
        template, rendered.items, _recipient(debtor), grand_total=context["grand_total"]
    )
    assert document.table.totals.balance == context["grand_total"]


def test_the_rate_periods_of_each_invoice_are_stated_with_its_number() -> None:
    """C. civ. 1344 as practised: each period and its rate, here for each invoice."""
    period = RatePeriod(
        start=date(2026, 7, 2),
        end=date(2026, 12, 2),
        days=154,
        rate=Decimal("12.15"),
        half_year="2026 H2",
        basis="contract rate 12.15 %",
        article="C. com. L441-10 II",
        status="official",
        source="CGV",
    )
    items = sample_grouped_items(NOTICE, "business")
    items[1] = items[1] | {"rate_periods_json": json.dumps([period.model_dump(mode="json")])}
    doc = build_grouped_letter_document(NOTICE, items, _recipient("business"))
    computation = next(m for m in doc.mentions if m.key == "computation")
    assert computation.text.startswith("Montants arrêtés au 02/12/2026. Taux appliqués :")
    assert "facture n° F-2026-0043, du 02/07/2026 au 02/12/2026 (154 jours)" in computation.text
    assert "12,15 % l'an (taux contractuel ; C. com. L441-10 II)" in computation.text


def _items(template: str = NOTICE, debtor: DebtorKind = "business") -> list[dict[str, str]]:
    return sample_grouped_items(template, debtor)


def test_invoices_of_different_debtor_kinds_are_refused() -> None:
    """One letter, one debtor: its mentions are one kind's (a consumer's invoice in a
    professional's letter would be claimed the 40 EUR indemnity)."""
    items = _items()
    items[2] = sample_grouped_items(NOTICE, "consumer")[2]
    with pytest.raises(LetterContextError, match="same debtor_kind"):
        build_grouped_letter_document(NOTICE, items, _recipient("business"))


def test_a_decompte_that_does_not_add_up_is_refused() -> None:
    items = _items()
    items[1] = items[1] | {"total": "1 400,00\u00a0€"}
    with pytest.raises(LetterContextError, match=r"F-2026-0043.*does not add up"):
        build_grouped_letter_document(NOTICE, items, _recipient("business"))
    items = _items(STATEMENT, "consumer")
    items[0] = items[0] | {"indemnity": "40,00\u00a0€", "total": "1 040,00\u00a0€"}
    with pytest.raises(LetterContextError, match="consumer owes no fixed recovery indemnity"):
        build_grouped_letter_document(STATEMENT, items, _recipient("consumer"))
    with pytest.raises(LetterContextError, match="grand_total 3 000,00 € is not the sum"):
        build_grouped_letter_document(
            NOTICE, _items(), _recipient("business"), grand_total="3 000,00 €"
        )


def test_a_grouped_letter_lists_several_distinct_invoices_of_one_date() -> None:
    items = _items()
    with pytest.raises(LetterContextError, match="at least 2 invoices"):
        build_grouped_letter_document(NOTICE, items[:1], _recipient("business"))
    with pytest.raises(LetterContextError, match="listed twice"):
        build_grouped_letter_document(NOTICE, [*items, items[0]], _recipient("business"))
    later = [items[0], items[1] | {"document_date": "03/12/2026", "as_of": "03/12/2026"}]
    with pytest.raises(LetterContextError, match="same document_date"):
        build_grouped_letter_document(NOTICE, later, _recipient("business"))
    longer = [items[0], items[1] | {"deadline_days": "15"}]
    with pytest.raises(LetterContextError, match="same deadline_days"):
        build_grouped_letter_document(NOTICE, longer, _recipient("business"))
    iban = [items[0], items[1] | {"payment_instructions": "par virement sur FR76 9999"}]
    with pytest.raises(LetterContextError, match="payment_instructions") as refused:
        build_grouped_letter_document(NOTICE, iban, _recipient("business"))
    assert "FR76" not in str(refused.value)  # a log line quotes no bank account
    amounts = ("principal", "paid", "balance", "penalties", "indemnity", "total")
    pounds = [items[0], items[1] | {k: items[1][k].replace("€", "GBP") for k in amounts}]
    with pytest.raises(LetterContextError, match="'F-2026-0043' is in GBP"):
        build_grouped_letter_document(NOTICE, pounds, _recipient("business"))
    with pytest.raises(LetterContextError, match="no grouped letter layout"):
        build_grouped_letter_document("formal_notice@1", items, _recipient("business"))


def test_a_missing_key_names_its_invoice_and_an_unknown_debtor_kind_is_refused() -> None:
    items = _items()
    del items[1]["deadline_days"]
    with pytest.raises(MissingContextKeys, match=r"deadline_days \(invoice 2\)"):
        build_grouped_letter_document(NOTICE, items, _recipient("business"))
    items = [item | {"debtor_kind": "martian"} for item in _items()]
    with pytest.raises(InvalidContextValue, match="debtor_kind"):
        build_grouped_letter_document(NOTICE, items, _recipient("business"))


def test_grouped_layout_json_is_the_document_or_none_never_an_error(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``send_grouped_letter`` keeps with the outbox row: the layout as JSON (read back
    into the same document), or None, logged, when it cannot be laid out: the text letter
    is never held back by its layout."""
    recipient = _recipient("business")
    stored = grouped_layout_json(NOTICE, _items(), recipient, REFERENCE)
    assert stored is not None
    doc = document_from_json(stored)
    assert doc.template == NOTICE and len(doc.table.rows) == 3
    assert doc == build_grouped_letter_document(
        NOTICE, _items(), recipient, reference=REFERENCE, letterhead=LetterheadSettings()
    )
    assert "Mise en demeure de payer — 3 factures" in flat(pdftotext(render_letter_pdf(doc)))
    assert grouped_layout_json("formal_notice@1", _items(), recipient, REFERENCE) is None
    mixed = [*_items()[:2], sample_grouped_items(NOTICE, "consumer")[2]]
    with caplog.at_level(logging.WARNING, logger="recouvre.letters"):
        assert grouped_layout_json(NOTICE, mixed, recipient, REFERENCE) is None
        assert grouped_layout_json(NOTICE, [{}, {}], recipient, REFERENCE) is None
    assert "OUT-3f2a9c41d0b7: no layout for grouped_formal_notice@1" in caplog.text
    assert "Durand" not in caplog.text

    def broken(*args: object, **kwargs: object) -> LetterDocument:
        raise RuntimeError("a logo it cannot read")

    monkeypatch.setattr(grouped_module, "build_grouped_letter_document", broken)
    assert grouped_layout_json(NOTICE, _items(), recipient, REFERENCE) is None


def test_the_grouped_page_lets_the_grid_run_over_pages_and_the_single_letters_keep_theirs(
    letters: Letters,
) -> None:
    """Only the grouped letters' page lets the grid break and prints its total row once;
    a single letter's HTML is that of its own kind, unchanged."""
    grouped_page = render_letter_html(letters[NOTICE, "business"].doc)
    assert "table-row-group" in grouped_page and "letter-formal_notice" in grouped_page
    single = build_letter_document(
        "formal_notice@1",
        sample_context("formal_notice", "business"),
        sample_recipient("formal_notice", "business"),
        letterhead=LETTERHEAD,
    )
    assert "table-row-group" not in render_letter_html(single)


@pytest.mark.parametrize("template", TEMPLATES)
def test_iso_19005_3_the_grouped_pdf_is_pdf_a_3b_and_the_same_bytes_each_time(
    letters: Letters, template: str
) -> None:
    """Archived like the single letters: PDF/A-3b (ISO 19005-3), dated by the letter, the
    same bytes for the same invoices."""
    rendered = letters[template, "business"]
    reader = PdfReader(io.BytesIO(rendered.pdf))
    catalog: Any = reader.trailer["/Root"]
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "<xmp:CreateDate>2026-12-02T00:00:00Z</xmp:CreateDate>" in xmp
    info = reader.metadata
    assert info is not None and info.title == rendered.doc.title
    assert rendered.doc.title.endswith(f"— 3 factures ({REFERENCE})")
    assert render_letter_pdf(render(template, "business").doc) == rendered.pdf
