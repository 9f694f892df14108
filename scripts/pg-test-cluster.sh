#!/usr/bin/env bash
# A throw-away PostgreSQL 15 + PostGIS 3 cluster for the tests and benchmarks of the PostGIS
# store: no system service, nothing outside target/.
#
#   scripts/pg-test-cluster.sh start   initdb into target/pg-test (fresh each time), start it on a
#                                      free localhost port, create the database `chaski` with
#                                      PostGIS, and print its URL (postgresql://...)
#   scripts/pg-test-cluster.sh url     print the URL of the running cluster
#   scripts/pg-test-cluster.sh stop    stop it and remove target/pg-test
#
# `make test` runs `start`, exports the URL as CHASKI_TEST_PG for the tests, and `stop`s the
# cluster when the tests end (also when they fail). PostgreSQL refuses to run as root: as root
# (as in CI) the cluster is run as the user `postgres` (made by Debian's postgresql-common) with
# runuser. CHASKI_PG_DIR overrides the folder, CHASKI_PG_PORT the port.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${CHASKI_PG_DIR:-$ROOT/target/pg-test}"
DATA="$DIR/data"
BIN="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)"
if [ -z "$BIN" ] && command -v pg_config >/dev/null 2>&1; then BIN="$(pg_config --bindir)"; fi
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "pg-test-cluster: PostgreSQL 15 is not installed (scripts/install-deps.sh installs postgresql-15 and postgresql-15-postgis-3)" >&2
  exit 1
fi

# Run a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() {
  local port
  port="$(cat "$DIR/port")"
  echo "postgresql://chaski@127.0.0.1:$port/chaski"
}

free_port() {
  if [ -n "${CHASKI_PG_PORT:-}" ]; then echo "$CHASKI_PG_PORT"; return; fi
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

running() {
  [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

stop() {
  if running; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
  rm -rf "$DIR"
}

start() {
  stop
  mkdir -p "$DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR"; fi
  as_owner "$BIN/initdb" -D "$DATA" -U chaski --auth=trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    exit 1
  }
  local port
  port="$(free_port)"
  echo "$port" >"$DIR/port"
  # Test settings: loopback only, a socket folder of its own, small shared memory.
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c max_connections=200 -c shared_buffers=128MB" \
    start >/dev/null || {
    cat "$DIR/server.log" >&2
    exit 1
  }
  as_owner "$BIN/psql" -q -h 127.0.0.1 -p "$port" -U chaski -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE chaski" >/dev/null
  as_owner "$BIN/psql" -q -h 127.0.0.1 -p "$port" -U chaski -d chaski -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION postgis" >/dev/null
  url
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) if running; then url; else echo "pg-test-cluster: not running" >&2; exit 1; fi ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
