#!/usr/bin/env bash
# Throw-away PostgreSQL server for the store tests.
#   scripts/postgres.sh start   initialise a cluster in a temp dir, listen on 127.0.0.1 on a
#                               free port, create a database, print its SQLAlchemy URL
#                               (postgresql+psycopg://...) on stdout — and nothing else there
#   scripts/postgres.sh stop    stop it and remove the temp dir
# Uses the Debian binaries (/usr/lib/postgresql/<version>/bin). initdb refuses root, so as
# root the server runs as the `postgres` user (runuser). Diagnostics go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_id=$(pwd | cksum | cut -d' ' -f1)
STATE=${TMPDIR:-/tmp}/configurator-postgres-$(id -u)-$repo_id.state
DB=configurator_test

die() { echo "postgres.sh: $*" >&2; exit 1; }

find_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  return 1
}

as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  [[ -f $STATE ]] && die "already running (state file $STATE); run 'scripts/postgres.sh stop' first"
  local bin dir port user
  bin=$(find_bin) || die "PostgreSQL binaries not found (apt-get install postgresql)"
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user"
    user=postgres
  else
    user=$(id -un)
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/configurator-pg.XXXXXX")
  [[ $(id -u) == 0 ]] && chown postgres: "$dir"
  echo "$dir" >"$STATE"
  as_pg "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; stop; die "initdb failed"; }
  for attempt in 1 2 3; do
    port=$(free_port)
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >&2; then
      break
    fi
    [[ $attempt == 3 ]] && { cat "$dir/server.log" >&2; stop; die "server did not start"; }
  done
  echo "$port" >"$dir/port"
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$DB" >&2 || { stop; die "createdb failed"; }
  echo "postgresql+psycopg://$user@127.0.0.1:$port/$DB"
}

stop() {
  [[ -f $STATE ]] || { echo "postgres.sh: not running" >&2; return 0; }
  local dir bin
  dir=$(cat "$STATE")
  bin=$(find_bin) || true
  if [[ -n $bin && -f $dir/data/postmaster.pid ]]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  [[ -n $dir && $dir == */configurator-pg.* ]] && rm -rf "$dir"
  rm -f "$STATE"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/postgres.sh start|stop" >&2; exit 2 ;;
esac
