"""A real Temporal cluster as a child process, for the cluster tests and benchmarks.

The production shape on one machine: `temporal-server` (built from go.temporal.io/server by
deploy/build_cluster.sh) running its four services (frontend, history, matching, worker) in
one process, with PostgreSQL persistence and SQL visibility and 4 history shards, every
port on 127.0.0.1. Its config is deploy/temporal-cluster/config/recouvre.yaml; this module
only fills in the environment that config reads.

Before each start the two databases (``temporal``, ``temporal_visibility``, or the
names given) are created on the given PostgreSQL and their schemas set up and upgraded by
`temporal-sql-tool`, exactly as a deployment's schema job does::

    temporal-sql-tool --plugin postgres12_pgx ... --db temporal create
    temporal-sql-tool ... --db temporal setup-schema -v 0.0
    temporal-sql-tool ... --db temporal update-schema -d <schema>/postgresql/v12/temporal/versioned

Every step may run again on a prepared database (the official images' auto-setup does the
same): nothing is redone, and `update-schema` applies only what is missing. Then the server
starts, the frontend's gRPC health check answers SERVING, the namespace is registered, and
a probe workflow starts (and is terminated) to show the namespace is usable.

The visibility schema needs PostgreSQL's btree_gin extension, which the embedded pgserver
(recouvre's own database under `make run` and the tests) does not ship: ``ClusterPostgres``
runs a PostgreSQL of the cluster's own from Debian's package, on a loopback TCP port.

recouvre itself never needs this module: a deployment points it at its cluster with
TEMPORAL_ADDRESS (and at its PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import random
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from services.embedded.temporal_server import stop_process
from services.toolchain import (
    postgres_with_contrib,
    temporal_schema_dir,
    temporal_server,
    temporal_sql_tool,
)
from storage.engine import asyncpg_url

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "deploy" / "temporal-cluster"
"""deploy/temporal-cluster: config/recouvre.yaml and config/dynamicconfig/recouvre.yaml."""
CONFIG_ENV = "recouvre"
SERVICES = ("frontend", "history", "matching", "worker")
HOST = "127.0.0.1"
FREE_PORT_RANGE = (20000, 32000)
RETENTION = timedelta(days=3)
"""How long a closed workflow's history stays (the namespace's retention period)."""
PLUGIN = "postgres12_pgx"
"""The pgx driver: unlike lib/pq (``postgres12``) it lets the ``host`` connect attribute,
a Unix-socket directory, override connectAddr's host, so one setting reaches a PostgreSQL
on a socket (``?host=/var/run/postgresql``) as well as one over TCP."""


@dataclass(frozen=True)
class PostgresEndpoint:
    """Where a PostgreSQL server is, from a ``postgresql://`` URL (libpq's forms: a TCP
    host, or a Unix-socket directory in ``?host=/dir`` as the embedded pgserver gives)."""

    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: str | None = None

    @classmethod
    def from_url(cls, url: str) -> PostgresEndpoint:
        parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("a postgresql:// URL is needed")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        host = query.get("host") or parts.hostname or "localhost"
        port = int(query.get("port") or parts.port or 5432)
        socket_dir = host if host.startswith("/") else None
        return cls(
            host="localhost" if socket_dir else host,
            port=port,
            user=unquote(parts.username or query.get("user") or "postgres"),
            password=unquote(parts.password or query.get("password") or ""),
            database=unquote(parts.path.lstrip("/")) or "postgres",
            socket_dir=socket_dir,
        )


class ClusterPostgres:
    """A PostgreSQL server of the cluster's own, on 127.0.0.1 with password authentication,
    as a deployment's would be. Debian's PostgreSQL (see ``postgres_with_contrib``): the
    visibility schema needs the btree_gin extension, which the embedded pgserver lacks.

    PostgreSQL refuses to run as root: under root it runs as the ``postgres`` system user
    (Debian's package creates it), in a data folder that user owns.
    """

    USER = "temporal"
    PASSWORD = "temporal"  # loopback only, a throwaway test database

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        """``folder`` (default: a new temporary one) holds the data and the log; under root
        each folder above it must be open to others (o+x) for ``postgres`` to reach it."""
        self.folder = folder or Path(tempfile.mkdtemp(prefix="recouvre-cluster-pg-"))
        self.data_dir = self.folder / "pgdata"
        self.log_file = self.folder / "postgres.log"
        self.port = port or _free_port()
        self.bin_dir = postgres_with_contrib()
        self._run_as = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://{self.USER}:{self.PASSWORD}@{HOST}:{self.port}/postgres"

    async def _run(self, tool: str, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            str(self.bin_dir / tool),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.folder,
            user=self._run_as,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(
                f"{tool} {args[-1]} failed: {output.decode()[-2000:]}\n{log[-2000:]}"
            )

    async def start(self) -> None:
        """initdb (first time), then start and wait until it accepts connections."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            account = pwd.getpwnam(self._run_as)
            self.folder.chmod(0o755)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            password_file = self.folder / "pwfile"
            password_file.write_text(self.PASSWORD + "\n")
            if self._run_as:
                os.chown(password_file, account.pw_uid, account.pw_gid)
            try:
                await self._run(
                    "initdb",
                    "-D", str(self.data_dir),
                    "-U", self.USER,
                    f"--pwfile={password_file}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                )  # fmt: skip
            finally:
                password_file.unlink()
        options = " ".join(
            [
                f"-c listen_addresses={HOST}",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.data_dir}",
                # Each of the four services opens its own pools (SQL_MAX_CONNS and
                # SQL_VIS_MAX_CONNS per service): 100 connections would not be enough.
                "-c max_connections=250",
            ]
        )
        await self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    async def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            await self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    async def close(self) -> None:
        """Stop the server and delete its data."""
        await self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ClusterPorts:
    """The gRPC, membership and HTTP ports of the four services."""

    frontend: int = 7233
    frontend_http: int = 7243
    frontend_membership: int = 6933
    history: int = 7234
    history_membership: int = 6934
    matching: int = 7235
    matching_membership: int = 6935
    worker: int = 7239
    worker_membership: int = 6939

    @classmethod
    def free(cls) -> ClusterPorts:
        """Ports free now, all different, below 32768 (for tests and benchmarks).

        Not the kernel's ephemeral ports (32768 and up here): each service records its
        port in the cluster_membership table, whose rpc_port column is a SMALLINT."""
        chosen: list[int] = []
        rng = random.SystemRandom()
        while len(chosen) < len(fields(cls)):
            port = rng.randrange(*FREE_PORT_RANGE)
            if port not in chosen and _can_bind(port):
                chosen.append(port)
        return cls(*chosen)


def _can_bind(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


class TemporalCluster:
    """temporal-server on PostgreSQL, started by :meth:`start`, stopped by :meth:`stop`."""

    def __init__(
        self,
        database_url: str,
        log_file: Path,
        *,
        database: str = "temporal",
        visibility_database: str = "temporal_visibility",
        shards: int = 4,
        ports: ClusterPorts | None = None,
        namespace: str = "default",
        log_level: str = "warn",
    ) -> None:
        self.database_url = database_url
        self.postgres = PostgresEndpoint.from_url(database_url)
        self.log_file = log_file
        self.database = database
        self.visibility_database = visibility_database
        self.shards = shards
        self.ports = ports or ClusterPorts.free()
        self.namespace = namespace
        self.log_level = log_level
        self._process: asyncio.subprocess.Process | None = None

    @property
    def target(self) -> str:
        """The frontend's address: what TEMPORAL_ADDRESS is set to."""
        return f"{HOST}:{self.ports.frontend}"

    # -- schema ---------------------------------------------------------------------

    def _sql_env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "SQL_PLUGIN": PLUGIN,
            "SQL_HOST": self.postgres.host,
            "SQL_PORT": str(self.postgres.port),
            "SQL_USER": self.postgres.user,
            "SQL_PASSWORD": self.postgres.password,
        }
        if self.postgres.socket_dir:
            env["SQL_CONNECT_ATTRIBUTES"] = f"host={self.postgres.socket_dir}"
        return env

    async def _sql_tool(self, database: str, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            str(temporal_sql_tool()),
            "--db",
            database,
            *args,
            env=self._sql_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        with self.log_file.open("ab") as log:
            log.write(f"$ temporal-sql-tool --db {database} {' '.join(args)}\n".encode())
            log.write(output)
        if process.returncode != 0:
            raise RuntimeError(
                f"temporal-sql-tool {args[0]} on {database} failed: {output.decode()[-2000:]}"
            )

    @contextlib.asynccontextmanager
    async def _connect(self, database: str | None = None) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection to ``database`` (default: the URL's own database)."""
        url = make_url(asyncpg_url(self.database_url)).set(
            database=database or self.postgres.database
        )
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                yield connection
        finally:
            await engine.dispose()

    async def prepare_databases(self) -> None:
        """Create both databases and bring their schemas to this server's version. Each
        step may run again: `create` leaves an existing database alone, `setup-schema -v
        0.0` skips a schema already past 0.0, `update-schema` applies only what is missing
        (and is how a newer server's schema is reached, one minor version at a time)."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        schemas = temporal_schema_dir() / "postgresql" / "v12"
        for database, schema in (
            (self.database, "temporal"),
            (self.visibility_database, "visibility"),
        ):
            await self._sql_tool(database, "create", "--defaultdb", self.postgres.database)
            await self._sql_tool(database, "setup-schema", "-v", "0.0")
            versions = str(schemas / schema / "versioned")
            await self._sql_tool(database, "update-schema", "-d", versions)

    async def drop_databases(self) -> None:
        """Drop both databases (the server must be stopped)."""
        async with self._connect() as admin:
            for database in (self.database, self.visibility_database):
                await admin.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    # -- server ---------------------------------------------------------------------

    def _server_env(self) -> dict[str, str]:
        ports = self.ports
        env = {
            **os.environ,
            "DB": PLUGIN,
            "POSTGRES_SEEDS": self.postgres.host,
            "DB_PORT": str(self.postgres.port),
            "POSTGRES_USER": self.postgres.user,
            "POSTGRES_PWD": self.postgres.password,
            "DBNAME": self.database,
            "VISIBILITY_DBNAME": self.visibility_database,
            "NUM_HISTORY_SHARDS": str(self.shards),
            "BIND_ON_IP": HOST,
            "LOG_LEVEL": self.log_level,
            "FRONTEND_GRPC_PORT": str(ports.frontend),
            "FRONTEND_HTTP_PORT": str(ports.frontend_http),
            "FRONTEND_MEMBERSHIP_PORT": str(ports.frontend_membership),
            "HISTORY_GRPC_PORT": str(ports.history),
            "HISTORY_MEMBERSHIP_PORT": str(ports.history_membership),
            "MATCHING_GRPC_PORT": str(ports.matching),
            "MATCHING_MEMBERSHIP_PORT": str(ports.matching_membership),
            "WORKER_GRPC_PORT": str(ports.worker),
            "WORKER_MEMBERSHIP_PORT": str(ports.worker_membership),
            "DYNAMIC_CONFIG_FILE_PATH": str(
                CONFIG_ROOT / "config" / "dynamicconfig" / f"{CONFIG_ENV}.yaml"
            ),
        }
        if self.postgres.socket_dir:
            env["POSTGRES_SOCKET_DIR"] = self.postgres.socket_dir
        else:
            env.pop("POSTGRES_SOCKET_DIR", None)
        return env

    async def start(self, within_s: float = 90.0) -> None:
        """Start the server and return once its frontend serves and the namespace exists."""
        if self._process is not None and self._process.returncode is None:
            raise RuntimeError("the cluster is already running")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        service_args = [arg for name in SERVICES for arg in ("--service", name)]
        with self.log_file.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                str(temporal_server()),
                "--root", str(CONFIG_ROOT),
                "--config", "config",
                "--env", CONFIG_ENV,
                "--allow-no-auth",
                "start",
                *service_args,
                env=self._server_env(),
                stdout=log,
                stderr=log,
            )  # fmt: skip
        try:
            await asyncio.wait_for(self._until_serving(), within_s)
        except BaseException as error:
            await self.stop()
            tail = self.log_file.read_text(errors="replace")[-3000:]
            if isinstance(error, TimeoutError):
                raise RuntimeError(
                    f"Temporal cluster not serving within {within_s} s; log tail:\n{tail}"
                ) from None
            raise

    async def _until_serving(self) -> None:
        client = None
        while client is None:
            self._check_alive()
            try:
                client = await Client.connect(self.target, namespace=self.namespace)
                if not await client.service_client.check_health():
                    client = None
            except (RuntimeError, RPCError):  # "Failed client connect", or not serving yet
                client = None
            if client is None:
                await asyncio.sleep(0.3)
        await self._ensure_namespace(client)

    async def _ensure_namespace(self, client: Client) -> None:
        """Register the namespace (unless there), then wait until a workflow can start in
        it: the frontend and history learn of a new namespace from their caches, refreshed
        every couple of seconds, so "registered" is not yet "usable"."""
        service = client.workflow_service
        while True:
            self._check_alive()
            try:
                await service.describe_namespace(DescribeNamespaceRequest(namespace=self.namespace))
                break
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    await asyncio.sleep(0.3)
                    continue
            request = RegisterNamespaceRequest(namespace=self.namespace)
            request.workflow_execution_retention_period.FromTimedelta(RETENTION)
            with contextlib.suppress(RPCError):  # already there, or not ready: look again
                await service.register_namespace(request)
        while True:
            self._check_alive()
            try:
                probe = await client.start_workflow(
                    "ClusterReadyProbe",
                    id=f"cluster-ready-probe-{uuid.uuid4().hex[:8]}",
                    task_queue="cluster-ready-probe",
                )
            except RPCError as error:
                if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNAVAILABLE):
                    raise
                await asyncio.sleep(0.3)
                continue
            await probe.terminate("the cluster is ready")
            return

    def _check_alive(self) -> None:
        if self._process is None or self._process.returncode is not None:
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"temporal-server exited; log tail:\n{tail}")

    async def stop(self) -> None:
        """SIGTERM (the server drains and stops), then SIGKILL after a grace period."""
        if self._process is not None:
            await stop_process(self._process, grace_s=15.0)


@contextlib.asynccontextmanager
async def running_cluster(
    database_url: str,
    folder: Path,
    *,
    fresh: bool = True,
    shards: int = 4,
    log_level: str = "warn",
) -> AsyncIterator[TemporalCluster]:
    """A started cluster on free loopback ports, stopped when the block exits.

    ``fresh``: the two databases get names of their own (``temporal_<hex>``,
    ``temporal_visibility_<hex>``), created now and dropped at exit, so a run never
    sees another's shards or workflows. Otherwise ``temporal`` and ``temporal_visibility``
    are used (created and upgraded if needed) and kept.
    """
    suffix = f"_{uuid.uuid4().hex[:8]}" if fresh else ""
    cluster = TemporalCluster(
        database_url,
        folder / "temporal-cluster.log",
        database=f"temporal{suffix}",
        visibility_database=f"temporal_visibility{suffix}",
        shards=shards,
        log_level=log_level,
    )
    try:
        await cluster.prepare_databases()
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()
        if fresh:
            await cluster.drop_databases()
