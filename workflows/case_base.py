"""The state a case's workflow keeps, shared by its loop, handlers and step executors."""

from __future__ import annotations

from collections.abc import Callable

from activities.conversation_requests import ContactOutcome
from legal import DebtorCalendar
from schemas.case import CaseStart, CaseView
from schemas.case_events import CaseEventEnvelope
from schemas.policy import Policy


class CaseWorkflowBase:
    """One record, ``_case``, holds everything continue-as-new must carry; the rest is
    rebuilt from the start input (``_start``, whose policy follows migrations)."""

    _start: CaseStart
    _policy: Policy
    _case: CaseView
    _changed: bool
    _timed_law: bool
    _store_events: bool
    _publish_views: bool
    _published: str | None
    _published_to: int | None
    """The journal position the read model holds (None: not known in this run)."""
    _cal: DebtorCalendar | None
    _early_letter_events: list[CaseEventEnvelope]
    """The provider's reports on a letter that came before the case recorded it (the post
    answered while its activity was completing): applied once the notice is recorded."""
    _apply_early_letter_events: Callable[[], None]
    """workflows/case_messages.py: apply the kept early reports, once the notice is recorded."""
    _contact_outcomes: dict[str, ContactOutcome]
    """What the debtor's conversation answered, by step (this run only: a step awaits its
    answer before the case moves on)."""
