#!/usr/bin/env bash
# Sync throughput through a local `lstore serve`, in one command:
#
#   benchmarks/sync.sh [N]          (default N = 1000000)
#
# Builds lstore in release (own scratch path), creates N TodoCreated events in a store with
# one `lstore commit --file`, then against a fresh `lstore serve --port 0`:
#   - push of the N events (WebSocket, pipelined PushReqs of 100, server group commit);
#   - pull of the N events into a fresh empty store (materialized);
#   - the same over LiveStore 0.4's protocol (format-6 stores, Effect RPC): push and pull over
#     WebSocket (pipelined pushes of 100; pages of 100 with an Ack each), and pull over HTTP
#     (one POST answered with every page); PUSH04_HTTP=1 adds a push over HTTP (one POST per
#     100 events);
#   - the server's peak RSS (VmHWM) after each, for N/10 and for N on separate servers, to
#     show it does not grow with the number of events.
# The reference measured in the same run: `lstore import` of an export of the same events
# into a fresh store (the local way to append and materialize them).
# Beside the SQLite default, the same push and pull with `lstore serve --database` on a
# throwaway PostgreSQL cluster (scripts/postgres-cluster.sh): 1 node (push to it, pull from
# it) and 2 nodes (push to node 1, pull from node 2), with each node's peak RSS.
#
# Set LSTORE_BIN to benchmark an already built binary (skips the build); a debug binary and
# a small N check the script quickly: LSTORE_BIN=.build/debug/lstore benchmarks/sync.sh 2000
# POSTGRES=0 skips the PostgreSQL rows (they need PostgreSQL's server binaries installed).
set -euo pipefail

N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [[ -z "${LSTORE_BIN:-}" ]]; then
  swift build -c release --scratch-path .build-release-sync --product lstore >&2
  LSTORE_BIN="$ROOT/.build-release-sync/release/lstore"
fi
BIN=$LSTORE_BIN
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lstore-sync-bench.XXXXXX")
SERVER_PID=""
NODE_PIDS=()
POSTGRES=${POSTGRES:-1}
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  for pid in "${NODE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if declare -F postgres_cluster_stop >/dev/null; then postgres_cluster_stop; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[2]); print(f'{n / s:,.0f}')" "$1" "$2"; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

# N TodoCreated events, one NDJSON line each.
gen() {
  python3 - "$1" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write('{"name":"v1.TodoCreated","args":{"id":"todo-%08d","text":"Buy item number %d"}}\n' % (i, i))
EOF
}

init_store() { # dir client [format]
  "$BIN" init --schema "$ROOT/examples/todomvc/schema.yaml" --store-id bench --client-id "$2" --session-id s1 \
    --format "${3:-4}" "$1" >/dev/null
}

start_server() { # data dir [more serve options]
  local dir=$1; shift
  # The log exists before the first look at it (the server's own redirect may come later).
  : >"$dir.log"
  "$BIN" serve --port 0 --data "$dir" "$@" 2>"$dir.log" &
  SERVER_PID=$!
  local port=""
  for _ in $(seq 1 400); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir.log" | head -1)
    [[ -n "$port" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "lstore serve did not report its port" >&2; exit 1; }
  PORT=$port
}

hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

# One round: push n events from a store to a fresh server, pull them into an empty store.
# Sets PUSH_S, PULL_S, HWM_PUSH, HWM_PULL.
round() { # n tag
  local n=$1 tag=$2
  local src="$WORK/$tag-src" dst="$WORK/$tag-dst"
  init_store "$src" pusher
  gen "$n" > "$WORK/$tag.ndjson"
  local t0 t1
  t0=$(now); "$BIN" -C "$src" commit -m "bench" --file "$WORK/$tag.ndjson" >/dev/null; t1=$(now)
  COMMIT_S=$(secs "$t0" "$t1")
  mkdir -p "$WORK/$tag-backend"
  start_server "$WORK/$tag-backend"
  local url="ws://127.0.0.1:$PORT"
  t0=$(now); "$BIN" -C "$src" push "$url" --protocol livestore-0.3 --quiet >/dev/null; t1=$(now)
  PUSH_S=$(secs "$t0" "$t1")
  HWM_PUSH=$(hwm_kb "$SERVER_PID")
  init_store "$dst" puller
  t0=$(now); "$BIN" -C "$dst" pull "$url" --protocol livestore-0.3 --quiet >/dev/null; t1=$(now)
  PULL_S=$(secs "$t0" "$t1")
  HWM_PULL=$(hwm_kb "$SERVER_PID")
  stop_server
  # Check: the pulled store has the n events, materialized.
  local rows
  rows=$(sqlite3 "$(ls "$dst"/.lstore/branches/*/state*.db 2>/dev/null | head -1 || true)" "SELECT COUNT(*) FROM todos" 2>/dev/null || echo "?")
  PULLED_ROWS=$rows
  # Reference: export the source, import into a fresh store.
  "$BIN" -C "$src" export --output "$WORK/$tag.export.ndjson" >/dev/null 2>&1
  init_store "$WORK/$tag-imp" importer
  t0=$(now); "$BIN" -C "$WORK/$tag-imp" import "$WORK/$tag.export.ndjson" >/dev/null; t1=$(now)
  IMPORT_S=$(secs "$t0" "$t1")
}

rows_of() { # store dir
  sqlite3 "$(ls "$1"/.lstore/branches/*/state*.db 2>/dev/null | head -1 || true)" "SELECT COUNT(*) FROM todos" 2>/dev/null || echo "?"
}

# The same events over LiveStore 0.4's protocol, between format-6 stores, on a fresh server.
# Sets PUSH04_S, PULL04_S, PULL04H_S (and PUSH04H_S with PUSH04_HTTP=1), ROWS04, ROWS04H.
round04() { # n tag (the tag's NDJSON from `round`)
  local n=$1 tag=$2
  local src="$WORK/$tag-src6" dst="$WORK/$tag-dst6" dsth="$WORK/$tag-dst6h"
  init_store "$src" pusher 6
  "$BIN" -C "$src" commit -m "bench" --file "$WORK/$tag.ndjson" >/dev/null
  mkdir -p "$WORK/$tag-backend6"
  start_server "$WORK/$tag-backend6"
  local t0 t1
  t0=$(now); "$BIN" -C "$src" push "ws://127.0.0.1:$PORT" --protocol livestore-0.4 --quiet >/dev/null; t1=$(now)
  PUSH04_S=$(secs "$t0" "$t1")
  init_store "$dst" puller 6
  t0=$(now); "$BIN" -C "$dst" pull "ws://127.0.0.1:$PORT" --protocol livestore-0.4 --quiet >/dev/null; t1=$(now)
  PULL04_S=$(secs "$t0" "$t1")
  init_store "$dsth" puller 6
  t0=$(now); "$BIN" -C "$dsth" pull "http://127.0.0.1:$PORT" --protocol livestore-0.4 --quiet >/dev/null; t1=$(now)
  PULL04H_S=$(secs "$t0" "$t1")
  stop_server
  ROWS04=$(rows_of "$dst")
  ROWS04H=$(rows_of "$dsth")
  PUSH04H_S=""
  if [[ "${PUSH04_HTTP:-0}" == 1 ]]; then
    local srch="$WORK/$tag-src6h"
    init_store "$srch" pusher 6
    "$BIN" -C "$srch" commit -m "bench" --file "$WORK/$tag.ndjson" >/dev/null
    mkdir -p "$WORK/$tag-backend6h"
    start_server "$WORK/$tag-backend6h"
    t0=$(now); "$BIN" -C "$srch" push "http://127.0.0.1:$PORT" --protocol livestore-0.4 --quiet >/dev/null; t1=$(now)
    PUSH04H_S=$(secs "$t0" "$t1")
    stop_server
  fi
}

# PostgreSQL: push n events to node 1, pull them from node `pull_node` (1 or 2) into an empty
# store. Sets PG_PUSH_S, PG_PULL_S, PG_HWM1, PG_HWM2 (KiB; 0 without a second node).
pg_round() { # n tag nodes events-file
  local n=$1 tag=$2 nodes=$3 events=$4
  local src="$WORK/$tag-src" dst="$WORK/$tag-dst" store="bench-$tag-$RANDOM$RANDOM"
  "$BIN" init --schema "$ROOT/examples/todomvc/schema.yaml" --store-id "$store" --client-id pusher --session-id s1 "$src" >/dev/null
  "$BIN" init --schema "$ROOT/examples/todomvc/schema.yaml" --store-id "$store" --client-id puller --session-id s1 "$dst" >/dev/null
  "$BIN" -C "$src" commit -m "bench" --file "$events" >/dev/null
  mkdir -p "$WORK/$tag-node1" "$WORK/$tag-node2"
  start_server "$WORK/$tag-node1" --database "$LSTORE_TEST_POSTGRES_URL"
  local pid1=$SERVER_PID port1=$PORT pid2="" port2=$PORT
  NODE_PIDS+=("$pid1")
  if ((nodes == 2)); then
    start_server "$WORK/$tag-node2" --database "$LSTORE_TEST_POSTGRES_URL"
    pid2=$SERVER_PID port2=$PORT
    NODE_PIDS+=("$pid2")
  fi
  SERVER_PID=""
  local t0 t1
  t0=$(now); "$BIN" -C "$src" push "ws://127.0.0.1:$port1" --quiet >/dev/null; t1=$(now)
  PG_PUSH_S=$(secs "$t0" "$t1")
  t0=$(now); "$BIN" -C "$dst" pull "ws://127.0.0.1:$port2" --quiet >/dev/null; t1=$(now)
  PG_PULL_S=$(secs "$t0" "$t1")
  PG_HWM1=$(hwm_kb "$pid1")
  PG_HWM2=0
  [[ -z "$pid2" ]] || PG_HWM2=$(hwm_kb "$pid2")
  local rows
  rows=$(rows_of "$dst")
  [[ "$rows" == "$n" ]] || { echo "PostgreSQL $tag: pulled $rows todos, expected $n" >&2; exit 1; }
  for pid in $pid1 $pid2; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
  NODE_PIDS=()
}

SMALL=$((N / 10))
echo "lstore sync benchmark: N=$N (and N/10=$SMALL), binary $BIN" >&2
round "$SMALL" small
S_PUSH=$PUSH_S S_PULL=$PULL_S S_HWM_PUSH=$HWM_PUSH S_HWM_PULL=$HWM_PULL
round "$N" full
round04 "$N" full

printf '\n%-44s %10s %14s\n' "measure (N=$N)" "seconds" "events/s"
printf '%-44s %10s %14s\n' "local commit --file (materialized)" "$COMMIT_S" "$(rate "$N" "$COMMIT_S")"
printf '%-44s %10s %14s\n' "reference: local import of an export" "$IMPORT_S" "$(rate "$N" "$IMPORT_S")"
printf '%-44s %10s %14s\n' "push to lstore serve (WebSocket)" "$PUSH_S" "$(rate "$N" "$PUSH_S")"
printf '%-44s %10s %14s\n' "pull into an empty store (materialized)" "$PULL_S" "$(rate "$N" "$PULL_S")"
printf '%-44s %10s %14s\n' "0.4 push to lstore serve (WebSocket)" "$PUSH04_S" "$(rate "$N" "$PUSH04_S")"
[[ -n "$PUSH04H_S" ]] && printf '%-44s %10s %14s\n' "0.4 push to lstore serve (HTTP)" "$PUSH04H_S" "$(rate "$N" "$PUSH04H_S")"
printf '%-44s %10s %14s\n' "0.4 pull into an empty store (WebSocket)" "$PULL04_S" "$(rate "$N" "$PULL04_S")"
printf '%-44s %10s %14s\n' "0.4 pull into an empty store (HTTP)" "$PULL04H_S" "$(rate "$N" "$PULL04H_S")"
python3 - "$PUSH_S" "$PULL_S" "$IMPORT_S" <<'EOF'
import sys
push, pull, imp = map(float, sys.argv[1:])
print(f"ratios: push/import {imp / push:.2f}, pull/import {imp / pull:.2f} (rate relative to the local import)")
EOF
echo "pulled store: todos rows = $PULLED_ROWS (expected $N); 0.4: WebSocket $ROWS04, HTTP $ROWS04H"
[[ "$PULLED_ROWS" == "$N" && "$ROWS04" == "$N" && "$ROWS04H" == "$N" ]] || { echo "FAIL: a pulled store does not hold the $N events" >&2; exit 1; }
printf '\nserver peak RSS (VmHWM)      N/10=%-9s N=%s\n' "$SMALL" "$N"
printf '  after push                 %-11s %s\n' "$((S_HWM_PUSH / 1024)) MiB" "$((HWM_PUSH / 1024)) MiB"
printf '  after pull                 %-11s %s\n' "$((S_HWM_PULL / 1024)) MiB" "$((HWM_PULL / 1024)) MiB"
python3 - "$S_HWM_PULL" "$HWM_PULL" <<'EOF'
import sys
small, big = map(int, sys.argv[1:])
print(f"  peak ratio N / (N/10): {big / small:.2f} (flat ≈ 1)")
EOF
printf '\nN/10 rates: push %s/s, pull %s/s\n' "$(rate "$SMALL" "$S_PUSH")" "$(rate "$SMALL" "$S_PULL")"
if [[ "$POSTGRES" == 1 ]]; then
  # shellcheck source=../scripts/postgres-cluster.sh
  source "$ROOT/scripts/postgres-cluster.sh"
  postgres_cluster_start
  # N/10 first, for the memory comparison (flat: the same peak for 10× the events).
  pg_round "$SMALL" pg1s 1 "$WORK/small.ndjson"
  S_P1_HWM=$PG_HWM1
  pg_round "$SMALL" pg2s 2 "$WORK/small.ndjson"
  S_P2_HWM1=$PG_HWM1 S_P2_HWM2=$PG_HWM2
  pg_round "$N" pg1 1 "$WORK/full.ndjson"
  P1_PUSH=$PG_PUSH_S P1_PULL=$PG_PULL_S P1_HWM=$PG_HWM1
  pg_round "$N" pg2 2 "$WORK/full.ndjson"
  printf '\n%-44s %10s %14s %10s\n' "PostgreSQL (--database), N=$N" "seconds" "events/s" "peak RSS"
  printf '%-44s %10s %14s %10s\n' "SQLite default: push" "$PUSH_S" "$(rate "$N" "$PUSH_S")" "$((HWM_PUSH / 1024)) MiB"
  printf '%-44s %10s %14s %10s\n' "SQLite default: pull" "$PULL_S" "$(rate "$N" "$PULL_S")" "$((HWM_PULL / 1024)) MiB"
  printf '%-44s %10s %14s %10s\n' "1 node: push" "$P1_PUSH" "$(rate "$N" "$P1_PUSH")" ""
  printf '%-44s %10s %14s %10s\n' "1 node: pull" "$P1_PULL" "$(rate "$N" "$P1_PULL")" "$((P1_HWM / 1024)) MiB"
  printf '%-44s %10s %14s %10s\n' "2 nodes: push to node 1" "$PG_PUSH_S" "$(rate "$N" "$PG_PUSH_S")" "$((PG_HWM1 / 1024)) MiB"
  printf '%-44s %10s %14s %10s\n' "2 nodes: pull from node 2" "$PG_PULL_S" "$(rate "$N" "$PG_PULL_S")" "$((PG_HWM2 / 1024)) MiB"
  printf 'PostgreSQL nodes peak RSS, N/10=%s -> N=%s: 1 node %s -> %s MiB; 2 nodes: node 1 %s -> %s, node 2 %s -> %s MiB\n' \
    "$SMALL" "$N" "$((S_P1_HWM / 1024))" "$((P1_HWM / 1024))" "$((S_P2_HWM1 / 1024))" "$((PG_HWM1 / 1024))" \
    "$((S_P2_HWM2 / 1024))" "$((PG_HWM2 / 1024))"
fi
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%d)"
