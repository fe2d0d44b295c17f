#!/usr/bin/env bash
# Outbound draining: a burst of 10,000 distinct firing alerts posted to `itsm serve`
# configured with PagerDuty (the simulator in a process of its own, Events API only) and a
# client-side events rate limit; measures the drain time and the achieved rate against the
# limit, and checks that nothing was dropped (the simulator holds exactly one incident per
# alert, the queue has no failed or pending row). See benches/README.md.
#
#   benches/outbound_drain.sh [ALERTS=10000] [EVENTS_PER_SECOND=100]
#
# Environment: CARGO_TARGET_DIR (default target). Needs python3 (standard library only)
# and sqlite3 is not needed (the queue is read with python's sqlite3 module).
set -euo pipefail
cd "$(dirname "$0")/.."
alerts=${1:-10000}
rate=${2:-100}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -p itsm-cli --bin itsm --example sim_server >&2
itsm=$(realpath "$target/release/itsm")
sim_bin=$(realpath "$target/release/examples/sim_server")
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$sim_bin" pagerduty 127.0.0.1:0 > "$work/sim.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/sim.log" && break; sleep 0.1; done
sim=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/sim.log")

cat > "$work/itsm.toml" <<TOML
[backend]
db = "itsm.db"
[serve]
queue_db = "alert-queue.db"
concurrency = 64
[pagerduty]
routing_key = "R0UT1NGKEY0000000000000000000000"
events_url = "http://$sim/v2/"
[pagerduty.rate_limits]
events_per_minute = $((rate * 60))
TOML
(cd "$work" && exec "$itsm" serve --listen 127.0.0.1:0 > "$work/serve.log" 2>&1) &
server=$!
pids+=($server)
for _ in $(seq 100); do grep -qE '127\.0\.0\.1:[0-9]+' "$work/serve.log" && break; sleep 0.1; done
addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/serve.log" | head -1)
echo "== $alerts alerts, events rate limit $rate/s ($((rate * 60))/min); load: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$addr" "$sim" "$alerts" "$rate" "$work/alert-queue.db" "$server" <<'PY'
import json, sqlite3, sys, time, urllib.request
addr, sim, n, rate, queue, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
run = int(time.time())
def body(first, count):
    alerts = [{"status": "firing",
               "labels": {"alertname": "DrainTest", "service": "checkout", "severity": "critical",
                          "instance": f"i{i}"},
               "annotations": {"summary": f"drain test alert {i}"},
               "startsAt": "2026-12-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
               "fingerprint": f"{run:x}-{i:06d}"} for i in range(first, first + count)]
    return json.dumps({"version": "4", "groupKey": "{}:{alertname=\"DrainTest\"}", "status": "firing",
                       "receiver": "itsm", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://127.0.0.1:9093", "alerts": alerts}).encode()
def stats():
    with urllib.request.urlopen(f"http://{sim}/_sim/stats") as r:
        return json.load(r)
def queue_states():
    db = sqlite3.connect(queue)
    try:
        return dict(db.execute("SELECT state, count(*) FROM alert_queue GROUP BY state").fetchall())
    finally:
        db.close()
def hwm():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return " ".join(line.split()[1:])
    return "?"
start = time.monotonic()
per_request = 100
for first in range(0, n, per_request):
    req = urllib.request.Request(f"http://{addr}/v1/alerts/alertmanager", body(first, min(per_request, n - first)),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert 200 <= r.status < 300, r.status
posted = time.monotonic() - start
print(f"posted {n} alerts in {posted:.2f} s ({n / posted:.0f} alerts/s acknowledged)")
first_event = None
last, deadline = 0, time.monotonic() + n / rate * 2 + 60
while time.monotonic() < deadline:
    s = stats()
    events = s["alert_events"]
    if events and first_event is None:
        first_event = time.monotonic()
    if events >= n:
        break
    if events != last:
        last = events
    time.sleep(0.2)
done = time.monotonic()
s = stats()
time.sleep(1)  # let the worker record the last rows
states = queue_states()
drain = done - start
steady = (s["alert_events"] - rate) / (done - first_event) if first_event and done > first_event else 0
print(f"drained {s['alert_events']} events in {drain:.1f} s from the first post: "
      f"{s['alert_events'] / drain:.1f} events/s overall, {steady:.1f} events/s after the first second's burst "
      f"(limit {rate:.0f}/s); simulator incidents: {s['incidents']}; queue states: {states}; server VmHWM {hwm()}")
ok = s["incidents"] == n and s["alert_events"] == n and states.get("failed", 0) == 0 and states.get("pending", 0) == 0
print("zero drops: " + ("yes" if ok else "NO"))
sys.exit(0 if ok else 1)
PY
