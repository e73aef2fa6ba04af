#!/bin/sh
# Create and upgrade Temporal's two PostgreSQL databases: a deployment's schema job.
# deploy/compose.yaml runs it in the temporalio/admin-tools image before the server starts;
# services/embedded/temporal_cluster.py runs the same three steps for the tests. Every step
# is idempotent (`create` leaves an existing database, `setup-schema -v 0.0` skips a schema
# past 0.0, `update-schema` applies only what is missing): run it before every server
# upgrade, one minor version at a time, with that version's schema files.
#
#   SQL_HOST, SQL_PORT (5432), SQL_USER, SQL_PASSWORD  the PostgreSQL server (read by the tool)
#   SQL_PLUGIN (postgres12_pgx)                         or postgres12 (lib/pq)
#   DBNAME (temporal), VISIBILITY_DBNAME (temporal_visibility), DEFAULT_DB (postgres)
#   TEMPORAL_SCHEMA_DIR  holds postgresql/v12 (/etc/temporal/schema in admin-tools;
#                        ~/.cache/recouvre/temporal-server-<version>/schema here)
set -eu
: "${SQL_HOST:?set SQL_HOST}" "${SQL_USER:?set SQL_USER}"
export SQL_PLUGIN="${SQL_PLUGIN:-postgres12_pgx}" SQL_PORT="${SQL_PORT:-5432}"
schema="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12"
tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"

prepare() {
    "$tool" --db "$1" create --defaultdb "${DEFAULT_DB:-postgres}"
    "$tool" --db "$1" setup-schema -v 0.0
    "$tool" --db "$1" update-schema -d "$schema/$2/versioned"
}
prepare "${DBNAME:-temporal}" temporal
prepare "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "setup-schema: ${DBNAME:-temporal} and ${VISIBILITY_DBNAME:-temporal_visibility} are up to date"
