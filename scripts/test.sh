#!/usr/bin/env bash
# Runs the whole test suite against the local services (started if needed):
#
#   bash scripts/test.sh [extra cargo-nextest arguments]      e.g. bash scripts/test.sh -p meta-chat-database
#
# The cluster runs with METACHAT_PG_FAST=1 (fsync off): fine for throw-away test data only.
# Doc tests (which nextest does not run) run first, so that nextest's summary is the last thing printed;
# with extra arguments they are skipped unless METACHAT_DOCTESTS=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

METACHAT_PG_FAST=1 bash scripts/services.sh up
# shellcheck disable=SC1091
source .local/env

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "ERROR: cargo-nextest is not installed: cargo install --locked cargo-nextest" >&2
    exit 1
fi

doc_rc=0
if (($# == 0)) || [[ "${METACHAT_DOCTESTS:-0}" == "1" ]]; then
    echo "==> cargo test --workspace --doc"
    cargo test --workspace --doc || doc_rc=$?
fi

echo "==> cargo nextest run --workspace --all-targets --no-fail-fast $*"
nextest_rc=0
cargo nextest run --workspace --all-targets --no-fail-fast "$@" || nextest_rc=$?

if ((doc_rc != 0)); then
    echo "ERROR: doc tests failed (exit $doc_rc); see above" >&2
    exit "$doc_rc"
fi
exit "$nextest_rc"
