"""When one more contact with a debtor is allowed: caps and hours (schemas/contact_policy.py).

Pure and deterministic (no clock, no I/O once the time zone is loaded), so the debtor
workflow may call it: "now" and the contact history are parameters, instants are
timezone-aware and results are in UTC.

The history is the debtor's past contacts on counted channels (``ContactPolicy.counts``),
all its invoices together: one instant per message (a letter and its email sent for one
step are one contact; a phone call counts when it was made or attempted). A message on an
exempt channel (``ContactPolicy.is_exempt``: the formal notice's registered letter) does not
ask this module: it goes out when its timeline says, and then enters the history.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from legal.working_days import METROPOLITAN, DebtorCalendar
from schemas.contact_policy import ContactCap, ContactHours, ContactPolicy, KindRules

OVERSEAS_ZONES: dict[str, str] = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "976": "Indian/Mayotte",
    "BL": "America/St_Barthelemy",
    "MF": "America/Marigot",
    "PM": "America/Miquelon",
}
"""Time zones of the overseas calendars of legal/working_days.py; the others (metropolitan,
Alsace-Moselle) use the policy's zone."""

_SEARCH_DAYS = 400
"""How far ahead to look for an allowed hour: a policy always has an allowed weekday, and
no calendar has a year of public holidays, so a slot exists well within this."""


class ContactSlot(BaseModel):
    """The earliest allowed contact and why it is not earlier, for the operator screen."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    """UTC; equal to ``now`` when a contact is allowed right away."""
    reason: Literal["allowed_now", "cap", "hours", "cap_then_hours"]
    cap: ContactCap | None = None
    """The cap that held the contact back, if one did."""
    policy_id: str
    policy_version: int
    reason_fr: str
    reason_en: str


def timezone_for(calendar: DebtorCalendar, policy: ContactPolicy) -> ZoneInfo:
    """The debtor's time zone: its overseas calendar's, else the policy's."""
    zone = OVERSEAS_ZONES.get(calendar.subdivision or "", policy.timezone)
    return ZoneInfo(zone)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _cap_allows(history: list[datetime], at: datetime, cap: ContactCap) -> bool:
    """Adding ``at`` to the sorted ``history`` keeps every n + 1 consecutive contacts
    around it at least ``cap.within`` apart (at most n in any window)."""
    index = bisect_right(history, at)
    timeline = [*history[:index], at, *history[index:]]
    n = cap.max_contacts
    for first in range(max(0, index - n), index + 1):
        last = first + n
        if last < len(timeline) and timeline[last] - timeline[first] < cap.within:
            return False
    return True


def _blocking_cap(rules: KindRules, history: list[datetime], at: datetime) -> ContactCap | None:
    return next((cap for cap in rules.caps if not _cap_allows(history, at, cap)), None)


def _is_open(hours: ContactHours | None, at: datetime, zone: ZoneInfo, cal: DebtorCalendar) -> bool:
    if hours is None:
        return True
    local = at.astimezone(zone)
    day = local.date()
    if day.isoweekday() not in hours.days:
        return False
    if hours.skip_public_holidays and cal.holiday_name(day) is not None:
        return False
    moment = local.time().replace(tzinfo=None)
    return any(w.start <= moment < w.end for w in hours.windows)


def _next_open(
    hours: ContactHours | None, at: datetime, zone: ZoneInfo, cal: DebtorCalendar
) -> datetime:
    """The earliest instant >= ``at`` inside the allowed days and hours."""
    if hours is None:
        return at
    first_day = at.astimezone(zone).date()
    for offset in range(_SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        if day.isoweekday() not in hours.days:
            continue
        if hours.skip_public_holidays and cal.holiday_name(day) is not None:
            continue
        for window in hours.windows:
            start = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)
            if at < end:
                return max(at, start)
    raise ValueError(f"no allowed contact hour within {_SEARCH_DAYS} days of {at.isoformat()}")


def _prepare(
    history: Sequence[datetime], now: datetime, kind: str, policy: ContactPolicy
) -> tuple[list[datetime], datetime, KindRules]:
    rules = policy.rules_for(kind)
    past = sorted(_aware(h, "history") for h in history)
    return past, _aware(now, "now"), rules


def contact_allowed_at(
    history: Sequence[datetime],
    at: datetime,
    kind: str,
    policy: ContactPolicy,
    *,
    calendar: DebtorCalendar = METROPOLITAN,
) -> bool:
    """True when one more contact at ``at`` respects every cap and the allowed hours."""
    past, moment, rules = _prepare(history, at, kind, policy)
    zone = timezone_for(calendar, policy)
    return _blocking_cap(rules, past, moment) is None and _is_open(
        rules.hours, moment, zone, calendar
    )


def next_allowed_contact(
    history: Sequence[datetime],
    now: datetime,
    kind: str,
    policy: ContactPolicy,
    *,
    calendar: DebtorCalendar = METROPOLITAN,
) -> datetime:
    """The earliest instant >= ``now`` (UTC) at which one more contact with a debtor of
    ``kind`` respects every cap of ``policy`` and its allowed days and hours, in the time
    zone and public holidays of the debtor's ``calendar`` (legal/working_days.py).

    ``history``: the debtor's past contacts on counted channels, any order, aware. Calling
    it again with its own answer as ``now`` returns the same instant.
    """
    past, start, rules = _prepare(history, now, kind, policy)
    zone = timezone_for(calendar, policy)
    # The allowed set is a union of intervals closed on the left; each left end is ``now``,
    # a past contact plus a cap's window (where that cap lets go) or the opening of an
    # allowed hour. So the answer is the first such release, moved into the hours, that
    # every cap accepts; past the last release no cap binds.
    releases = {start} | {h + cap.within for h in past for cap in rules.caps}
    for release in sorted(r for r in releases if r >= start):
        candidate = _next_open(rules.hours, release, zone, calendar)
        if _blocking_cap(rules, past, candidate) is None:
            return candidate
    raise AssertionError("unreachable: beyond every release no cap binds")  # pragma: no cover


def _fr_instant(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%d/%m/%Y} à {local:%H:%M} ({zone.key})"


def _en_instant(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d} at {local:%H:%M} ({zone.key})"


def _cap_text(cap: ContactCap) -> tuple[str, str]:
    span = cap.within
    if span % timedelta(days=1) == timedelta(0):
        days = span.days
        fr_span = f"{days} jour{'s' if days > 1 else ''}"
        en_span = f"{days} day{'s' if days > 1 else ''}"
    else:
        seconds = int(span.total_seconds())
        fr_span = f"{seconds} s"
        en_span = f"{seconds} s"
    n = cap.max_contacts
    fr = f"au plus {n} contact{'s' if n > 1 else ''} par {fr_span}"
    en = f"at most {n} contact{'s' if n > 1 else ''} per {en_span}"
    return fr, en


def explain_next_contact(
    history: Sequence[datetime],
    now: datetime,
    kind: str,
    policy: ContactPolicy,
    *,
    calendar: DebtorCalendar = METROPOLITAN,
) -> ContactSlot:
    """``next_allowed_contact`` with the reason, in French and English, for operators."""
    past, start, rules = _prepare(history, now, kind, policy)
    zone = timezone_for(calendar, policy)
    at = next_allowed_contact(past, start, kind, policy, calendar=calendar)
    cap = _blocking_cap(rules, past, start)
    where = f"{policy.id} v{policy.version}"
    when_fr, when_en = _fr_instant(at, zone), _en_instant(at, zone)
    if at == start:
        return ContactSlot(
            at=at,
            reason="allowed_now",
            policy_id=policy.id,
            policy_version=policy.version,
            reason_fr=f"Contact possible maintenant ({where}).",
            reason_en=f"Contact allowed now ({where}).",
        )
    if cap is None:
        return ContactSlot(
            at=at,
            reason="hours",
            policy_id=policy.id,
            policy_version=policy.version,
            reason_fr=f"Hors des jours et heures de contact ; prochain créneau le {when_fr} "
            f"({where}).",
            reason_en=f"Outside the contact days and hours; next slot on {when_en} ({where}).",
        )
    cap_fr, cap_en = _cap_text(cap)
    released = next(
        r
        for r in sorted({h + c.within for h in past for c in rules.caps} | {start})
        if r >= start and _blocking_cap(rules, past, r) is None
    )
    moved = at != released
    return ContactSlot(
        at=at,
        reason="cap_then_hours" if moved else "cap",
        cap=cap,
        policy_id=policy.id,
        policy_version=policy.version,
        reason_fr=f"Plafond atteint ({cap_fr})"
        + (f", levé le {_fr_instant(released, zone)} hors des heures de contact" if moved else "")
        + f" ; prochain contact le {when_fr} ({where}).",
        reason_en=f"Cap reached ({cap_en})"
        + (f", lifted on {_en_instant(released, zone)} outside contact hours" if moved else "")
        + f"; next contact on {when_en} ({where}).",
    )


def group_until(first_request_at: datetime, policy: ContactPolicy) -> datetime:
    """When a debtor's batch of reminders closes: its first request plus the grouping
    window (the debtor workflow also flushes earlier for a request's latest legal day)."""
    return _aware(first_request_at, "first_request_at") + policy.grouping_window
