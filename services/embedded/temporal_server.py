"""The Temporal dev server as a child process, persisting to a SQLite file under var/."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.toolchain import temporal_cli


async def _port_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def start_temporal_dev_server(
    db_file: Path, host: str, port: int, ui_port: int, log_file: Path
) -> asyncio.subprocess.Process:
    """Start `temporal server start-dev` and wait until its frontend port answers."""
    if await _port_open(host, port):
        raise RuntimeError(f"port {port} is already in use: is another Temporal server running?")
    db_file.parent.mkdir(parents=True, exist_ok=True)
    log = log_file.open("ab")
    process = await asyncio.create_subprocess_exec(
        str(temporal_cli()),
        "server",
        "start-dev",
        "--db-filename", str(db_file),
        "--ip", host,
        "--port", str(port),
        "--ui-port", str(ui_port),
        "--log-level", "warn",
        "--sqlite-pragma", "journal_mode=WAL",
        "--sqlite-pragma", "synchronous=NORMAL",
        stdout=log,
        stderr=log,
    )  # fmt: skip
    for _ in range(300):
        if process.returncode is not None:
            raise RuntimeError(f"Temporal dev server exited; see {log_file}")
        if await _port_open(host, port):
            return process
        await asyncio.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"Temporal dev server did not open port {port} in 30 s; see {log_file}")


async def stop_process(process: asyncio.subprocess.Process, grace_s: float = 10.0) -> None:
    """Terminate a child politely, then kill it."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        process.kill()
        await process.wait()
