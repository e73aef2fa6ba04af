"""The API's daily sweep: debtors whose retention has ended are erased
(projections/retention.py), as if an operator had asked with basis ``retention_ended``."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from projections.retention import erase_expired_debtors
from services.api.deps import Runtime

log = logging.getLogger("recouvre.retention")


async def keep_sweeping(runtime: Runtime, every_s: float) -> None:
    """Sweep every ``every_s`` (the first one after that long) until cancelled; a failed
    sweep is logged and the next one tries again (erasure is idempotent)."""
    margin = timedelta(days=runtime.settings.retention_margin_days)
    while True:
        await asyncio.sleep(every_s)
        try:
            erased = await erase_expired_debtors(
                runtime.engine, runtime.debtors, margin, datetime.now(UTC).date()
            )
            if erased:
                log.info("retention ended: %d debtor(s) erased", len(erased))
        except OSError as err:
            log.warning("retention sweep failed (database unreachable): %s", err)
        except Exception:  # the next sweep may succeed
            log.exception("retention sweep failed")
