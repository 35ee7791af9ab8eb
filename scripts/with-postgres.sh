#!/usr/bin/env bash
# Run a command beside a throwaway PostgreSQL cluster on loopback, then remove the cluster.
#   scripts/with-postgres.sh make test
# Installs Debian's postgresql when its binaries are absent. The command sees
# COPFLOW_TEST_POSTGRES_URL (the test fixtures make a fresh database per test from it).
# fsync is off: the data is thrown away at exit, and tests should not wait on the disk.
set -euo pipefail

find_bindir() {
    local dir
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    if [ "$(id -u)" != 0 ]; then
        echo "with-postgres: PostgreSQL is not installed; run as root or install Debian's 'postgresql'" >&2
        exit 1
    fi
    echo "with-postgres: installing Debian's postgresql" >&2
    # No default cluster: ours is made below, in a temporary folder, and nothing keeps running.
    mkdir -p /etc/postgresql-common
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q -o Dpkg::Options::=--force-confold postgresql >/dev/null
}

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
    install_postgres
    BINDIR="$(find_bindir)"
fi

# PostgreSQL refuses to run as root: as root, run the server as the 'postgres' user.
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    RUN_AS=(runuser -u postgres --)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/copflow-pg.XXXXXX")"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; fi
PGDATA="$WORK/data"

stop_cluster() {
    "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

"${RUN_AS[@]}" "$BINDIR/initdb" -D "$PGDATA" -U copflow --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
"${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$PGDATA" -l "$WORK/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$WORK \
     -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

export COPFLOW_TEST_POSTGRES_URL="postgresql://copflow@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
