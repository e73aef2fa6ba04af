"""Property tests: rounding once and monotonic penalties."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from legal.penalties import b2b_penalties
from legal.rates import RateTable, load_rate_table

PROPERTIES = settings(database=None, max_examples=300, deadline=None)
RATES: RateTable = load_rate_table()
amounts = st.integers(1, 1_000_000_000).map(lambda cents: Decimal(cents) / 100)
# The packaged table covers 2024 H1 to 2026 H2.
dates = st.dates(min_value=date(2023, 12, 31), max_value=date(2026, 12, 31))


@PROPERTIES
@given(principal=amounts, a=dates, b=dates, c=dates)
def test_splitting_a_period_changes_the_total_by_at_most_one_cent(
    principal: Decimal, a: date, b: date, c: date
) -> None:
    start, split, end = sorted([a, b, c])
    whole = b2b_penalties(principal, start, end, RATES).total
    first = b2b_penalties(principal, start, split, RATES).total
    second = b2b_penalties(principal, split, end, RATES).total
    assert abs(first + second - whole) <= Decimal("0.01")


@PROPERTIES
@given(principal=amounts, due=dates, days=st.integers(0, 700), more=st.integers(0, 100))
def test_penalties_never_decrease_with_more_days(
    principal: Decimal, due: date, days: int, more: int
) -> None:
    as_of = min(due + timedelta(days=days), date(2026, 12, 31))
    later = min(as_of + timedelta(days=more), date(2026, 12, 31))
    earlier = b2b_penalties(principal, due, as_of, RATES)
    assert earlier.total <= b2b_penalties(principal, due, later, RATES).total
    assert sum(s.days for s in earlier.segments) == max((as_of - due).days, 0)
