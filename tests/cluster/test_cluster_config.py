"""The cluster's config and the helpers that fill it in, without starting anything."""

from __future__ import annotations

import os
import subprocess

from services.embedded.temporal_cluster import (
    CONFIG_ENV,
    CONFIG_ROOT,
    ClusterPorts,
    PostgresEndpoint,
    TemporalCluster,
)
from services.toolchain import temporal_server


def test_a_socket_url_and_a_tcp_url_are_both_understood() -> None:
    socket = PostgresEndpoint.from_url("postgresql://postgres:@/postgres?host=/tmp/pg")
    assert (socket.host, socket.port, socket.socket_dir) == ("localhost", 5432, "/tmp/pg")
    assert (socket.user, socket.password, socket.database) == ("postgres", "", "postgres")
    tcp = PostgresEndpoint.from_url("postgresql://temporal:s%40cret@127.0.0.1:6543/admin")
    assert (tcp.host, tcp.port, tcp.socket_dir) == ("127.0.0.1", 6543, None)
    assert (tcp.user, tcp.password, tcp.database) == ("temporal", "s@cret", "admin")


def test_free_ports_fit_the_membership_table() -> None:
    ports = [getattr(ClusterPorts.free(), name) for name in ClusterPorts.__dataclass_fields__]
    assert len(set(ports)) == 9
    assert all(1024 < port < 32768 for port in ports), "cluster_membership.rpc_port is SMALLINT"


def test_the_config_renders_four_shards_on_loopback_with_sql_visibility() -> None:
    cluster = TemporalCluster(
        "postgresql://temporal:temporal@127.0.0.1:6543/postgres", CONFIG_ROOT / "unused.log"
    )
    env = {**os.environ, **cluster._server_env()}
    config = str(CONFIG_ROOT / "config")
    rendered = subprocess.run(
        [str(temporal_server()), "--config", config, "--env", CONFIG_ENV, "render-config"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "numHistoryShards: 4" in rendered
    assert rendered.count("pluginName: postgres12_pgx") == 2, "persistence and visibility"
    assert "connectAddr: 127.0.0.1:6543" in rendered
    assert "elasticsearch: null" in rendered
    assert rendered.count("bindOnIP: 127.0.0.1") == 4, "frontend, history, matching, worker"
    assert f"grpcPort: {cluster.ports.frontend}" in rendered
