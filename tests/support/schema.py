"""Compare some of storage/tables.py's Table objects with the migrated database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Connection


def schema_differences(connection: Connection, *tables: Table) -> list[object]:
    """Alembic's differences between ``tables`` and the same tables in the database
    (types and server defaults included); [] when the objects match the migrations."""
    names = {table.name for table in tables}
    only = MetaData()
    for table in tables:
        table.to_metadata(only)
    context = MigrationContext.configure(
        connection,
        opts={
            "include_name": lambda name, kind, _parent: kind != "table" or name in names,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(context, only))
