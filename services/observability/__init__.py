"""What recouvre tells its operators: Prometheus metrics (API and workers) and JSON logs.

- ``metrics``: the API's ``GET /metrics`` and the middleware counting requests and intakes;
- ``activity_metrics``: the worker's activity interceptor, its metrics port and the
  Temporal SDK's own Prometheus endpoint;
- ``logs``: ``RECOUVRE_LOG_FORMAT=json``, one JSON object per line.

docs/operations.md ("What to watch") says what each metric means and what to alert on.
"""

from prometheus_client import disable_created_metrics

# No ``*_created`` series next to each counter and histogram: they double the series and
# nothing here reads them (Prometheus' rate() handles restarts without them).
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in 0.26
