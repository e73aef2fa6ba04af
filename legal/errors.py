"""Errors raised by the legal package.

Every error is a ``ValueError`` so callers (API, CLI, workflows) can map all of
them to a client error with one ``except`` clause.
"""


class LegalError(ValueError):
    """Base class: the input cannot be handled by the legal rules as configured."""


class RateNotConfigured(LegalError):
    """A half-year rate is missing from the rate table (never a silent zero)."""


class RateTableInvalid(LegalError):
    """The rate table file could not be read or failed validation."""


class UnsupportedPostalCode(LegalError):
    """The postal code is malformed or outside the calendars this service knows."""
