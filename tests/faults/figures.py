"""What a fault test counts after the fault: cases, actions, duplicates, lost facts.

Every count comes from outside the workflow: the Maildir the real SMTP server wrote, the
`deliveries` and `channel_outbox` ledgers, and the event store (its stream version and
hash chain) against the facts the case's journal holds.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from schemas.case import CaseView
from services.embedded.mailbox_server import read_mailbox
from storage.tables import channel_outbox, deliveries

REPORTED: list[str] = []
"""The lines printed so far, repeated in the terminal summary (tests/faults/conftest.py)."""


@dataclass
class CaseCount:
    case_id: str
    actions_sent: int
    mails_by_step: Counter[str]
    message_ids: Counter[str]
    ledger: dict[str, str]
    outbox_steps: Counter[str]
    facts_journaled: int
    facts_stored: int
    chain_ok: bool
    store_failures: int

    @property
    def duplicate_mails(self) -> int:
        return sum(n - 1 for n in self.mails_by_step.values() if n > 1)

    @property
    def duplicate_outbox(self) -> int:
        return sum(n - 1 for n in self.outbox_steps.values() if n > 1)

    @property
    def lost_facts(self) -> int:
        return abs(self.facts_journaled - self.facts_stored) + self.store_failures

    @property
    def unsent_mails(self) -> int:
        """Ledger rows marked sent whose message the SMTP server never received."""
        return sum(
            1 for step, status in self.ledger.items() if status != "pending"
            and self.mails_by_step[step] == 0
        )  # fmt: skip


@dataclass
class Figures:
    cases: list[CaseCount] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return sum(c.actions_sent for c in self.cases)

    @property
    def mails(self) -> int:
        return sum(sum(c.mails_by_step.values()) for c in self.cases)

    @property
    def duplicates(self) -> int:
        return sum(c.duplicate_mails + c.duplicate_outbox for c in self.cases)

    @property
    def lost_facts(self) -> int:
        return sum(c.lost_facts for c in self.cases)

    @property
    def facts(self) -> int:
        return sum(c.facts_stored for c in self.cases)

    @property
    def lost_actions(self) -> int:
        return sum(c.unsent_mails for c in self.cases)

    @property
    def broken_chains(self) -> int:
        return sum(1 for c in self.cases if not c.chain_ok)


def facts_journaled(case: CaseView) -> int:
    """Facts the case recorded, including those continue-as-new left behind."""
    return case.facts_trimmed + sum(1 for entry in case.journal if entry.fact is not None)


def settled(case: CaseView) -> bool:
    """Every journal entry has been considered for the event store."""
    return case.journal_flushed >= case.journal_base + len(case.journal)


async def count_case(engine: AsyncEngine, maildir: Path, case: CaseView) -> CaseCount:
    mails = [m for m in read_mailbox(maildir) if m["X-Recouvre-Case"] == case.case_id]
    store = EventStore(engine)
    async with engine.connect() as conn:
        ledger = {
            row.step: row.status
            for row in await conn.execute(
                select(deliveries.c.step, deliveries.c.status).where(
                    deliveries.c.case_id == case.case_id
                )
            )
        }
        outbox = Counter(
            row.step
            for row in await conn.execute(
                select(channel_outbox.c.step).where(channel_outbox.c.case_id == case.case_id)
            )
        )
    return CaseCount(
        case_id=case.case_id,
        actions_sent=sum(1 for a in case.actions if a.status == "sent"),
        mails_by_step=Counter(str(m["X-Recouvre-Step"]) for m in mails),
        message_ids=Counter(str(m["Message-ID"]) for m in mails),
        ledger=ledger,
        outbox_steps=outbox,
        facts_journaled=facts_journaled(case),
        facts_stored=await store.stream_version(case.case_id),
        chain_ok=(await store.verify_stream(case.case_id)).ok,
        store_failures=sum(1 for e in case.journal if e.type == "EventStoreFailed"),
    )


async def count_cases(engine: AsyncEngine, maildir: Path, cases: list[CaseView]) -> Figures:
    return Figures([await count_case(engine, maildir, case) for case in cases])


def report(test: str, **figures: object) -> str:
    """Print one line of figures (visible with -s) and keep it for the terminal summary."""
    line = f"[fault] {test}: " + " ".join(f"{k}={v}" for k, v in figures.items())
    print(line, file=sys.stderr, flush=True)
    REPORTED.append(line)
    return line
