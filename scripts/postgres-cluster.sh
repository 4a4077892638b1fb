#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a temporary
# directory, started on a free loopback port, with a database `lstore` that user `lstore`
# (password `lstore`) owns. Source it, then call:
#   postgres_cluster_start    exports LSTORE_TEST_POSTGRES_URL (and PG_CLUSTER_DIR, PG_PORT)
#   postgres_cluster_stop     stops the server and deletes the directory
#   postgres_cluster_restart  stops the server (`-m fast`: every session cut) and starts it
#                             again on the same port, as a database restart looks to a node
# Needs PostgreSQL's server binaries (scripts/setup.sh installs Debian's `postgresql`).
# Runs the server as the current user, or as `postgres` when the current user is root
# (PostgreSQL refuses to run as root).

postgres_cluster_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" ]] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

# The command prefix that runs the server's tools: `runuser -u postgres --` as root (found
# in /usr/sbin even when that is not on PATH), nothing otherwise.
postgres_cluster_as() {
  [[ $(id -u) -eq 0 ]] || return 0
  printf '%s\n' "$(command -v runuser || echo /usr/sbin/runuser)" -u postgres --
}

postgres_cluster_start() {
  local bin
  bin="$(postgres_cluster_bin)" || { echo "postgres-cluster: no initdb found (install postgresql)" >&2; return 1; }
  PG_CLUSTER_DIR="$(mktemp -d /tmp/lstore-pg.XXXXXX)"
  local run=()
  mapfile -t run < <(postgres_cluster_as)
  [[ $(id -u) -ne 0 ]] || chown postgres "$PG_CLUSTER_DIR"
  printf 'lstore\n' >"$PG_CLUSTER_DIR/pw"
  chmod 644 "$PG_CLUSTER_DIR/pw"
  "${run[@]}" "$bin/initdb" -D "$PG_CLUSTER_DIR/data" -U postgres --auth=scram-sha-256 --pwfile="$PG_CLUSTER_DIR/pw" \
    -E UTF8 --locale=C.UTF-8 >"$PG_CLUSTER_DIR/initdb.log" 2>&1 \
    || { cat "$PG_CLUSTER_DIR/initdb.log" >&2; return 1; }
  # A free port: one nothing answers on; if another process takes it first, the server
  # fails to bind and the next candidate is tried.
  local attempt started=0
  for attempt in 1 2 3 4 5; do
    PG_PORT=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null && continue
    if postgres_cluster_resume; then
      started=1
      break
    fi
  done
  ((started)) || { cat "$PG_CLUSTER_DIR/server.log" >&2; return 1; }
  PGPASSWORD=lstore "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE lstore LOGIN PASSWORD 'lstore' CREATEDB" -c "CREATE DATABASE lstore OWNER lstore" >/dev/null
  export PG_CLUSTER_DIR PG_PORT
  export LSTORE_TEST_POSTGRES_URL="postgres://lstore:lstore@127.0.0.1:$PG_PORT/lstore?sslmode=disable"
  # Superuser access, for tests that make extra databases or stop the server.
  export LSTORE_TEST_POSTGRES_ADMIN_URL="postgres://postgres:lstore@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  export LSTORE_TEST_POSTGRES_BIN="$bin"
}

postgres_cluster_stop() {
  [[ -n "${PG_CLUSTER_DIR:-}" && -d "$PG_CLUSTER_DIR" ]] || return 0
  local bin run=()
  bin="$(postgres_cluster_bin)" || true
  mapfile -t run < <(postgres_cluster_as)
  "${run[@]}" "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_CLUSTER_DIR"
}

# Starts the server of $PG_CLUSTER_DIR on $PG_PORT (postgres_cluster_start's, or again after
# a `pg_ctl stop`).
postgres_cluster_resume() {
  local bin run=()
  bin="$(postgres_cluster_bin)" || return 1
  mapfile -t run < <(postgres_cluster_as)
  # Small and quick: loopback only, no unix socket in a shared directory, fsync kept (an
  # acknowledged push is durable: the tests check it across SIGKILL of a node, not of the
  # database, but the cost is measured as users would pay it).
  # In a subshell without the caller's descriptors above 2: the server would keep them
  # open for its whole life, and a caller waiting for one to close (Foundation's Process,
  # as the end-to-end tests run this, waits for a socket its child inherits) would hang.
  (
    postgres_cluster_close_fds
    "${run[@]}" "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -l "$PG_CLUSTER_DIR/server.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_CLUSTER_DIR -c max_connections=200 -c shared_buffers=64MB" \
      start </dev/null >/dev/null
  )
}

# Closes this shell's descriptors above 2 (call it in a subshell).
postgres_cluster_close_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# A database restart as nodes see it: every session cut (`pg_ctl stop -m fast`), then the
# server back on the same port. Output goes to the cluster's log, so a caller waiting on
# its own pipes never waits for the server.
postgres_cluster_restart() {
  [[ -n "${PG_CLUSTER_DIR:-}" && -d "$PG_CLUSTER_DIR" ]] || { echo "postgres-cluster: no cluster (PG_CLUSTER_DIR)" >&2; return 1; }
  local bin run=()
  bin="$(postgres_cluster_bin)" || return 1
  mapfile -t run < <(postgres_cluster_as)
  "${run[@]}" "$bin/pg_ctl" -D "$PG_CLUSTER_DIR/data" -m fast -w -t 60 stop </dev/null >/dev/null 2>>"$PG_CLUSTER_DIR/server.log" \
    && postgres_cluster_resume </dev/null 2>>"$PG_CLUSTER_DIR/server.log"
}
