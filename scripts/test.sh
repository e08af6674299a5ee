#!/usr/bin/env bash
# Runs the whole test suite against the local services (started if needed):
#
#   bash scripts/test.sh [extra cargo-nextest arguments]      e.g. bash scripts/test.sh -p meta-chat-database
#
# The cluster runs with METACHAT_PG_FAST=1 (fsync off): fine for throw-away test data only.
# Doc tests run before nextest (nextest does not run them); with extra arguments they are skipped unless
# METACHAT_DOCTESTS=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

METACHAT_PG_FAST=1 bash scripts/services.sh up
# shellcheck disable=SC1091
source .local/env

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "ERROR: cargo-nextest is not installed: cargo install --locked cargo-nextest" >&2
    exit 1
fi

# Doc tests first (nextest does not run them), so that nextest's summary is the run's closing line.
if (($# == 0)) || [[ "${METACHAT_DOCTESTS:-0}" == "1" ]]; then
    echo "==> cargo test --workspace --doc"
    cargo test --workspace --doc
fi

echo "==> cargo nextest run --workspace --all-targets --no-fail-fast $*"
cargo nextest run --workspace --all-targets --no-fail-fast "$@"
