"""The fallback for lost notifications: every REGISTERED_MAIL_POLL_S the API reads back
each letter not yet at a final status from its provider (``sync_open_letters``), and tells
the cases what changed exactly as a notification would (new statuses, new proofs, a letter
the provider will not deliver). Several API processes may poll at once: each letter is
read under a row lock, and what is already recorded is never signalled twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from activities.registered_mail.provider import RegisteredMailProvider
from activities.registered_mail.tracking import SyncResult, sync_open_letters
from inbound.registered_mail_notifications import SignalFailed, temporal_report, temporal_signal
from services.api.deps import Runtime

log = logging.getLogger("recouvre.registered_mail.polling")


async def poll_letters(
    runtime: Runtime, providers: Sequence[RegisteredMailProvider], limit: int = 100
) -> list[SyncResult]:
    """One pass over every provider's open letters (the oldest updated first)."""
    results: list[SyncResult] = []
    for provider in providers:
        results += await sync_open_letters(
            runtime.engine,
            provider,
            temporal_signal(runtime),
            limit=limit,
            report=temporal_report(runtime, provider.name),
        )
    return results


async def keep_polling(
    runtime: Runtime, providers: Sequence[RegisteredMailProvider], every_s: float
) -> None:
    """Poll until cancelled; a pass that fails (Temporal or the database down) is logged
    and the next one tries again."""
    while True:
        await asyncio.sleep(every_s)
        try:
            results = await poll_letters(runtime, providers)
        except (SignalFailed, OSError) as err:
            log.warning("registered letters not polled this time: %s", err)
            continue
        except Exception:  # never let the loop die: the next pass may succeed
            log.exception("registered letters not polled this time")
            continue
        changed = sum(1 for r in results if r.signalled or r.proofs or r.new_anomaly)
        if changed:
            log.info("registered letters polled: %d changed", changed)
