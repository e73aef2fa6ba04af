"""The debtor's working-day calendar (CPC 642; C. trav. L3133-1 public holidays).

The debtor's department decides which calendar applies: metropolitan France,
Alsace-Moselle (57, 67, 68: adds 26 December and Good Friday, applied to the
whole department as the ``holidays`` library does) or an overseas department
with its own days (abolition of slavery, and what the library adds locally).
"""

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from holidays.countries.france import France
from pydantic import BaseModel, ConfigDict

from legal.errors import UnsupportedPostalCode

# Postal-code prefix -> (holidays subdivision code, label). Longest prefix wins.
_SUBDIVISIONS: dict[str, tuple[str, str]] = {
    "57": ("57", "Moselle (Alsace-Moselle)"),
    "67": ("6AE", "Bas-Rhin (Alsace-Moselle)"),
    "68": ("6AE", "Haut-Rhin (Alsace-Moselle)"),
    "971": ("971", "Guadeloupe"),
    "97133": ("BL", "Saint-Barthélemy"),
    "97150": ("MF", "Saint-Martin"),
    "972": ("972", "Martinique"),
    "973": ("973", "Guyane"),
    "974": ("974", "La Réunion"),
    "975": ("PM", "Saint-Pierre-et-Miquelon"),
    "976": ("976", "Mayotte"),
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=1024)
def _holiday_names(subdivision: str | None, year: int) -> Mapping[date, str]:
    """Public holidays of one subdivision and year, French names, read-only.

    Cached per (subdivision, year); ``lru_cache`` is thread-safe and the value
    is immutable, so sharing it between threads and workflows is safe.
    """
    # France.__init__ is declared (*args, **kwargs) without annotations upstream.
    table = France(subdiv=subdivision, years=year, language="fr")  # type: ignore[no-untyped-call]
    return MappingProxyType({day: str(name) for day, name in table.items()})


class DebtorCalendar(BaseModel):
    """Working days for one debtor: Saturdays, Sundays and the public holidays
    of the debtor's subdivision are not working days."""

    model_config = ConfigDict(frozen=True)

    subdivision: str | None = None
    label: str = "France métropolitaine"

    def holiday_name(self, day: date) -> str | None:
        """French name of the public holiday falling on ``day``, or None."""
        return _holiday_names(self.subdivision, day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        """True from Monday to Friday unless ``day`` is a public holiday."""
        return day.weekday() < 5 and self.holiday_name(day) is None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.first_working_day_from(day + timedelta(days=1))

    def first_working_day_from(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def describe(self, day: date) -> str:
        """Why ``day`` is (not) worked, e.g. "a public holiday (Toussaint)"."""
        parts = []
        if day.weekday() >= 5:
            parts.append(f"a {_WEEKDAYS[day.weekday()]}")
        name = self.holiday_name(day)
        if name is not None:
            parts.append(f"a public holiday ({name})")
        return " and ".join(parts) if parts else "a working day"


METROPOLITAN = DebtorCalendar()


def calendar_for_subdivision(subdivision: str | None) -> DebtorCalendar:
    """Calendar for a ``holidays`` France subdivision code (None = metropolitan)."""
    if subdivision is None:
        return METROPOLITAN
    for code, label in _SUBDIVISIONS.values():
        if code == subdivision:
            return DebtorCalendar(subdivision=code, label=label)
    raise UnsupportedPostalCode(f"unknown French subdivision {subdivision!r}")


def calendar_for_postal_code(postal_code: str) -> DebtorCalendar:
    """Calendar of the debtor's department, from a 5-digit French postal code.

    Metropolitan France (incl. Corsica, 20xxx) uses the national holidays;
    57/67/68 Alsace-Moselle; 971-976 the overseas calendars. Monaco and the
    Pacific collectivities (98xxx) have other procedural rules: rejected.
    """
    code = postal_code.replace(" ", "")
    if len(code) != 5 or not code.isascii() or not code.isdigit():
        raise UnsupportedPostalCode(f"postal code must have 5 digits: {postal_code!r}")
    for length in (5, 3, 2):
        found = _SUBDIVISIONS.get(code[:length])
        if found is not None:
            return DebtorCalendar(subdivision=found[0], label=found[1])
    if "01" <= code[:2] <= "95":
        return METROPOLITAN
    raise UnsupportedPostalCode(f"postal code {postal_code!r} has no supported calendar")
