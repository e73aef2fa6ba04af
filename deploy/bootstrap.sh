#!/usr/bin/env bash
# Provision everything recouvre needs on a fresh machine, idempotently:
#   - the virtualenv at .venv with the project installed (editable);
#   - the Temporal CLI (dev server) built from its Go module;
#   - Temporal's time-skipping test server (jars from Maven Central);
#   - a real Temporal cluster's server and SQL tool (deploy/build_cluster.sh).
# Heavy, versioned artefacts live in a user-level cache outside the clone, so a
# fresh clone bootstraps in seconds once the cache is warm.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_VERSION=1.5.1
TEST_SERVER_VERSION=1.32.1
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/recouvre"
PYTHON="${PYTHON:-python3.11}"
say() { printf 'bootstrap: %s\n' "$*" >&2; }

# 1. Python virtualenv and the project, reinstalled only when pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.recouvre-pyproject.sha256
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    say "installing Python dependencies"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    echo "$want" >"$stamp"
fi

# 2. Temporal CLI: an explicit TEMPORAL_CLI, else `temporal` on PATH, else the cache,
#    else build it (about 2 minutes cold). services/toolchain.py resolves the same way.
temporal_dir="$CACHE/temporal-$TEMPORAL_VERSION"
if [ -n "${TEMPORAL_CLI:-}" ]; then
    [ -x "$TEMPORAL_CLI" ] || { say "TEMPORAL_CLI=$TEMPORAL_CLI is not executable"; exit 1; }
elif command -v temporal >/dev/null 2>&1; then
    :
elif [ ! -x "$temporal_dir/temporal" ]; then
    command -v go >/dev/null || { say "Go is needed to build the Temporal CLI"; exit 1; }
    say "building Temporal CLI $TEMPORAL_VERSION from its Go module (once)"
    mkdir -p "$temporal_dir"
    CGO_ENABLED=0 GOBIN="$temporal_dir" go install \
        -ldflags "-X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_VERSION" \
        "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_VERSION"
fi

# 3. Time-skipping test server: jars from Maven Central plus a launcher script.
ts_dir="$CACHE/test-server-$TEST_SERVER_VERSION"
if [ ! -x "$ts_dir/temporal-test-server" ]; then
    command -v mvn >/dev/null || { say "Maven and Java are needed for the test server"; exit 1; }
    say "fetching Temporal test server $TEST_SERVER_VERSION (once)"
    mkdir -p "$ts_dir/lib"
    mvn -q -B -f deploy/test-server/pom.xml dependency:copy-dependencies \
        -DoutputDirectory="$ts_dir/lib"
    cat >"$ts_dir/temporal-test-server.tmp" <<LAUNCHER
#!/usr/bin/env bash
exec java -cp '$ts_dir/lib/*' io.temporal.testserver.TestServer "\$@"
LAUNCHER
    chmod +x "$ts_dir/temporal-test-server.tmp"
    mv "$ts_dir/temporal-test-server.tmp" "$ts_dir/temporal-test-server"
fi

# 4. A real Temporal cluster (tests/cluster, benchmarks/intake_cluster.py): temporal-server
#    and temporal-sql-tool built from go.temporal.io/server into the same cache, keyed by
#    version. A no-op once built; about 4 minutes after step 2 on a cold machine.
bash deploy/build_cluster.sh

mkdir -p var
