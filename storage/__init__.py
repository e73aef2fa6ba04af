"""Where recouvre keeps its data: every table (``tables``), the engine (``engine``) and the
Alembic migrations (``migrations``, applied by ``migrate.upgrade_to_head``)."""
