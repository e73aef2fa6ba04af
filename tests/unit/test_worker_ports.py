"""`recouvre run` gives each worker process ports of its own for its metrics."""

from __future__ import annotations

from services.config import Settings
from services.runner import _worker_env


def test_each_worker_gets_its_own_pair_of_metrics_ports() -> None:
    settings = Settings(RECOUVRE_WORKER_METRICS_PORT=9100)
    ports = [int(_worker_env(settings, n)["RECOUVRE_WORKER_METRICS_PORT"]) for n in (1, 2, 3)]
    assert ports == [9100, 9102, 9104]  # and the SDK's on the next port of each: no overlap
    taken = {p + offset for p in ports for offset in (0, 1)}
    assert len(taken) == 6


def test_no_metrics_port_unless_asked_and_never_a_projector_in_a_worker() -> None:
    env = _worker_env(Settings(), 2)
    assert env == {"RECOUVRE_RUN_PROJECTOR": "false"}
