"""Child processes of `recouvre run`: the workers and the projector, each its own process,
restarted when one dies, stopped together on Ctrl-C.

The API never runs workflow code: it serves in the runner's process while workflows and
activities run in the worker processes, so a busy worker cannot slow a read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from pydantic_settings import BaseSettings

log = logging.getLogger("recouvre.supervisor")

STOP_GRACE_S = 15.0
"""How long a child may take to stop after SIGINT before it is killed."""
MAX_BACKOFF_S = 30.0


def recouvre_command(*args: str) -> list[str]:
    """The `recouvre` command line for this interpreter (the venv's console script)."""
    return [sys.executable, "-c", "from services.cli.main import main; main()", *args]


@dataclass
class Child:
    """One supervised process: started again, with backoff, whenever it exits by itself."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    _stopping: bool = field(default=False, repr=False)

    async def supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=dict(self.env),
                start_new_session=True,  # Ctrl-C reaches the runner, which stops us in order
            )
            log.info("%s started (pid %s)", self.name, self.process.pid)
            code = await self.process.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.warning("%s exited with %s; restarting in %.0f s", self.name, code, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("%s did not stop in %.0f s; killing it", self.name, STOP_GRACE_S)
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def supervised(children: list[Child]) -> AsyncIterator[list[Child]]:
    """Run ``children`` until the block exits, then stop them all (SIGINT, then kill)."""
    tasks = [asyncio.create_task(child.supervise(), name=child.name) for child in children]
    try:
        yield children
    finally:
        await asyncio.gather(*(child.stop() for child in children))
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def settings_env(settings: BaseSettings) -> dict[str, str]:
    """The environment variables that give a child process the same ``settings``."""
    env: dict[str, str] = {}
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if info.alias is None or value is None:
            continue
        env[info.alias] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return env


def default_worker_count() -> int:
    """One worker process per core beyond the API's, at least one, at most eight."""
    return max(1, min(8, (os.cpu_count() or 2) - 1))
