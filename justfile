# Meta Chat Platform task runner (https://just.systems). Every recipe is a thin wrapper around a script,
# so `just` is optional: the README's commands are `bash scripts/dev.sh` and `bash scripts/test.sh`.

set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

# List the recipes.
default:
    @just --list

# Services, build, migrations, then the worker and the API until Ctrl-C.
up:
    bash scripts/dev.sh

# Whole test suite; extra arguments go to cargo nextest (e.g. `just test -p meta-chat-database`).
test *args:
    bash scripts/test.sh "$@"

# Local PostgreSQL + pgvector and RabbitMQ: up | down | status | env.
services cmd="up":
    bash scripts/services.sh "$1"

# Apply pending migrations as metachat_owner (extra arguments: --status, --revert N).
migrate *args:
    bash scripts/services.sh up
    source .local/env && cargo run -q -p meta-chat-worker -- migrate "$@"

# Format the code.
fmt:
    cargo fmt --all

# Formatting check, clippy (warnings are errors), shell scripts, licences/bans/sources.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings
    if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh .ci/run; else echo "shellcheck not installed; skipped"; fi
    cargo fetch --locked -q   # cargo-deny reads the manifests of every platform's crates, not only this one's
    cargo deny --offline check licenses bans sources

# What CI runs (services, fmt, clippy, layering, cargo-deny, schema check, tests).
ci:
    bash .ci/run
