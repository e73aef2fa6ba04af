"""Balance âgée and countback DSO against books computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import CloseReason
from projections.aged_balance import aged_balance
from projections.calendar import period_ends
from projections.dso import DailyAmounts, countback_dso, dso_report
from tests.projections.builders import Books

D = Decimal
DURAND, MARTIN = "732829320", "552100554"


async def aging_books(books: Books) -> None:
    """Seven invoices of three debtors; the comments give each one's state on 2026-06-30."""
    # Durand A: issued 06-01, due 07-15: not due yet -> not_due 1000.
    await books.invoice("1000.00", date(2026, 6, 1), date(2026, 7, 15), "Durand SARL", DURAND)
    # Durand B: due 06-10, 20 days late; 500 paid 06-20 -> 1-30: 1500.
    b = await books.invoice("2000.00", date(2026, 5, 1), date(2026, 6, 10), "Durand SARL", DURAND)
    await books.pay(b, "500.00", date(2026, 6, 20), "1500.00")
    # Martin C: due 03-31, 91 days late (30 in April + 31 in May + 30 in June);
    # 1000 paid 06-05 -> over_90: 2000.
    c = await books.invoice("3000.00", date(2026, 3, 1), date(2026, 3, 31), "Martin", MARTIN)
    await books.pay(c, "1000.00", date(2026, 6, 5), "2000.00")
    # Martin D: due 05-01, 60 days late (30 to 05-31, 30 to 06-30); paid in full only on
    # 07-05, after the date -> 31-60: 400.
    d = await books.invoice("400.00", date(2026, 4, 1), date(2026, 5, 1), "Martin", MARTIN)
    await books.pay(d, "400.00", date(2026, 7, 5), "0.00")
    await books.close(d, CloseReason.paid, date(2026, 7, 5), "0.00")
    # Petit E (a consumer, no SIREN): due 04-01, 90 days late (30 to 05-01, 31 to 06-01,
    # 29 to 06-30) -> 61-90: 700.
    await books.invoice("700.00", date(2026, 2, 15), date(2026, 4, 1), "Claire Petit", None)
    # Petit F: written off 06-15 -> out of the books on 06-30.
    f = await books.invoice("250.00", date(2026, 4, 15), date(2026, 5, 15), "Claire Petit", None)
    await books.close(f, CloseReason.written_off, date(2026, 6, 15), "250.00")
    # G: paid in full on its due date 06-29 -> nothing open.
    g = await books.invoice("100.00", date(2026, 6, 1), date(2026, 6, 29), "Durand SARL", DURAND)
    await books.pay(g, "100.00", date(2026, 6, 29), "0.00")
    await books.project()


async def test_the_aged_balance_buckets_open_balances_by_days_past_due(
    engine: AsyncEngine, books: Books
) -> None:
    await aging_books(books)

    report = await aged_balance(engine, books.tenant, date(2026, 6, 30), by_debtor=True)

    # not_due 1000 (A); 1-30 1500 (B); 31-60 400 (D); 61-90 700 (E); over 90 2000 (C).
    t = report.tenant
    assert (t.not_due, t.days_1_30, t.days_31_60, t.days_61_90, t.over_90) == (
        D("1000.00"),
        D("1500.00"),
        D("400.00"),
        D("700.00"),
        D("2000.00"),
    )
    assert (t.total, t.invoices) == (D("5600.00"), 5)
    assert report.debtors is not None
    # Durand 1000 + 1500 = 2500; Martin 2000 + 400 = 2400; Petit 700: largest first.
    assert [(x.debtor_name, x.debtor_siren, x.total, x.invoices) for x in report.debtors] == [
        ("Durand SARL", DURAND, D("2500.00"), 2),
        ("Martin", MARTIN, D("2400.00"), 2),
        ("Claire Petit", None, D("700.00"), 1),
    ]
    martin = report.debtors[1]
    assert (martin.over_90, martin.days_31_60) == (D("2000.00"), D("400.00"))


async def test_the_aged_balance_of_a_past_or_later_date_is_the_books_as_they_stood(
    engine: AsyncEngine, books: Books
) -> None:
    await aging_books(books)

    # 07-10: D was paid on 07-05 -> 5600 - 400. Everything is 10 days older:
    # A (due 07-15) still not due; B 30 days -> 1-30; C 101, E 100 -> over 90.
    later = (await aged_balance(engine, books.tenant, date(2026, 7, 10))).tenant
    assert (later.total, later.invoices) == (D("5200.00"), 4)
    assert (later.not_due, later.days_1_30, later.over_90) == (
        D("1000.00"),
        D("1500.00"),
        D("2700.00"),
    )
    # 05-31: A not issued yet; B (2000, due 06-10) not due; C 3000 (61 days);
    # D 400 (30 days); E 700 (60 days); F 250 (16 days, written off later); G not issued.
    earlier = (await aged_balance(engine, books.tenant, date(2026, 5, 31))).tenant
    assert (earlier.not_due, earlier.days_1_30, earlier.days_31_60, earlier.days_61_90) == (
        D("2000.00"),
        D("650.00"),
        D("700.00"),
        D("3000.00"),
    )
    assert (earlier.total, earlier.over_90, earlier.invoices) == (D("6350.00"), D("0.00"), 5)


def test_countback_dso_of_the_worked_example() -> None:
    sales = DailyAmounts(
        {date(2026, 1, 10): D("15000"), date(2026, 2, 12): D("12000"), date(2026, 3, 5): D("10000")}
    )
    # March 31 days (25000 - 10000 = 15000 left), February 28 days (3000 left),
    # January 31 x 3000 / 15000 = 6.2 days: 65.2.
    assert countback_dso(date(2026, 3, 31), D("25000"), sales) == D("65.2")
    # Mid-month: April 1-15 has no sales (15 days), then March's 10000 covers 8000:
    # 15 + 31 x 8000 / 10000 = 15 + 24.8 = 39.8.
    assert countback_dso(date(2026, 4, 15), D("8000"), sales) == D("39.8")
    assert countback_dso(date(2026, 3, 31), D("0"), sales) == D("0.0")
    # More open than ever sold (a ledger missing history): every day back to January 1.
    assert countback_dso(date(2026, 3, 31), D("99999"), sales) == D("90.0")


def test_period_ends_are_month_ends_and_the_last_day() -> None:
    assert period_ends(date(2026, 1, 15), date(2026, 4, 10)) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 10),
    ]
    assert period_ends(date(2026, 2, 1), date(2026, 2, 28)) == [date(2026, 2, 28)]
    assert period_ends(date(2026, 2, 3), date(2026, 2, 5)) == [date(2026, 2, 5)]


async def test_dso_per_month_from_the_ledger(engine: AsyncEngine, books: Books) -> None:
    jan = await books.invoice("15000.00", date(2026, 1, 10), date(2026, 2, 9))
    feb = await books.invoice("12000.00", date(2026, 2, 12), date(2026, 3, 14))
    await books.invoice("10000.00", date(2026, 3, 5), date(2026, 4, 4))
    await books.pay(jan, "12000.00", date(2026, 3, 10), "3000.00")
    await books.pay(feb, "5000.00", date(2026, 4, 2), "7000.00")
    await books.project()

    report = await dso_report(engine, books.tenant, date(2026, 1, 1), date(2026, 4, 15))

    # 01-31: 15000 open, January sold 15000: 31.0.
    # 02-28: 27000 open; February 12000 (28 days, 15000 left), January 15000: 28 + 31 = 59.0.
    # 03-31: 25000 open (the worked example): 65.2.
    # 04-15: 20000 open; April 1-15 sold 0 (15 days), March 10000 (31 days, 10000 left),
    #        February 28 x 10000 / 12000 = 23.33: 15 + 31 + 23.33 = 69.3.
    assert [(p.period_end, p.receivables, p.sales, p.dso_days) for p in report.points] == [
        (date(2026, 1, 31), D("15000.00"), D("15000.00"), D("31.0")),
        (date(2026, 2, 28), D("27000.00"), D("12000.00"), D("59.0")),
        (date(2026, 3, 31), D("25000.00"), D("10000.00"), D("65.2")),
        (date(2026, 4, 15), D("20000.00"), D("0.00"), D("69.3")),
    ]
