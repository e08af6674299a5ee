#!/usr/bin/env bash
# Benchmark (on demand, never in CI): authenticated `GET /api/v1/conversations?limit=50` on a tenant with
# 10,000 conversations, next to `GET /health/live` (the framework ceiling) in the same run, with wrk; then
# the list query's plan (EXPLAIN ANALYZE as the runtime role, row-level security on).
#
#   bash scripts/bench-inbox.sh            # builds release binaries if needed
#   BENCH_DURATION=30s BENCH_CONNECTIONS=64 bash scripts/bench-inbox.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-32}
conversations=${BENCH_CONVERSATIONS:-10000}
bin=${BENCH_BIN:-$root/target/release}
port=3107

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
bash scripts/services.sh up >/dev/null
# shellcheck disable=SC1091
source .local/env
if [[ ! -x "$bin/meta-chat-api" || ! -x "$bin/meta-chat-worker" ]]; then
    cargo build --release -p meta-chat-api -p meta-chat-worker
fi

db=metachat_bench
super() { "$METACHAT_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" "$@"; }
owner() { "$METACHAT_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "${METACHAT_DATABASE__ADMIN_URL%/*}/$db" "$@"; }
super -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER metachat_owner"
export METACHAT_DATABASE__URL="${METACHAT_DATABASE__URL%/*}/$db"
export METACHAT_DATABASE__ADMIN_URL="${METACHAT_DATABASE__ADMIN_URL%/*}/$db"
export METACHAT_HTTP__PORT=$port METACHAT_METRICS__PORT=0 METACHAT_TELEMETRY__LOG_FILTER=warn
export METACHAT_RATE_LIMIT__API_PER_TENANT_PER_MINUTE=1000000 METACHAT_RATE_LIMIT__API_PER_KEY_PER_MINUTE=1000000
mail=$(mktemp -d)
export METACHAT_MAIL__TRANSPORT=file METACHAT_MAIL__FILE_DIR="$mail"
"$bin/meta-chat-worker" migrate 2>/dev/null

"$bin/meta-chat-api" >"$mail/api.log" 2>&1 &
api=$!
trap 'kill $api 2>/dev/null || true; rm -rf "$mail"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.1; done

base="http://127.0.0.1:$port/api/v1"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
curl -fs -H 'content-type: application/json' "$base/auth/signup" \
    -d '{"email":"bench@example.com","password":"benchmark password","name":"Bench","companyName":"Bench Co"}' >/dev/null
sleep 0.5
token=$(python3 - "$mail" <<'PY'
import glob, json, re, sys
for path in glob.glob(sys.argv[1] + "/*.json"):
    m = re.search(r"token=([A-Za-z0-9_-]+)", json.load(open(path))["text"])
    if m:
        print(m.group(1)); break
PY
)
curl -fs -H 'content-type: application/json' "$base/auth/verify-email" -d "{\"token\":\"$token\"}" >/dev/null
access=$(curl -fs -H 'content-type: application/json' "$base/auth/login" \
    -d '{"email":"bench@example.com","password":"benchmark password"}' | json "['accessToken']")
tenant=$(curl -fs -H "authorization: Bearer $access" "$base/me" | json "['tenant']['id']")

echo "== seeding $conversations conversations for tenant $tenant"
owner <<SQL
INSERT INTO channels (tenant_id, id, type, name, external_id, config, secrets)
VALUES ('$tenant', gen_random_uuid(), 'whatsapp', 'Bench', 'bench-phone', '{}', '{}');
INSERT INTO contacts (tenant_id, id, channel_id, external_id, display_name)
SELECT '$tenant', gen_random_uuid(), (SELECT id FROM channels WHERE tenant_id = '$tenant'), 'wa-' || g, 'Contact ' || g
FROM generate_series(1, $conversations) g;
INSERT INTO conversations (tenant_id, id, channel_id, contact_id, status, last_message_at)
SELECT tenant_id, gen_random_uuid(), channel_id, id, 'active', now() - random() * interval '90 days'
FROM contacts WHERE tenant_id = '$tenant';
ANALYZE channels, contacts, conversations;
SQL

run() { # key name url [header]
    local key=$1; shift
    local out
    if [[ -n "${3:-}" ]]; then out=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "$3" "$2"); else
        out=$(wrk -t2 -c"$connections" -d"$duration" --latency "$2"); fi
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '%-40s %12s %10s %10s %8s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
    echo "$rps" >"$mail/$key.rps"
}
echo
echo "== wrk: 2 threads, $connections connections, $duration each ($(nproc) cores)"
printf '%-40s %12s %10s %10s %8s\n' "route" "req/s" "p50" "p99" "non-2xx"
run live "GET /health/live" "http://127.0.0.1:$port/health/live"
run me "GET /api/v1/me (auth + one tenant query)" "$base/me" "Authorization: Bearer $access"
run inbox "GET /api/v1/conversations?limit=50" "$base/conversations?limit=50" "Authorization: Bearer $access"
python3 - "$mail" <<'PY'
import sys
d = sys.argv[1]
live = float(open(d + "/live.rps").read())
conv = float(open(d + "/inbox.rps").read())
print(f"\nratio conversations/live: {conv / live:.3f}")
PY

echo
echo "== plan of the inbox query (runtime role, row-level security on)"
"$METACHAT_PG_BIN/psql" -X -q "$METACHAT_DATABASE__URL" <<SQL
BEGIN;
SELECT set_config('app.tenant_id', '$tenant', true) \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT c.*, ct.id, ct.external_id, ct.phone, ct.display_name, ch.type
FROM conversations c
JOIN contacts ct ON ct.id = c.contact_id AND ct.tenant_id = c.tenant_id
JOIN channels ch ON ch.id = c.channel_id AND ch.tenant_id = c.tenant_id
WHERE c.tenant_id = '$tenant'
ORDER BY c.last_message_at DESC, c.id DESC
LIMIT 51;
COMMIT;
SQL
super -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
