"""Contact caps and hours per debtor (workflows/contact_caps.py, schemas/contact_policy.py).

The domain reference sets no cap and no contact hours (reminders are practice, s.3): the
defaults are data, and these tests pin the shipped ones. Public holidays are those of
C. trav. L3133-1 in the debtor's calendar (Alsace-Moselle, overseas), as for CPC 642.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from holidays.countries.france import France
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from legal.working_days import METROPOLITAN, DebtorCalendar, calendar_for_subdivision
from schemas.contact_policy import (
    ContactCap,
    ContactPolicy,
    default_contact_policy,
    demo_contact_policy,
)
from schemas.policy import Channel
from workflows.contact_caps import (
    contact_allowed_at,
    explain_next_contact,
    group_until,
    next_allowed_contact,
    timezone_for,
)

PARIS = ZoneInfo("Europe/Paris")
POLICY = default_contact_policy()
DEMO = demo_contact_policy()
ALSACE_MOSELLE = calendar_for_subdivision("57")
GUADELOUPE = calendar_for_subdivision("971")


def paris(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An instant given in Paris local time, returned in UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=PARIS).astimezone(UTC)


# 2026-06-09 is a Tuesday; 2026-06-13 a Saturday; 2026-06-14 a Sunday.
HOURS_CASES = [
    pytest.param(
        "consumer", paris(2026, 6, 9, 10), paris(2026, 6, 9, 10), id="consumer-tuesday-10h-now"
    ),
    pytest.param(
        "consumer", paris(2026, 6, 13, 10), paris(2026, 6, 13, 10), id="consumer-saturday-allowed"
    ),
    pytest.param(
        "consumer", paris(2026, 6, 14, 10), paris(2026, 6, 15, 8), id="consumer-sunday-to-monday-8h"
    ),
    pytest.param(
        "consumer", paris(2026, 6, 9, 7, 59), paris(2026, 6, 9, 8), id="consumer-before-8h"
    ),
    pytest.param(
        "consumer", paris(2026, 6, 9, 20), paris(2026, 6, 10, 8), id="consumer-20h-is-closed"
    ),
    pytest.param(
        "consumer", paris(2026, 6, 13, 21), paris(2026, 6, 15, 8), id="consumer-saturday-night"
    ),
    pytest.param(
        "business",
        paris(2026, 6, 13, 10),
        paris(2026, 6, 15, 9),
        id="business-saturday-to-monday-9h",
    ),
    pytest.param(
        "business", paris(2026, 6, 12, 18), paris(2026, 6, 15, 9), id="business-friday-18h"
    ),
    pytest.param(
        "business", paris(2026, 6, 12, 17, 59), paris(2026, 6, 12, 17, 59), id="business-17h59"
    ),
    pytest.param("public", paris(2026, 6, 14, 12), paris(2026, 6, 15, 9), id="public-as-business"),
    # C. trav. L3133-1: 8 May (Friday in 2026), Ascension Thursday 14 May 2026, 14 July.
    pytest.param("business", paris(2026, 5, 8, 10), paris(2026, 5, 11, 9), id="l3133-1-8-may"),
    pytest.param("consumer", paris(2026, 5, 14, 10), paris(2026, 5, 15, 8), id="l3133-1-ascension"),
    pytest.param("consumer", paris(2026, 7, 14, 9), paris(2026, 7, 15, 8), id="l3133-1-14-july"),
    # Winter time: 8:00 in Paris is 07:00 UTC; summer time: 06:00 UTC (DST on 29 Mar 2026).
    pytest.param(
        "consumer",
        datetime(2026, 3, 27, 5, 0, tzinfo=UTC),
        datetime(2026, 3, 27, 7, 0, tzinfo=UTC),
        id="winter-time",
    ),
    pytest.param(
        "consumer",
        datetime(2026, 3, 30, 5, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 6, 0, tzinfo=UTC),
        id="summer-time",
    ),
]


@pytest.mark.parametrize(("kind", "now", "expected"), HOURS_CASES)
def test_contact_hours_per_debtor_kind(kind: str, now: datetime, expected: datetime) -> None:
    found = next_allowed_contact([], now, kind, POLICY)
    assert found == expected, f"{kind} at {now.astimezone(PARIS)}: {found.astimezone(PARIS)}"
    assert found.tzinfo is UTC


def test_c_trav_l3133_1_alsace_moselle_26_december_is_not_a_contact_day() -> None:
    friday = paris(2025, 12, 26, 10)  # Saint-Étienne: a holiday in 57, 67, 68 only
    assert next_allowed_contact([], friday, "business", POLICY) == friday
    assert next_allowed_contact([], friday, "business", POLICY, calendar=ALSACE_MOSELLE) == paris(
        2025, 12, 29, 9
    )


def test_overseas_debtor_is_contacted_in_its_own_hours() -> None:
    # 9:00 in Guadeloupe (UTC-4, no summer time) is 13:00 UTC.
    now = datetime(2026, 6, 9, 8, 0, tzinfo=UTC)
    assert timezone_for(GUADELOUPE, POLICY).key == "America/Guadeloupe"
    found = next_allowed_contact([], now, "business", POLICY, calendar=GUADELOUPE)
    assert found == datetime(2026, 6, 9, 13, 0, tzinfo=UTC)


NOW = paris(2026, 6, 9, 10)  # Tuesday
CAP_CASES = [
    pytest.param(
        "consumer", [NOW - timedelta(days=2)], NOW + timedelta(days=3), id="consumer-1-in-5-days"
    ),
    pytest.param("consumer", [NOW - timedelta(days=5)], NOW, id="consumer-exactly-5-days-later"),
    pytest.param(
        "consumer",
        [NOW - timedelta(days=4, hours=23)],
        NOW + timedelta(hours=1),
        id="consumer-5-days-to-the-hour",
    ),
    pytest.param(
        "consumer",
        [NOW - timedelta(days=d) for d in (29, 20, 10, 5)],
        NOW + timedelta(days=1),
        id="consumer-4-in-30-days",
    ),
    pytest.param(
        "consumer",
        [NOW - timedelta(days=d) for d in (40, 35, 20, 10, 5)],
        NOW,
        id="consumer-older-contacts-leave-the-window",
    ),
    pytest.param(
        "business", [NOW - timedelta(days=1)], NOW + timedelta(days=1), id="business-1-in-2-days"
    ),
    pytest.param(
        "business",
        [NOW - timedelta(days=d) for d in (28, 24, 20, 16, 12, 8)],
        NOW + timedelta(days=2),
        id="business-6-in-30-days",
    ),
    # Contacted Tuesday 10:00, the cap lets go on Thursday 10:00: within business hours.
    pytest.param("business", [NOW], NOW + timedelta(days=2), id="business-cap-within-the-week"),
    # Released at 21:00, after consumer hours: the next morning.
    pytest.param(
        "consumer", [paris(2026, 6, 4, 21)], paris(2026, 6, 10, 8), id="consumer-cap-then-night"
    ),
    # A contact already scheduled after now also counts (any n + 1 contacts span W).
    pytest.param(
        "consumer", [NOW + timedelta(days=1)], NOW + timedelta(days=6), id="future-contact-counts"
    ),
]


@pytest.mark.parametrize(("kind", "history", "expected"), CAP_CASES)
def test_contact_caps(kind: str, history: list[datetime], expected: datetime) -> None:
    found = next_allowed_contact(history, NOW, kind, POLICY)
    assert found == expected, f"{found.astimezone(PARIS)} != {expected.astimezone(PARIS)}"
    assert contact_allowed_at(history, found, kind, POLICY)


def test_history_order_and_time_zone_do_not_matter() -> None:
    history = [NOW - timedelta(days=d) for d in (29, 5, 20, 10)]
    shuffled = [h.astimezone(PARIS) for h in reversed(history)]
    assert next_allowed_contact(history, NOW, "consumer", POLICY) == next_allowed_contact(
        shuffled, NOW.astimezone(PARIS), "consumer", POLICY
    )


def test_shipped_consumer_timeline_fits_the_consumer_caps() -> None:
    """fr-b2c-standard sends at due +10, +25, +30 and +35 at 8:00 UTC: one invoice alone
    is never held back (the LRAR at +45 is exempt anyway)."""
    due = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # a Monday; the steps fall on weekdays
    sent: list[datetime] = []
    for offset in (10, 25, 30, 35):
        planned = due + timedelta(days=offset)
        if planned.astimezone(PARIS).isoweekday() == 7:
            continue
        assert next_allowed_contact(sent, planned, "consumer", POLICY) == planned, offset
        sent.append(planned)


def test_demo_policy_counts_seconds_at_any_hour() -> None:
    night = datetime(2026, 6, 14, 2, 0, tzinfo=UTC)  # a Sunday, 4:00 in Paris
    assert next_allowed_contact([], night, "consumer", DEMO) == night
    last = night - timedelta(seconds=1)
    assert next_allowed_contact([last], night, "consumer", DEMO) == night + timedelta(seconds=1)
    assert group_until(night, DEMO) == night + timedelta(seconds=2)


def test_grouping_window_is_ten_minutes_in_production() -> None:
    assert group_until(NOW, POLICY) == NOW + timedelta(minutes=10)


CHANNEL_CASES = [
    pytest.param(Channel.email, True, False, id="email"),
    pytest.param(Channel.letter, True, False, id="letter"),
    pytest.param(Channel.letter_and_email, True, False, id="letter-and-email-one-contact"),
    pytest.param(Channel.phone_task, True, False, id="phone-call"),
    pytest.param(Channel.registered_letter, True, True, id="c-civ-1344-lrar-counted-not-held"),
    pytest.param(Channel.handoff, False, False, id="handoff-not-a-contact"),
    pytest.param(Channel.court_file, False, False, id="court-file-not-a-contact"),
    pytest.param(Channel.claim_declaration, False, False, id="l622-24-declaration-to-mandataire"),
]


@pytest.mark.parametrize(("channel", "counts", "exempt"), CHANNEL_CASES)
def test_which_contacts_count_and_which_are_exempt(
    channel: Channel, counts: bool, exempt: bool
) -> None:
    assert POLICY.counts(channel) is counts
    assert POLICY.is_exempt(channel) is exempt


def test_explain_allowed_now() -> None:
    slot = explain_next_contact([], NOW, "consumer", POLICY)
    assert (slot.at, slot.reason, slot.cap) == (NOW, "allowed_now", None)
    assert slot.reason_fr == "Contact possible maintenant (fr-contact-standard v1)."
    assert slot.reason_en == "Contact allowed now (fr-contact-standard v1)."
    assert (slot.policy_id, slot.policy_version) == ("fr-contact-standard", 1)


def test_explain_outside_hours() -> None:
    slot = explain_next_contact([], paris(2026, 6, 14, 10), "consumer", POLICY)
    assert slot.reason == "hours"
    assert "prochain créneau le 15/06/2026 à 08:00 (Europe/Paris)" in slot.reason_fr
    assert "next slot on 2026-06-15 at 08:00 (Europe/Paris)" in slot.reason_en


def test_explain_cap() -> None:
    slot = explain_next_contact([NOW - timedelta(days=2)], NOW, "consumer", POLICY)
    assert slot.reason == "cap"
    assert slot.cap == ContactCap(max_contacts=1, within=timedelta(days=5))
    assert slot.reason_fr == (
        "Plafond atteint (au plus 1 contact par 5 jours) ; prochain contact le "
        "12/06/2026 à 10:00 (Europe/Paris) (fr-contact-standard v1)."
    )
    assert slot.reason_en.startswith("Cap reached (at most 1 contact per 5 days); next")


def test_explain_cap_then_hours() -> None:
    # Contacted Thursday 10:00; the cap lets go on Saturday 10:00: a business waits for Monday.
    thursday = paris(2026, 6, 11, 14)
    slot = explain_next_contact([paris(2026, 6, 11, 10)], thursday, "business", POLICY)
    assert slot.reason == "cap_then_hours"
    assert slot.at == paris(2026, 6, 15, 9)
    assert "levé le 13/06/2026 à 10:00 (Europe/Paris) hors des heures" in slot.reason_fr
    assert "lifted on 2026-06-13 at 10:00 (Europe/Paris) outside contact hours" in slot.reason_en


def test_explain_demo_caps_in_seconds() -> None:
    slot = explain_next_contact([NOW], NOW, "business", DEMO)
    assert "au plus 1 contact par 2 s" in slot.reason_fr


@pytest.mark.parametrize(
    ("history", "now", "kind"),
    [
        pytest.param([], datetime(2026, 6, 9, 10), "consumer", id="naive-now"),
        pytest.param([datetime(2026, 6, 1, 10)], NOW, "consumer", id="naive-history"),
        pytest.param([], NOW, "martian", id="unknown-kind"),
    ],
)
def test_bad_input_is_refused(history: list[datetime], now: datetime, kind: str) -> None:
    with pytest.raises(ValueError):
        next_allowed_contact(history, now, kind, POLICY)


def _hours(days: list[int], *windows: tuple[str, str]) -> dict[str, object]:
    """``rules`` changes: the same hours for every kind."""
    spans = [{"start": start, "end": end} for start, end in windows]
    return {"rules": {k: {"hours": {"days": days, "windows": spans}} for k in POLICY.rules}}


def _payload(**changes: object) -> dict[str, object]:
    data: dict[str, object] = POLICY.model_dump(mode="json")
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"timezone": "Europe/Atlantis"}, "unknown time zone", id="zone"),
        pytest.param({"grouping_window": "-PT1S"}, "cannot be negative", id="negative-window"),
        pytest.param({"version": 0}, "greater than or equal to 1", id="version"),
        pytest.param(
            {"rules": {"business": {}, "public": {}}}, "no rules for consumer", id="missing-kind"
        ),
        pytest.param(
            {"rules": {k: {"caps": [{"max_contacts": 1, "within": "PT0S"}]} for k in POLICY.rules}},
            "longer than zero",
            id="empty-cap-window",
        ),
        pytest.param(
            _hours([1], ("18:00", "09:00")), "start before they end", id="hours-backwards"
        ),
        pytest.param(
            _hours([1], ("09:00", "13:00"), ("12:00", "18:00")),
            "must not overlap",
            id="hours-overlap",
        ),
        pytest.param(_hours([0, 8], ("09:00", "18:00")), "ISO weekdays", id="weekday-range"),
    ],
)
def test_contact_policy_is_validated(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ContactPolicy.model_validate(_payload(**changes))


def test_contact_policy_round_trips_as_json() -> None:
    for policy in (POLICY, DEMO):
        assert ContactPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_two_windows_like_c_consom_d223_9() -> None:
    """D223-9's pattern (Mon-Fri, 10-13 and 14-20), configured as data: the lunch break."""
    hours = _hours([1, 2, 3, 4, 5], ("10:00", "13:00"), ("14:00", "20:00"))
    policy = ContactPolicy.model_validate(_payload(**hours, id="d223-9-like"))
    assert next_allowed_contact([], paris(2026, 6, 9, 13, 30), "consumer", policy) == paris(
        2026, 6, 9, 14
    )
    assert next_allowed_contact([], paris(2026, 6, 9, 9), "consumer", policy) == paris(
        2026, 6, 9, 10
    )


# --- properties -------------------------------------------------------------------------

PROPERTIES = settings(database=None, max_examples=200, deadline=None)
BASE = datetime(2026, 3, 20, 0, 0, tzinfo=UTC)  # spans the March DST change and Easter
instants = st.integers(-60 * 24 * 60, 20 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))
nows = st.integers(-10 * 24 * 60, 20 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m))
kinds = st.sampled_from(["business", "consumer", "public"])
policies = st.sampled_from([POLICY, DEMO])
calendars = st.sampled_from([METROPOLITAN, ALSACE_MOSELLE, GUADELOUPE])


def _independent_check(
    history: list[datetime], at: datetime, kind: str, policy: ContactPolicy, cal: DebtorCalendar
) -> bool:
    """The rules restated without the module: every window of a cap's length that holds
    ``at`` holds at most the cap's number; the day and local hour are allowed."""
    rules = policy.rules_for(kind)
    every = [*history, at]
    for cap in rules.caps:
        for start in every:
            if start <= at < start + cap.within:
                inside = sum(1 for p in every if start <= p < start + cap.within)
                if inside > cap.max_contacts:
                    return False
    if rules.hours is None:
        return True
    local = at.astimezone(timezone_for(cal, policy))
    table = France(subdiv=cal.subdivision, years=local.year)  # type: ignore[no-untyped-call]
    if local.isoweekday() not in rules.hours.days or local.date() in table:
        return False
    moment = time(local.hour, local.minute, local.second, local.microsecond)
    return any(w.start <= moment < w.end for w in rules.hours.windows)


@PROPERTIES
@given(
    history=st.lists(instants, max_size=8),
    now=nows,
    kind=kinds,
    policy=policies,
    cal=calendars,
    fraction=st.floats(0, 1, exclude_max=True),
)
def test_next_allowed_contact_is_the_earliest_allowed_instant(
    history: list[datetime],
    now: datetime,
    kind: str,
    policy: ContactPolicy,
    cal: DebtorCalendar,
    fraction: float,
) -> None:
    found = next_allowed_contact(history, now, kind, policy, calendar=cal)
    assert found >= now
    assert _independent_check(history, found, kind, policy, cal), found
    assert contact_allowed_at(history, found, kind, policy, calendar=cal)
    # Idempotent: asking again at the answer gives the answer.
    assert next_allowed_contact(history, found, kind, policy, calendar=cal) == found
    # Earliest: nothing in [now, found) is allowed.
    if found > now:
        # (timedelta * float rounds to the microsecond: keep it strictly before.)
        earlier = min(now + (found - now) * fraction, found - timedelta(microseconds=1))
        assert not _independent_check(history, earlier, kind, policy, cal), earlier
        just_before = found - timedelta(microseconds=1)
        assert not _independent_check(history, just_before, kind, policy, cal), just_before


@PROPERTIES
@given(history=st.lists(instants, max_size=8), now=nows, kind=kinds, policy=policies)
def test_explanation_agrees_with_next_allowed_contact(
    history: list[datetime], now: datetime, kind: str, policy: ContactPolicy
) -> None:
    slot = explain_next_contact(history, now, kind, policy)
    assert slot.at == next_allowed_contact(history, now, kind, policy)
    assert (slot.reason == "allowed_now") is (slot.at == now)
    assert slot.reason_fr and slot.reason_en


@PROPERTIES
@given(start=nows, kind=kinds, gaps=st.lists(st.integers(0, 10 * 24 * 60), max_size=12))
def test_a_schedule_built_with_it_never_breaks_a_cap(
    start: datetime, kind: str, gaps: list[int]
) -> None:
    """Contacts sent each at the answer, however eager the requests, respect every cap."""
    sent: list[datetime] = []
    wanted = start
    for gap in gaps:
        wanted = max(wanted, sent[-1] if sent else wanted) + timedelta(minutes=gap)
        sent.append(next_allowed_contact(sent, wanted, kind, POLICY))
    for cap in POLICY.rules_for(kind).caps:
        ordered = sorted(sent)
        for first, last in zip(ordered, ordered[cap.max_contacts :], strict=False):
            assert last - first >= cap.within, (cap, first, last)


def test_holidays_of_the_debtor_calendar_are_the_library_s() -> None:
    """The module reads holidays through legal/working_days.py (the `holidays` library)."""
    assert ALSACE_MOSELLE.holiday_name(date(2025, 12, 26)) is not None
    assert METROPOLITAN.holiday_name(date(2025, 12, 26)) is None
