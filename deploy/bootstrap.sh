#!/usr/bin/env bash
# Provision everything recouvre needs on a fresh machine, idempotently:
#   - the virtualenv at .venv with the project installed (editable);
#   - the Temporal CLI (dev server) built from its Go module;
#   - Temporal's time-skipping test server (jars from Maven Central);
#   - a real Temporal cluster's server and SQL tool (deploy/build_cluster.sh);
#   - the console's JavaScript (htmx, Chart.js) from the npm registry, pinned by SHA-256;
#   - Debian's Chromium, which the console's browser tests drive (Playwright).
#   - Debian's Pango, DejaVu fonts and poppler-utils, for the letters' PDF layout (WeasyPrint);
#   - stripe-mock (Stripe's API stand-in) built from its Go module, for online payment tests.
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

# 5. The console's front-end assets (services/console/assets.py reads the same paths):
#    pinned npm packages, checked against their SHA-256, unpacked into the cache; the app
#    serves them itself (never a CDN). Keep the versions in step with assets.py.
npm_dir="$CACHE/npm"
npm_asset() {  # name version sha256
    local dir="$npm_dir/$1-$2" tgz="$npm_dir/$1-$2.tgz"
    [ -f "$dir/.complete" ] && return 0
    command -v npm >/dev/null || { say "npm is needed to fetch $1@$2 for the console"; exit 1; }
    say "fetching $1@$2 from the npm registry (once)"
    mkdir -p "$npm_dir"
    if [ ! -f "$tgz" ]; then
        (cd "$npm_dir" && npm pack --silent "$1@$2" >/dev/null)
    fi
    echo "$3  $tgz" | sha256sum -c --quiet - || { say "$tgz: checksum mismatch"; rm -f "$tgz"; exit 1; }
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$tgz" -C "$dir"
    touch "$dir/.complete"
}
npm_asset htmx.org 2.0.11 165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e
npm_asset chart.js 4.6.1 9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00

# 6. Chromium for the console's browser tests (tests/console, Playwright drives it headless).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Chromium from Debian (once, about a minute)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq chromium >/dev/null 2>&1 || {
            apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
        }
    else
        say "Chromium is missing: install it (apt-get install chromium) for tests/console"
    fi
fi

# 7. The letters' PDF layout (activities/letter_layout): WeasyPrint needs Debian's Pango, the
#    letters embed DejaVu, and their tests read the PDFs with poppler-utils (pdftotext,
#    pdftoppm). Installed only when one is missing.
letter_debs="libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils"
missing_debs=""
for deb in $letter_debs; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" ||
        missing_debs="$missing_debs $deb"
done
if [ -n "$missing_debs" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing$missing_debs from Debian (once) for the letters' PDF layout"
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086  # one word per package
        apt-get install -y -qq $missing_debs >/dev/null 2>&1 || {
            apt-get update -qq >/dev/null && apt-get install -y -qq $missing_debs >/dev/null
        }
    else
        say "missing for the letters' PDF layout:$missing_debs (apt-get install$missing_debs)"
    fi
fi

# 8. stripe-mock, Stripe's own API stand-in, for the debtor portal's online payment tests
#    (services/toolchain.py stripe_mock). Built once from its Go module into the cache.
STRIPE_MOCK_VERSION=0.203.0
stripe_dir="$CACHE/stripe-mock-$STRIPE_MOCK_VERSION"
if [ -z "${STRIPE_MOCK:-}" ] && [ ! -x "$stripe_dir/stripe-mock" ]; then
    command -v go >/dev/null || { say "Go is needed to build stripe-mock"; exit 1; }
    say "building stripe-mock $STRIPE_MOCK_VERSION from its Go module (once)"
    mkdir -p "$stripe_dir"
    CGO_ENABLED=0 GOBIN="$stripe_dir" go install \
        "github.com/stripe/stripe-mock@v$STRIPE_MOCK_VERSION"
fi

mkdir -p var
