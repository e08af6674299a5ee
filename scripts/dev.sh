#!/usr/bin/env bash
# Runs Meta Chat Platform locally: services, build, migrations, then the worker and the API in the
# background until Ctrl-C. Logs: .local/logs/{api,worker,migrate}.log.
#
#   bash scripts/dev.sh
#
# Extra configuration: METACHAT_* environment variables or ./metachat.toml (docs/configuration.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd -P)"

bash scripts/services.sh up
# shellcheck disable=SC1091
source .local/env

echo "==> Building (cargo build --bins)"
cargo build --bins

logs="$root/.local/logs"
mkdir -p "$logs"

echo "==> Applying migrations (as metachat_owner)"
if ! target/debug/meta-chat-worker migrate >"$logs/migrate.log" 2>&1; then
    echo "ERROR: migrations failed; last lines of $logs/migrate.log:" >&2
    tail -n 30 "$logs/migrate.log" >&2
    exit 1
fi
tail -n 5 "$logs/migrate.log"

pids=()
# shellcheck disable=SC2317 # invoked from the traps below
stop_children() {
    trap - INT TERM EXIT
    if ((${#pids[@]} > 0)); then
        echo
        echo "==> Stopping worker and API"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        # The API drains in-flight requests (http.shutdown_timeout_secs); give both a moment.
        local i
        for ((i = 0; i < 35; i++)); do
            kill -0 "${pids[@]}" 2>/dev/null || break
            sleep 1
        done
        kill -KILL "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap 'stop_children; exit 130' INT
trap 'stop_children; exit 143' TERM
trap 'stop_children' EXIT

echo "==> Starting worker (log $logs/worker.log)"
target/debug/meta-chat-worker run >>"$logs/worker.log" 2>&1 &
pids+=("$!")
worker_pid=$!

echo "==> Starting API (log $logs/api.log)"
target/debug/meta-chat-api >>"$logs/api.log" 2>&1 &
pids+=("$!")
api_pid=$!

port="${METACHAT_HTTP__PORT:-3007}"
metrics_port="${METACHAT_METRICS__PORT:-9464}"
cat <<EOF

Meta Chat Platform is starting:
  API      http://127.0.0.1:$port
  docs     http://127.0.0.1:$port/api/v1/docs
  health   http://127.0.0.1:$port/health/ready
  metrics  http://127.0.0.1:$metrics_port/metrics
  logs     tail -f $logs/api.log $logs/worker.log
Ctrl-C stops the worker and the API (PostgreSQL keeps running: scripts/services.sh down).

EOF

# Wait until either child exits (or a signal arrives), then stop the other.
set +e
wait -n "$worker_pid" "$api_pid"
rc=$?
set -e
if ! kill -0 "$api_pid" 2>/dev/null; then
    echo "ERROR: the API exited (status $rc); last lines of $logs/api.log:" >&2
    tail -n 20 "$logs/api.log" >&2
elif ! kill -0 "$worker_pid" 2>/dev/null; then
    echo "ERROR: the worker exited (status $rc); last lines of $logs/worker.log:" >&2
    tail -n 20 "$logs/worker.log" >&2
fi
exit "$((rc == 0 ? 1 : rc))"
