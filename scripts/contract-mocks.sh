#!/usr/bin/env bash
# Installs Stoplight Prism (the spec-validating mock server of the adapters' contract tests)
# and prepares the vendor specs from ../shared/contracts/ so Prism can mock them.
#
#   eval "$(bash scripts/contract-mocks.sh)"
#
# prints `export ITSM_TEST_PRISM=...` and `export ITSM_TEST_SPECS=...`; the contract tests
# skip without those variables (and fail under ITSM_CI=1).
#   ITSM_SHARED_DIR   where shared/ is (default: ../shared next to the repository, else
#                     /work/shared)
#   ITSM_TOOLS_DIR    where Prism is installed (default: ~/.cache/itsm-rs/tools)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="${ITSM_SHARED_DIR:-}"
if [ -z "$shared" ]; then
  for candidate in "$repo/../shared" /work/shared; do
    if [ -d "$candidate/contracts" ]; then shared="$(cd "$candidate" && pwd)"; break; fi
  done
fi
if [ -z "$shared" ] || [ ! -d "$shared/contracts" ]; then
  echo "contract-mocks: no shared/contracts directory found; set ITSM_SHARED_DIR" >&2
  exit 1
fi
contracts="$shared/contracts"
tools="${ITSM_TOOLS_DIR:-$HOME/.cache/itsm-rs/tools}"
prism_dir="$tools/prism"
prism="$prism_dir/node_modules/.bin/prism"
if [ ! -x "$prism" ]; then
  command -v npm >/dev/null || {
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  }
  mkdir -p "$prism_dir"
  (cd "$prism_dir" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5.14.2 >&2)
fi
"$prism" --version >/dev/null

specs="$tools/specs"
mkdir -p "$specs"
python3 "$contracts/tools/pd_prism_compat.py" "$contracts/pagerduty/rest-api-v2.openapiv3.json" "$specs/pagerduty-rest.json"
install -m 644 "$contracts/pagerduty/events-api-v2.openapiv3.json" "$specs/pagerduty-events.json"
python3 "$contracts/tools/fix_string_examples.py" "$contracts/jira/platform-rest-v3.swagger-v3.v3.json" "$specs/jira-platform.json"
python3 "$contracts/tools/fix_string_examples.py" "$contracts/jira/servicedeskapi.openapi.json" "$specs/jira-servicedesk.json"
install -m 644 "$contracts/servicenow/now-table-import-stats.openapi.yaml" "$specs/servicenow-table.yaml"

echo "export ITSM_TEST_PRISM='$prism'"
echo "export ITSM_TEST_SPECS='$specs'"
