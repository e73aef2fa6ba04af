"""How often, and when, one debtor may be contacted: versioned data, like a collection policy.

The domain reference (french-collection-law.md, default-policies.md) states no cap on how
often a debtor may be reminded and no contact hours: reminders are practice, not law (s.3).
So, as that page asks for whatever it leaves open, the rule is data, and the defaults below
are choices, each with its reason:

- Caps apply per debtor (all its invoices together), over sliding windows: "at most n
  contacts within W" means any n + 1 contacts span at least W.
- Consumers: at most 1 contact in 5 days and 4 in 30 days. Four in thirty calendar days is
  the only figure French law sets for soliciting a consumer (C. consom. D223-9, decree
  2022-1313, for telephone prospecting: it does not govern collection, it is the analogy),
  and it is what the shipped fr-b2c-standard timeline sends for one invoice (reminders at
  +10, +25, the call at +30, the letter at +35): a cap of three would silently move the
  shipped timeline. Five days between two contacts is as close as that timeline ever
  brings two of them.
- Businesses and public buyers: at most 1 contact in 2 days (the shipped policies'
  ``min_gap`` between two actions of one case: a debtor with many invoices is not
  contacted more often than one invoice would be) and 6 in 30 days (the shipped B2B
  timeline sends 4 in its busiest 30 days, plus room for a statement of account).
- Hours, in the debtor's time zone: consumers Monday to Saturday 8:00-20:00, businesses and
  public buyers Monday to Friday 9:00-18:00 (office hours); never on a public holiday of the
  debtor's calendar (C. trav. L3133-1 via the ``holidays`` library, the same calendar as
  the procedural deadlines, legal/working_days.py). D223-9's stricter pattern for
  telephone prospecting (Mon-Fri, 10-13 and 14-20) can be configured as two windows.
- What counts: every message that reaches the debtor: email, simple letter, a letter and its
  email sent together for one step (one contact), the operator's phone call (attempts
  included, as D223-9 counts them), and the registered letter. Hand-offs to a partner, court
  files and claim declarations are not contacts with the debtor.
- Exempt: the registered letter (LRAR) carrying the formal notice is counted (it pushes the
  next reminder back) but never delayed by a cap or by the hours. It is the legal act of
  C. civ. 1344 that starts a consumer's interest (1231-6, 1344-1) and the deadline before
  escalation; the policy dates it (due date + 45 days); delaying it for courtesy harms the
  creditor and protects no one; and La Poste presents it at its own hours, whatever the
  moment it was posted.
- Grouping window: 10 minutes in production. The shipped timelines date every step at the
  policy's send hour, so the reminders of a debtor's invoices due the same day come due
  together: ten minutes gathers them without moving the legal timeline by a day (a longer
  window delays every reminder by that much). The demo variant counts seconds.
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.invoice import DebtorKind
from schemas.policy import Channel

ISO_WEEKDAYS = range(1, 8)
"""1 = Monday ... 7 = Sunday (``date.isoweekday``)."""


class ContactCap(BaseModel):
    """At most ``max_contacts`` contacts within any period of ``within``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_contacts: int = Field(ge=1, le=1000)
    within: timedelta

    @field_validator("within")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("a cap's window must be longer than zero")
        return value


class TimeWindow(BaseModel):
    """Local times of day ``[start, end)`` at which a contact may go out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("contact hours are local times, without a time zone")
        if self.start >= self.end:
            raise ValueError(f"contact hours must start before they end: {self.start}-{self.end}")
        return self


class ContactHours(BaseModel):
    """The days and local hours at which a debtor of one kind may be contacted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: frozenset[int] = Field(min_length=1, description="ISO weekdays: 1 = Monday")
    windows: tuple[TimeWindow, ...] = Field(min_length=1)
    skip_public_holidays: bool = True

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: frozenset[int]) -> frozenset[int]:
        if not value <= set(ISO_WEEKDAYS):
            raise ValueError(f"days are ISO weekdays 1 (Monday) to 7 (Sunday): {sorted(value)}")
        return value

    @field_validator("windows")
    @classmethod
    def _disjoint(cls, value: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        ordered = tuple(sorted(value, key=lambda w: w.start))
        for before, after in pairwise(ordered):
            if after.start < before.end:
                raise ValueError("contact hour windows must not overlap")
        return ordered


class KindRules(BaseModel):
    """Caps and hours for one kind of debtor; ``hours=None`` means at any time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caps: tuple[ContactCap, ...] = ()
    hours: ContactHours | None = None


class ContactPolicy(BaseModel):
    """Versioned contact rules; a debtor's schedule records the (id, version) it applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    title: str = ""
    timezone: str = Field(
        default="Europe/Paris",
        description="Metropolitan debtors' time zone; overseas calendars use their own",
    )
    rules: dict[DebtorKind, KindRules] = Field(description="One entry for every debtor kind")
    grouping_window: timedelta = Field(
        description="How long a debtor's first pending reminder waits for others to join it"
    )
    counted_channels: frozenset[Channel] = frozenset(
        {
            Channel.email,
            Channel.letter,
            Channel.letter_and_email,
            Channel.phone_task,
            Channel.registered_letter,
        }
    )
    """Channels whose messages reach the debtor: they count towards the caps."""
    exempt_channels: frozenset[Channel] = frozenset({Channel.registered_letter})
    """Counted, but never delayed by a cap or the hours (the formal notice's LRAR)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("grouping_window")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the grouping window cannot be negative")
        return value

    @model_validator(mode="after")
    def _every_kind(self) -> ContactPolicy:
        missing = [kind.value for kind in DebtorKind if kind not in self.rules]
        if missing:
            raise ValueError(f"contact policy {self.id}: no rules for {', '.join(missing)}")
        return self

    def rules_for(self, kind: str) -> KindRules:
        """The rules for ``kind`` ("business", "consumer", "public"); unknown raises."""
        try:
            return self.rules[DebtorKind(kind)]
        except ValueError:
            choices = ", ".join(k.value for k in DebtorKind)
            raise ValueError(f"unknown debtor kind {kind!r} (expected {choices})") from None

    def counts(self, channel: Channel) -> bool:
        """A message on ``channel`` is a contact with the debtor (it enters the history)."""
        return channel in self.counted_channels

    def is_exempt(self, channel: Channel) -> bool:
        """A message on ``channel`` goes out when its timeline says, caps and hours aside."""
        return channel in self.exempt_channels


_DAYS_MON_SAT = frozenset(range(1, 7))
_DAYS_MON_FRI = frozenset(range(1, 6))


@cache
def default_contact_policy() -> ContactPolicy:
    """fr-contact-standard v1: the production defaults (see the module docstring)."""
    office = KindRules(
        caps=(
            ContactCap(max_contacts=1, within=timedelta(days=2)),
            ContactCap(max_contacts=6, within=timedelta(days=30)),
        ),
        hours=ContactHours(days=_DAYS_MON_FRI, windows=(TimeWindow(start=time(9), end=time(18)),)),
    )
    consumer = KindRules(
        caps=(
            ContactCap(max_contacts=1, within=timedelta(days=5)),
            ContactCap(max_contacts=4, within=timedelta(days=30)),
        ),
        hours=ContactHours(days=_DAYS_MON_SAT, windows=(TimeWindow(start=time(8), end=time(20)),)),
    )
    return ContactPolicy(
        id="fr-contact-standard",
        version=1,
        title="Contact caps and hours per debtor (French practice)",
        rules={
            DebtorKind.business: office,
            DebtorKind.public: office,
            DebtorKind.consumer: consumer,
        },
        grouping_window=timedelta(minutes=10),
    )


@cache
def demo_contact_policy() -> ContactPolicy:
    """demo-contact v1: seconds instead of days and no quiet hours, so the demo policy
    (a step every 5 seconds) and tests run through in real time, at any hour."""
    quick = KindRules(
        caps=(
            ContactCap(max_contacts=1, within=timedelta(seconds=2)),
            ContactCap(max_contacts=10, within=timedelta(seconds=30)),
        ),
    )
    return ContactPolicy(
        id="demo-contact",
        version=1,
        title="Demo: caps in seconds, any hour",
        rules={kind: quick for kind in DebtorKind},
        grouping_window=timedelta(seconds=2),
    )


def contact_policy_for(policy_id: str) -> ContactPolicy:
    """The contact policy a collection policy names (``Policy.contact_policy``)."""
    known = {p.id: p for p in (default_contact_policy(), demo_contact_policy())}
    if policy_id not in known:
        raise LookupError(f"no contact policy {policy_id!r} (known: {', '.join(sorted(known))})")
    return known[policy_id]
