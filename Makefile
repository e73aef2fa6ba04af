# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: bootstrap run test lint pytest bench

bootstrap:
	@bash deploy/bootstrap.sh

run: bootstrap
	.venv/bin/recouvre run

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

pytest: bootstrap
	.venv/bin/python -m pytest

test: lint pytest

bench: bootstrap
	.venv/bin/python benchmarks/event_store_append.py
	.venv/bin/python benchmarks/projection_rebuild.py
	.venv/bin/python benchmarks/intake_cluster.py
	.venv/bin/python benchmarks/intake_vs_engine.py
	.venv/bin/python benchmarks/replay_five_years.py
