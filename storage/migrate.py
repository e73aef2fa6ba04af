"""Bring a database to the latest schema with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.engine import asyncpg_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", asyncpg_url(database_url).replace("%", "%%"))
    return config


async def upgrade_to_head(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")
