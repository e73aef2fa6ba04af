#!/usr/bin/env bash
# Build the binaries of a real Temporal cluster from their Go module, once per version:
#   - temporal-server    (go.temporal.io/server/cmd/server: frontend, history, matching, worker)
#   - temporal-sql-tool  (go.temporal.io/server/cmd/tools/sql: create / setup / update schema)
#   - schema/            (the module's PostgreSQL v12 schemas, copied beside the binaries)
# into ~/.cache/recouvre/temporal-server-<version>/. A `.complete` stamp is written last,
# so an interrupted build is redone and a finished one is a no-op (a few milliseconds).
# services/toolchain.py resolves the same folder. Called by deploy/bootstrap.sh.
#
# Measured on 2 cores: empty Go module and build caches 5 min 23 s (1.6 GB of modules
# downloaded, 1.2 GB of build cache); right after the bootstrap built the Temporal CLI
# (which embeds the same server module) 4 min 9 s; cached binaries: nothing to do.
#
# The cluster also needs a PostgreSQL server with the contrib extensions (btree_gin, for
# SQL visibility), which the embedded pgserver lacks: Debian's `postgresql` package,
# preinstalled on these machines; installed here with apt-get if it is missing and we are
# root, otherwise only reported (the cluster tests then say what is missing). An image
# build (deploy/temporal-cluster/Dockerfile) sets BUILD_CLUSTER_BINARIES_ONLY=1 to skip that.
#
# TEMPORAL_SERVER, TEMPORAL_SQL_TOOL and TEMPORAL_SCHEMA_DIR all set: use those, build nothing.
set -euo pipefail

SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-1.29.1}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/recouvre"
dir="$CACHE/temporal-server-$SERVER_VERSION"
say() { printf 'build_cluster: %s\n' "$*" >&2; }

postgres_with_contrib() {
    [ -n "${TEMPORAL_POSTGRES_BIN:-}" ] && return 0
    ls /usr/share/postgresql/*/extension/btree_gin.control >/dev/null 2>&1 && return 0
    command -v pg_config >/dev/null 2>&1 &&
        [ -f "$(pg_config --sharedir)/extension/btree_gin.control" ]
}
if [ "${BUILD_CLUSTER_BINARIES_ONLY:-}" != 1 ] && ! postgres_with_contrib; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian's PostgreSQL (with contrib) for the Temporal cluster (once)"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
    else
        say "no PostgreSQL with contrib (btree_gin): the cluster tests need one" \
            "(apt-get install postgresql, or set TEMPORAL_POSTGRES_BIN)"
    fi
fi

if [ -n "${TEMPORAL_SERVER:-}" ] && [ -n "${TEMPORAL_SQL_TOOL:-}" ] && [ -n "${TEMPORAL_SCHEMA_DIR:-}" ]; then
    exit 0
fi
[ -f "$dir/.complete" ] && exit 0

command -v go >/dev/null || { say "Go is needed to build the Temporal server"; exit 1; }
say "building Temporal server $SERVER_VERSION and temporal-sql-tool from the Go module (once)"
started=$(date +%s)
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin"
trap 'rm -rf "$tmp"' EXIT

module="go.temporal.io/server@v$SERVER_VERSION"
# Pure Go (the SQLite plugin is modernc's), so no C toolchain is needed.
CGO_ENABLED=0 GOBIN="$tmp/bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install \
    "go.temporal.io/server/cmd/server@v$SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@v$SERVER_VERSION"
mv "$tmp/bin/server" "$tmp/temporal-server"
mv "$tmp/bin/sql" "$tmp/temporal-sql-tool"
rmdir "$tmp/bin"

# The schema files are in the module itself (already downloaded by go install).
module_dir=$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$module_dir/schema/postgresql/v12" ] || { say "no PostgreSQL schema in $module_dir"; exit 1; }
mkdir -p "$tmp/schema/postgresql"
cp -R "$module_dir/schema/postgresql/v12" "$tmp/schema/postgresql/v12"
chmod -R u+w "$tmp/schema"

echo "$SERVER_VERSION built $(date -u +%FT%TZ) in $(($(date +%s) - started)) s" >"$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
say "done in $(($(date +%s) - started)) s: $dir"
