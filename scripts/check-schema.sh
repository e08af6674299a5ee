#!/usr/bin/env bash
# Migrates a scratch database with the worker's embedded migrations, regenerates schema.rs with
# `diesel print-schema`, and fails if it differs from the committed crates/database/src/schema.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source .local/env
db="schema_check_$$"
psql_super() { "$METACHAT_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" "$@"; }
cleanup() { psql_super -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT
psql_super -c "CREATE DATABASE $db OWNER metachat_owner"
owner_url="${METACHAT_DATABASE__ADMIN_URL%/*}/$db"
cargo build -q -p meta-chat-worker
METACHAT_DATABASE__ADMIN_URL="$owner_url" METACHAT_TELEMETRY__LOG_FILTER=warn target/debug/meta-chat-worker migrate
generated=$(mktemp)
diesel print-schema --database-url "$owner_url" > "$generated"
if ! diff -u crates/database/src/schema.rs "$generated"; then
  if [ "${1:-}" = "--write" ]; then
    cp "$generated" crates/database/src/schema.rs
    echo "schema.rs rewritten from the migrations"
    exit 0
  fi
  echo "schema.rs differs from what the migrations produce: run scripts/check-schema.sh --write" >&2
  exit 1
fi
echo "schema.rs matches the migrations"
