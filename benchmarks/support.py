"""Shared harness of the benchmarks that run recouvre's real stack on loopback.

`Stack` starts what `recouvre run` starts, each on a free 127.0.0.1 port in a temporary
folder, and shaped the same way: an embedded PostgreSQL (pgserver), the Temporal dev
server on a SQLite file (services/embedded/temporal_server.py, as `make run`), the
Maildir SMTP server, then recouvre's own processes apart: `recouvre worker` (one per core
beyond the API's, as services/supervisor.py counts them), `recouvre projector` and
`recouvre api`. The benchmark process itself only drives load (a Temporal client, an HTTP
client) and measures. Everything stops, and the folder is deleted, when the block exits.

`Goals` prints each figure beside its baseline as a ratio, then PASS/MISS per goal; a
benchmark reports, it does not fail: `leave(0)` either way. Not part of the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from temporalio import workflow
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.embedded.postgres import start_embedded_postgres
from services.embedded.temporal_server import start_temporal_dev_server, stop_process
from services.supervisor import default_worker_count, recouvre_command
from storage.engine import make_engine
from storage.migrate import upgrade_to_head

TENANT = "bench"
KEYS = {
    "erp": "bench-erp-key-0123456789",
    "operator": "bench-operator-key-0123456789",
}
KEY_SPEC = f"{KEYS['erp']}=erp:{TENANT},{KEYS['operator']}=operator:{TENANT}"
STOP_GRACE_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): p99 of 200 samples is the 198th smallest."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def leave(code: int = 0) -> None:
    """Exit at once once everything is closed: the Temporal SDK's native threads can crash
    a plain interpreter exit (docs/operations.md)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@workflow.defn(name="BenchEmpty")
class EmptyWorkflow:
    """The least a workflow can be: the SDK's own cost of a sandboxed run or replay. (Here,
    not in a script: the sandbox cannot pass ``__main__`` through.)"""

    @workflow.run
    async def run(self, wakes: int = 0) -> None:
        """Sleep ``wakes`` times (one workflow task each), doing nothing else."""
        for _ in range(wakes):
            await workflow.sleep(timedelta(days=1))


# ---- goals ---------------------------------------------------------------------------


@dataclass
class Goal:
    name: str
    passed: bool
    detail: str


@dataclass
class Goals:
    """Figures as they are measured, and the PASS/MISS summary at the end."""

    results: list[Goal] = field(default_factory=list)

    def ratio(
        self,
        name: str,
        value: float,
        unit: str,
        baseline_label: str,
        baseline: float,
        at_least: float,
        note: str = "",
    ) -> float:
        """``name: value unit vs baseline_label baseline unit = r x (goal >= at_least)``."""
        ratio = value / baseline if baseline else math.nan
        passed = ratio >= at_least
        tail = f"; {note}" if note else ""
        print(
            f"{name}: {value:.1f} {unit} vs {baseline_label} {baseline:.1f} {unit}"
            f" = {ratio:.2f} x (goal >= {at_least}){tail}",
            flush=True,
        )
        self.results.append(Goal(name, passed, f"{ratio:.2f} x, goal >= {at_least}"))
        return ratio

    def below(
        self,
        name: str,
        value: float,
        unit: str,
        limit: float,
        *,
        baseline_label: str = "",
        baseline: float = math.nan,
        detail: str = "",
        ok: bool = True,
        inclusive: bool = False,
    ) -> None:
        """An absolute bound (``inclusive``: <=), with the baseline and ratio beside it when
        one is given (``ok`` False misses it too: failures were seen)."""
        passed = ok and (value <= limit if inclusive else value < limit)
        sign = "<=" if inclusive else "<"
        against = (
            f" vs {baseline_label} {baseline:.1f} {unit} = {value / baseline:.2f} x"
            if baseline_label
            else ""
        )
        tail = f"; {detail}" if detail else ""
        print(f"{name}: {value:.1f} {unit}{against} (goal {sign} {limit} {unit}){tail}", flush=True)
        self.results.append(Goal(name, passed, f"{value:.1f} {unit}, goal {sign} {limit} {unit}"))

    def summary(self) -> None:
        for goal in self.results:
            print(f"{'PASS' if goal.passed else 'MISS'}  {goal.name}: {goal.detail}", flush=True)


# ---- processes -----------------------------------------------------------------------


@dataclass
class Child:
    """A process this benchmark started: stopped by its own pid (SIGINT, then SIGKILL)."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(
        cls, name: str, argv: Sequence[str], env: dict[str, str], folder: Path
    ) -> Child:
        log = folder / f"{name}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        return cls(name, process, log)

    def check(self) -> None:
        if self.process.returncode is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def pause(self) -> None:
        """SIGSTOP: the process holds still (no CPU, no polling) until ``resume``."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        self.resume()  # a paused process would not see the SIGINT
        self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_GRACE_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def until(
    probe: Callable[[], Awaitable[bool]], what: str, within_s: float = 30.0, every_s: float = 0.05
) -> None:
    deadline = time.perf_counter() + within_s
    while not await probe():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what}: not ready within {within_s:.0f} s")
        await asyncio.sleep(every_s)


MAILBOX_CODE = (
    "import signal, sys; from pathlib import Path;"
    "from services.embedded.mailbox_server import start_mailbox_server;"
    "stop = {signal.SIGINT, signal.SIGTERM}; signal.pthread_sigmask(signal.SIG_BLOCK, stop);"
    "c = start_mailbox_server(Path(sys.argv[1]), port=int(sys.argv[2]));"
    "signal.sigwait(stop); c.stop()"
)
"""recouvre's SMTP server (services/embedded/mailbox_server.py) until SIGINT or SIGTERM."""


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def embedded_postgres(folder: Path) -> AsyncIterator[str]:
    """A fresh, migrated embedded PostgreSQL (deleted afterwards); yields its URL."""
    url, handle = await asyncio.to_thread(start_embedded_postgres, folder / "pg", keep=False)
    try:
        await upgrade_to_head(url)
        yield url
    finally:
        await asyncio.to_thread(handle.cleanup)


@contextlib.asynccontextmanager
async def mailbox(folder: Path) -> AsyncIterator[int]:
    """recouvre's Maildir SMTP server in a process of its own; yields its port."""
    port = free_port()
    child = await Child.start(
        "smtp",
        [sys.executable, "-c", MAILBOX_CODE, str(folder / "mail"), str(port)],
        dict(os.environ),
        folder,
    )
    try:

        async def up() -> bool:
            child.check()
            return await _port_open(port)

        await until(up, "SMTP server")
        yield port
    finally:
        await child.stop()


# ---- the whole stack -----------------------------------------------------------------


@dataclass
class Stack:
    folder: Path
    database_url: str
    temporal_target: str
    task_queue: str
    client: Client
    api_url: str
    children: list[Child]
    temporal_pid: int

    def check(self) -> None:
        """Raise if one of recouvre's processes died."""
        for child in self.children:
            child.check()

    @contextlib.contextmanager
    def paused(self, *prefixes: str) -> Iterator[None]:
        """Hold the processes whose names start with ``prefixes`` still for the block."""
        held = [c for c in self.children if c.name.startswith(prefixes)]
        for child in held:
            child.pause()
        try:
            yield
        finally:
            for child in held:
                child.resume()

    def http(self, who: str) -> LeanHttp:
        return LeanHttp(self.api_url, KEYS[who])

    def engine(self) -> Any:
        return make_engine(self.database_url)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each part: the dev server, PostgreSQL (postmaster and
        backends), each of recouvre's processes, and this benchmark process (the load)."""
        used = {"temporal": _cpu(self.temporal_pid), "postgres": _postgres_cpu(self.folder)}
        for child in self.children:
            name = "worker" if child.name.startswith("worker") else child.name
            used[name] = used.get(name, 0.0) + _cpu(child.process.pid)
        used["bench (load)"] = _cpu(os.getpid())
        return used


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every process, ours or not; time a
    hypervisor stole is not counted)."""
    times = psutil.cpu_times()
    parts = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, part, 0.0) for part in parts))


# ---- a lean HTTP client ----------------------------------------------------------------


class LeanHttp:
    """HTTP/1.1 keep-alive requests with as little client CPU as Python allows: the load
    generator shares the machine with the service it measures, and an ERP would not. One
    connection per concurrent caller (``lane``), reopened after an idle spell (uvicorn
    closes idle connections after 5 s). Answers (status, body); only Content-Length
    bodies, as uvicorn sends for JSON."""

    IDLE_S = 3.0
    TIMEOUT_S = 30.0

    def __init__(self, base_url: str, token: str) -> None:
        host_port = base_url.removeprefix("http://")
        host, _, port = host_port.partition(":")
        self.host, self.port = host, int(port)
        self.head = f"Host: {host_port}\r\nAuthorization: Bearer {token}\r\n"
        self.lanes: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = {}

    async def _lane(self, lane: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        held = self.lanes.pop(lane, None)
        if held is not None:
            reader, writer, used = held
            if time.monotonic() - used < self.IDLE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def request(
        self, lane: int, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, bytes]:
        async with asyncio.timeout(self.TIMEOUT_S):
            return await self._request(lane, method, path, body)

    async def _request(
        self, lane: int, method: str, path: str, body: bytes | None
    ) -> tuple[int, bytes]:
        reader, writer = await self._lane(lane)
        payload = body or b""
        extra = "Content-Type: application/json\r\n" if body is not None else ""
        writer.write(
            f"{method} {path} HTTP/1.1\r\n{self.head}{extra}"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answer = await reader.readexactly(length) if length else b""
        self.lanes[lane] = (reader, writer, time.monotonic())
        return status, answer

    async def close(self) -> None:
        for _, writer, _ in self.lanes.values():
            writer.close()
        self.lanes.clear()


def _cpu(pid: int, *, tree: bool = False) -> float:
    try:
        process = psutil.Process(pid)
        processes = [process, *(process.children(recursive=True) if tree else [])]
        total = 0.0
        for each in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = each.cpu_times()
                total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def _postgres_cpu(folder: Path) -> float:
    """The postmaster and its backends (pgserver starts it detached: found by its pid file;
    backends that already exited are not counted)."""
    try:
        pid = int((folder / "pg" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return _cpu(pid, tree=True)


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


async def _pollers(client: Client, task_queue: str) -> int:
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(answer.pollers)


@contextlib.asynccontextmanager
async def stack(folder: Path, *, workers: int = 0, projector: bool = True) -> AsyncIterator[Stack]:
    """recouvre as `recouvre run` lays it out, on loopback; ``workers`` 0: as many worker
    processes as `recouvre run` starts on this machine (one per core beyond the API's)."""
    workers = workers or default_worker_count()
    async with contextlib.AsyncExitStack() as exits:
        dev_port = free_port()
        # PostgreSQL's initdb and the dev server's start overlap.
        temporal = asyncio.create_task(
            start_temporal_dev_server(
                folder / "temporal" / "temporal.db",
                "127.0.0.1",
                dev_port,
                free_port(),
                folder / "temporal" / "temporal.log",
            )
        )
        try:
            database_url = await exits.enter_async_context(embedded_postgres(folder))
        finally:
            dev = await temporal
            exits.push_async_callback(stop_process, dev)
        smtp_port = await exits.enter_async_context(mailbox(folder))
        target = f"127.0.0.1:{dev_port}"
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        api_port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": target,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "RECOUVRE_API_KEYS": KEY_SPEC,
            "RECOUVRE_VAR_DIR": str(folder / "var"),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port),
        }
        wanted = [
            *(
                (f"worker-{n}", "worker", {"RECOUVRE_RUN_PROJECTOR": "false"})
                for n in range(1, workers + 1)
            ),
            *((("projector", "projector", {}),) if projector else ()),
            ("api", "api", {}),
        ]
        children = []
        for name, command, extra in wanted:
            child = await Child.start(name, recouvre_command(command), {**env, **extra}, folder)
            exits.push_async_callback(child.stop)
            children.append(child)
        client = await Client.connect(target, data_converter=pydantic_data_converter)
        made = Stack(
            folder,
            database_url,
            target,
            task_queue,
            client,
            f"http://127.0.0.1:{api_port}",
            children,
            dev.pid,
        )

        async def api_up() -> bool:
            made.check()
            return await _port_open(api_port)

        async def workers_up() -> bool:
            made.check()
            return await _pollers(client, task_queue) >= workers

        await until(api_up, "API", within_s=60)
        await until(workers_up, "worker", within_s=60)
        yield made
