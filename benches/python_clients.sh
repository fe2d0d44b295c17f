#!/usr/bin/env bash
# Each Rust adapter versus the vendor's popular Python client doing the same operations
# against the same simulator (served by the sim_server example in a process of its own):
# PagerDuty `pdpyras`, ServiceNow `pysnc`, Jira `jira`, installed (pinned) into a
# virtualenv. Compares throughput per CPU core (operations per CPU second of the client
# process). See benches/README.md.
#
#   benches/python_clients.sh [REQUESTS=2000]
#
# Environment: CARGO_TARGET_DIR (default target), BENCH_VENV (default
# ~/.cache/itsm-rs/bench-venv), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-2000}
target=${CARGO_TARGET_DIR:-target}
venv=${BENCH_VENV:-$HOME/.cache/itsm-rs/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    pdpyras==5.4.1 pysnc==1.2.1 jira==3.10.5 >&2
cargo build --release --locked -p itsm-cli --example sim_server --example adapter_vs_reqwest >&2
sim_bin=$target/release/examples/sim_server
bench=$target/release/examples/adapter_vs_reqwest
out=$(mktemp)
sim=
cleanup() { [ -n "$sim" ] && kill "$sim" 2>/dev/null; wait 2>/dev/null; rm -f "$out" "$out.sim"; }
trap cleanup EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for vendor in pagerduty servicenow jira; do
    "$sim_bin" "$vendor" 127.0.0.1:0 > "$out.sim" &
    sim=$!
    for _ in $(seq 100); do grep -q listening "$out.sim" && break; sleep 0.1; done
    addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$out.sim")
    "$venv/bin/python" benches/python/clients.py "$vendor" "http://$addr/" "$requests" | tee -a "$out"
    kill "$sim"; wait "$sim" || true; sim=
done
for concurrency in 1 16; do
    "$bench" --clients adapter --concurrency "$concurrency" --requests "$requests" --rounds 3 \
        | grep '^RESULT' | tee -a "$out"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: operations per CPU second, Rust adapter / Python client.
python3 - "$out" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    if not line.startswith("RESULT"):
        continue
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    rows[(f["vendor"], f["op"], f["client"], f["concurrency"])] = f
clients = {"pagerduty": "pdpyras 5.4.1", "servicenow": "pysnc 1.2.1", "jira": "jira 3.10.5"}
print()
print("| vendor | operation | Python client | HTTP requests per op (Python / Rust) | Python ops/CPU-s | Rust ops/CPU-s, 1 connection | Rust ops/CPU-s, 16 concurrent | Rust/Python, 1 connection | Rust/Python, best | target >= 20x |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (vendor, op, client, conc), py in sorted(rows.items()):
    if client != "python":
        continue
    r1 = rows.get((vendor, op, "adapter", "1"), {})
    r16 = rows.get((vendor, op, "adapter", "16"), {})
    p, a1, a16 = float(py["ops_per_cpu_s"]), float(r1.get("ops_per_cpu_s", 0)), float(r16.get("ops_per_cpu_s", 0))
    best = max(a1, a16) / p
    print(f"| {vendor} | {op} | {clients[vendor]} | {py['http_per_op']} / {r1.get('http_per_op', '?')} | {p:.0f} | {a1:.0f} | {a16:.0f} | "
          f"{a1 / p:.1f}x | {best:.1f}x | {'met' if best >= 20 else 'not met'} |")
PY
