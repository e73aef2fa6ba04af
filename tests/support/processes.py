"""Real server processes a fault test can kill, stop and start again on the same data.

The Temporal dev server persists to a SQLite file, PostgreSQL (pgserver) to its data
folder; both come back on the same address, so clients that were talking to them never
learn a new one. The worker process is the real `recouvre worker` command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from services.embedded.postgres import start_embedded_postgres
from services.embedded.temporal_server import start_temporal_dev_server, stop_process
from tests.support.serving import free_port
from tests.support.smtp import Smtp

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within_s: float = 30.0
) -> T:
    """Call ``probe`` until ``ok`` holds for its value (or fail with the last value)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        value = await probe()
        if ok(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {within_s} s: {value!r}")
        await asyncio.sleep(0.1)


class TemporalDevServer:
    """`temporal server start-dev` on a SQLite file and a fixed port, as `recouvre run` does."""

    def __init__(self, folder: Path) -> None:
        self.db_file = folder / "temporal.db"
        self.log_file = folder / "temporal.log"
        self.port = free_port()
        self.ui_port = free_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._process = await start_temporal_dev_server(
            self.db_file, "127.0.0.1", self.port, self.ui_port, self.log_file
        )

    async def kill(self) -> int:
        """SIGKILL: no shutdown, no flush; returns the exit status (-9)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        status = await self._process.wait()
        # The port is free once the process is gone; wait for the kernel to agree.
        for _ in range(100):
            if not await _port_open("127.0.0.1", self.port):
                break
            await asyncio.sleep(0.05)
        return status

    async def stop(self) -> None:
        if self._process is not None:
            await stop_process(self._process)


async def _port_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    return True


class EmbeddedPostgres:
    """recouvre's embedded PostgreSQL (pgserver), stoppable and restartable on its data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url, self._handle = start_embedded_postgres(data_dir, keep=True)

    async def stop(self) -> None:
        """`pg_ctl stop` (fast mode: sessions are cut, the data is consistent)."""
        await asyncio.to_thread(self._handle.cleanup)

    async def start(self) -> None:
        url, self._handle = await asyncio.to_thread(start_embedded_postgres, self.data_dir)
        assert url == self.url, f"PostgreSQL came back elsewhere: {url} != {self.url}"

    def close(self) -> None:
        self._handle.cleanup()


def start_worker_process(
    database_url: str, temporal_target: str, smtp: Smtp, queue: str, **env: str
) -> subprocess.Popen[bytes]:
    """The real `recouvre worker` as a child process (no projector), on ``queue``."""
    command = Path(sys.executable).with_name("recouvre")
    variables: dict[str, Any] = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_target,
        "TEMPORAL_TASK_QUEUE": queue,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "RECOUVRE_RUN_PROJECTOR": "false",
        **env,
    }
    return subprocess.Popen(
        [str(command), "worker"], env=variables, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
