#!/usr/bin/env bash
# `itsm serve` ingest on the SQLite queue and on the PostgreSQL queue: alerts/s
# acknowledged, p50/p99 latency and the server's VmHWM, with the alert_load example
# (64 and 8 keep-alive connections, 5 s each). See benches/README.md.
#
#   benches/serve_ingest.sh            # needs ITSM_TEST_POSTGRES_URL for the PostgreSQL runs
#
# Environment: CARGO_TARGET_DIR (default target), ITSM_TEST_POSTGRES_URL
# (e.g. postgres://postgres@127.0.0.1:5432/test), SECONDS_PER_RUN (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
seconds=${SECONDS_PER_RUN:-5}
cargo build --release --locked -p itsm-cli --bin itsm --example alert_load >&2
itsm=$(realpath "$target/release/itsm")
load=$(realpath "$target/release/examples/alert_load")
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Starts `itsm serve` with the configuration on stdin; sets $server and $addr.
start() {
    cat > "$work/itsm.toml"
    (cd "$work" && exec "$itsm" serve --listen 127.0.0.1:0 > "$work/serve.log" 2>&1) &
    server=$!
    for _ in $(seq 100); do
        addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/serve.log" | head -1 || true)
        [ -n "$addr" ] && return 0
        sleep 0.1
    done
    echo "itsm serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1
}
stop() { kill "$server"; wait "$server" || true; server=; }

run() { # queue connections [extra alert_load args]
    local queue=$1 conns=$2; shift 2
    echo "== queue=$queue connections=$conns load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$load" --addr "$addr" --connections "$conns" --seconds "$seconds" --pid "$server" "$@"
}

for conns in 64 8; do
    rm -f "$work"/*.db*
    start <<TOML
[backend]
db = "itsm.db"
[serve]
queue_db = "alert-queue.db"
TOML
    run sqlite "$conns" --queue-db "$work/alert-queue.db"
    stop
done

if [ -z "${ITSM_TEST_POSTGRES_URL:-}" ]; then
    echo "skipping the PostgreSQL queue: set ITSM_TEST_POSTGRES_URL" >&2
    exit 0
fi
for conns in 64 8; do
    rm -f "$work"/*.db*
    schema=bench_ingest_$$_$conns
    ITSM_SERVE_QUEUE_URL=$ITSM_TEST_POSTGRES_URL start <<TOML
[backend]
db = "itsm.db"
[serve]
queue = "postgres"
queue_schema = "$schema"
TOML
    run postgres "$conns"
    stop
    PGOPTIONS=--client-min-messages=warning psql -qAt "$ITSM_TEST_POSTGRES_URL" -c "SELECT 'queue rows: ' || count(*) || ', failed: ' || count(*) FILTER (WHERE state = 'failed') FROM $schema.alert_queue; DROP SCHEMA $schema CASCADE;"
done
