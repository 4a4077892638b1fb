#!/usr/bin/env bash
# lstore benchmarks: one command, figures and ratios measured in one run.
#
#   bash benchmarks/run.sh [N]        N events (default 1000000)
#
# Environment: REPS (repetitions per measurement, default 3; the median is reported),
# PENDING=0 to skip the all-pending (changeset) variant of the TodoMVC-mix set,
# MIXED=0 to skip the TodoMVC-mix set (only the half-created/half-completed set of issue 10),
# PULL=0 to skip the pulls into a store with pending events (PULL_PENDING of them, default
# 100000, rebased over 1000 pulled events from a local `lstore serve`; then N of them, with
# --json, for the peak memory),
# KEEP=1 to keep the stores,
# LSTORE=/path/to/lstore to measure another binary (no build; e.g. an older commit's).
# What each row measures is described in docs/benchmarks.md.
set -euo pipefail

N=${1:-1000000}
REPS=${REPS:-3}
PENDING=${PENDING:-1}
MIXED=${MIXED:-1}
PULL=${PULL:-1}
PULL_PENDING=${PULL_PENDING:-100000}
[ "$PULL_PENDING" -le "$N" ] || PULL_PENDING=$N
PULL_REMOTE=1000
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=$ROOT/bench-data
WORK=$DATA/work-$N
SCHEMA=$ROOT/examples/todomvc/schema.yaml
SQLITE3=${SQLITE3:-/usr/bin/sqlite3}
GNU_TIME=/usr/bin/time
mkdir -p "$DATA"

say() { printf '== %s\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------------------
if ! [ -x "$GNU_TIME" ]; then
  say "installing GNU time (Debian package 'time')"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
if ! [ -x "$SQLITE3" ]; then
  say "installing the sqlite3 CLI (Debian package 'sqlite3')"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi

# --- build -----------------------------------------------------------------------------
if [ -n "${LSTORE:-}" ]; then
  say "using the lstore binary $LSTORE (LSTORE is set: no build)"
else
  say "building lstore (release, scratch path .build-release)"
  (cd "$ROOT" && swift build -c release --scratch-path .build-release --product lstore >&2)
  LSTORE=$ROOT/.build-release/release/lstore
fi

# --- data set --------------------------------------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK"
# The schema hashes and the state DDL come from a store lstore itself creates.
(cd "$WORK" && mkdir probe && cd probe && "$LSTORE" -q init --schema "$SCHEMA" --store-id probe >/dev/null)
PROBE_STATE=$(ls "$WORK"/probe/.lstore/branches/main/state*.db)
"$SQLITE3" -json "$PROBE_STATE" "SELECT eventName, schemaHash FROM __livestore_schema_event_defs" \
  | python3 -c 'import json,sys; print(json.dumps({r["eventName"]: r["schemaHash"] for r in json.load(sys.stdin)}, sort_keys=True))' \
  > "$WORK/hashes.json"
{ echo "PRAGMA page_size=8192;"; "$SQLITE3" "$PROBE_STATE" .schema | grep -v 'lstore_state'; } > "$WORK/ddl.sql"

SET=$DATA/todomvc-$N
STAMP=$(cat "$ROOT/benchmarks/gen_todomvc.py" "$WORK/hashes.json" | sha256sum | cut -c1-16)
if [ "$(cat "$SET/stamp" 2>/dev/null)" != "$STAMP" ]; then
  say "generating $N TodoMVC events into $SET"
  rm -rf "$SET"
  python3 "$ROOT/benchmarks/gen_todomvc.py" "$N" "$SET" "$WORK/hashes.json" --store-id bench-todos >&2
  echo "$STAMP" > "$SET/stamp"
else
  say "reusing the data set in $SET"
fi
EXPORT_IN=$SET/events.ndjson.gz
REF_SQL=$SET/reference.sql

# The case users run (issue 10): N events, half v1.TodoCreated, half v1.TodoCompleted.
HSET=$DATA/todomvc-half-$N
if [ "$(cat "$HSET/stamp" 2>/dev/null)" != "$STAMP" ]; then
  say "generating $N half-created/half-completed TodoMVC events into $HSET"
  rm -rf "$HSET"
  python3 "$ROOT/benchmarks/gen_todomvc.py" "$N" "$HSET" "$WORK/hashes.json" --store-id bench-half --mix half >&2
  echo "$STAMP" > "$HSET/stamp"
else
  say "reusing the data set in $HSET"
fi

# --- measuring -------------------------------------------------------------------------
RESULTS=$WORK/results.tsv
: > "$RESULTS"
TIMEOUT=$WORK/time.out

# timed ARGS…: GNU time, after the previous rows' dirty pages are on disk (a row must not
# wait for the last one's writeback: a commit right after the C floor and the reference,
# which leave ~200 MB to write back, measured 9.0 s instead of 6.0).
timed() { sync; "$GNU_TIME" "$@"; }

# measure NAME STDIN STDOUT -- command…   (STDIN/STDOUT: a path, or - for none / a pipe to cat)
# Times only the command with GNU time -v (wall clock and max RSS); its stdout goes to a
# file, to /dev/null, or through a pipe into cat when STDOUT is "pipe".
record() {
  local name=$1
  python3 - "$TIMEOUT" "$name" >> "$RESULTS" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
wall = (int(m.group(1) or 0) * 3600) + int(m.group(2)) * 60 + float(m.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
status = re.search(r"Exit status: (\d+)", text)
if status and status.group(1) != "0":
    sys.exit(f"{sys.argv[2]} failed (exit {status.group(1)})")
print(f"{sys.argv[2]}\t{wall:.3f}\t{rss}\t{cpu:.2f}")
EOF
}

run_reference() {  # run_reference [SQL DB NAME]
  local sql=${1:-$REF_SQL} db=${2:-$WORK/ref.db} name=${3:-sqlite3}
  rm -f "$db"
  "$SQLITE3" "$db" < "$WORK/ddl.sql"
  # Same storage settings lstore's rebuild uses (Rematerializer.swift): no journal, no sync.
  timed -v -o "$TIMEOUT" "$SQLITE3" -cmd "PRAGMA journal_mode=OFF" -cmd "PRAGMA synchronous=OFF" \
    -cmd "PRAGMA cache_size=-32768" "$db" < "$sql" > /dev/null
  record "$name"
}

new_store() {  # new_store DIR STORE_ID
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && "$LSTORE" -q init --schema "$SCHEMA" --store-id "$2" >/dev/null)
}

STORE=$WORK/store
run_import() {
  new_store "$STORE" bench-todos
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" import "$EXPORT_IN" > /dev/null
  record import
}
run_materialize() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" materialize > /dev/null
  record materialize
}
# replay: the same rebuild with a report (per event name, rows per table), into a scratch
# state; with --against, plus the per-table comparison with the state materialize built.
run_replay() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" replay --json > "$WORK/replay.json"
  record replay
}
run_replay_against() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" replay --json \
    --against "$(ls "$STORE"/.lstore/branches/main/state*.db)" > "$WORK/replay-against.json"
  record replay-against
}
# diff: the state halfway through the eventlog against the head, every table (two
# replays from scratch, then the per-table comparison by primary key).
run_diff() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" diff "e$((N / 2))" HEAD --json > "$WORK/diff.json"
  record diff
}
run_export() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" export -o "$WORK/out.ndjson"
  record export
}
run_export_gzip() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" export --gzip -o "$WORK/out.ndjson.gz"
  record export-gzip
}
run_log() {
  timed -v -o "$TIMEOUT" "$LSTORE" -C "$STORE" log --oneline | cat > /dev/null
  record log-oneline
}
run_log_events() {
  timed -v -o "$TIMEOUT" "$LSTORE" -C "$STORE" log --oneline --events | cat > /dev/null
  record log-oneline-events
}
PSTORE=$WORK/store-pending
run_import_pending() {
  # Another storeId: the export's backend head does not apply, so every event is pending
  # and gets a session changeset, as in a store that never pushed.
  new_store "$PSTORE" bench-todos-fork
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$PSTORE" import "$EXPORT_IN" > /dev/null
  record import-pending
}
run_materialize_pending() {
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$PSTORE" materialize > /dev/null
  record materialize-pending
}

# The half set: every row in the confirmed and the all-pending variant.
HSTORE=$WORK/half-confirmed
HPSTORE=$WORK/half-pending
HCSTORE=$WORK/half-commit
# The floor under a pending commit: the same rows written by C (benchmarks/write_floor.c),
# when a C compiler and SQLite's header are here.
FLOOR=""
if command -v cc >/dev/null && echo '#include <sqlite3.h>' | cc -E - >/dev/null 2>&1; then
  FLOOR=$WORK/write_floor
  cc -O2 -o "$FLOOR" "$ROOT/benchmarks/write_floor.c" -lsqlite3
else
  say "no C compiler or no sqlite3.h (Debian package 'libsqlite3-dev'): the C floor row is skipped"
fi
FLOORSTORE=$WORK/half-floor
run_floor() {
  [ -n "$FLOOR" ] || return 0
  new_store "$FLOORSTORE" bench-half-floor
  timed -v -o "$TIMEOUT" "$FLOOR" "$(ls "$FLOORSTORE"/.lstore/branches/main/state*.db)" \
    "$FLOORSTORE/.lstore/branches/main/eventlog@4.db" "$N" > /dev/null
  record h-floor
}

run_half() {
  run_reference "$HSET/reference.sql" "$WORK/half-ref.db" h-sqlite3
  run_floor
  # commit --file: local events are pending until pushed, so every one gets a changeset.
  new_store "$HCSTORE" bench-half-commit
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$HCSTORE" commit -m bulk --file "$HSET/commit.ndjson" > /dev/null
  record h-commit
  # import into the export's storeId: the header's backend head confirms every event.
  new_store "$HSTORE" bench-half
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$HSTORE" import "$HSET/events.ndjson.gz" > /dev/null
  record h-import
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$HSTORE" materialize > /dev/null
  record h-materialize
  # import into another storeId: nothing is confirmed, every event is pending.
  new_store "$HPSTORE" bench-half-fork
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$HPSTORE" import "$HSET/events.ndjson.gz" > /dev/null
  record h-import-pending
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$HPSTORE" materialize > /dev/null
  record h-materialize-pending
}

# pull into a store with PULL_PENDING pending events (the first lines of the half set's
# commit input, committed locally and not pushed) from a backend that another client
# pushed PULL_REMOTE events to: the pending events diverge at the first pulled one, so the
# pull rolls all of them back, applies the pulled events and replays the pending ones
# after them (LiveStore's rebase), in one transaction.
# rebase of a branch whose one commit holds N pending events onto main, which gained
# PULL_REMOTE events since the branch was made: every event is checked for conflicts and
# replayed in one step (the memory must stay flat in the events of a step).
REBASESTORE=$WORK/rebase-local
run_rebase_pending() {
  local gen='import sys
for i in range(int(sys.argv[1])): print("{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"%s-%d\",\"text\":\"x\"}}" % (sys.argv[2], i))'
  rm -rf "$REBASESTORE"; mkdir -p "$REBASESTORE"
  (cd "$REBASESTORE" && "$LSTORE" -q init --schema "$SCHEMA" --store-id bench-rebase >/dev/null \
    && python3 -c "$gen" "$PULL_REMOTE" base | "$LSTORE" -q commit -m base >/dev/null \
    && "$LSTORE" -q branch feature >/dev/null && "$LSTORE" -q switch feature >/dev/null \
    && "$LSTORE" -q commit -m big --file "$HSET/commit.ndjson" >/dev/null \
    && "$LSTORE" -q switch main >/dev/null && python3 -c "$gen" "$PULL_REMOTE" main | "$LSTORE" -q commit -m more >/dev/null \
    && "$LSTORE" -q switch feature >/dev/null)
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$REBASESTORE" rebase main > /dev/null
  record h-rebase-n
  local log=$REBASESTORE/.lstore/branches/feature/eventlog@4.db
  [ "$("$SQLITE3" "$log" "SELECT count(*) FROM eventlog")" = $((2 * PULL_REMOTE + N)) ] \
    || { echo "FAIL: the rebased branch does not hold main's events and its own" >&2; exit 1; }
  "$LSTORE" -q -C "$REBASESTORE" fsck > /dev/null || { echo "FAIL: fsck of the rebased store" >&2; exit 1; }
}

PULL_SERVER_PID=""
stop_pull_server() {
  if [ -n "$PULL_SERVER_PID" ] && kill -0 "$PULL_SERVER_PID" 2>/dev/null; then
    kill "$PULL_SERVER_PID"; wait "$PULL_SERVER_PID" 2>/dev/null || true
  fi
  PULL_SERVER_PID=""
}
trap stop_pull_server EXIT
PULLSTORE=$WORK/pull-local
run_pull_pending() {  # run_pull_pending PENDING KEY [pull options]: the pull's report goes to $WORK/pull.out
  local pending=$1 key=$2 data=$WORK/pull-serve other=$WORK/pull-other port=""
  shift 2
  rm -rf "$data" "$other" "$PULLSTORE"; mkdir -p "$data"
  "$LSTORE" serve --port 0 --data "$data" 2> "$data.log" &
  PULL_SERVER_PID=$!
  for _ in $(seq 1 400); do  # until it reports its port (or exits)
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$data.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$PULL_SERVER_PID" 2>/dev/null || { cat "$data.log" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$port" ] || { echo "lstore serve did not report its port" >&2; exit 1; }
  mkdir -p "$other" "$PULLSTORE"
  (cd "$other" && "$LSTORE" -q init --schema "$SCHEMA" --store-id bench-pull --client-id other >/dev/null \
    && python3 -c 'import sys
for i in range(int(sys.argv[1])): print("{\"name\":\"v1.TodoCreated\",\"args\":{\"id\":\"remote-%d\",\"text\":\"from the other client\"}}" % i)' "$PULL_REMOTE" \
      | "$LSTORE" -q commit -m remote >/dev/null \
    && "$LSTORE" -q remote add origin "ws://127.0.0.1:$port" >/dev/null && "$LSTORE" -q push >/dev/null)
  (cd "$PULLSTORE" && "$LSTORE" -q init --schema "$SCHEMA" --store-id bench-pull --client-id local >/dev/null \
    && head -n "$pending" "$HSET/commit.ndjson" | "$LSTORE" -q commit -m local >/dev/null \
    && "$LSTORE" -q remote add origin "ws://127.0.0.1:$port" >/dev/null)
  timed -v -o "$TIMEOUT" "$LSTORE" -q -C "$PULLSTORE" pull "$@" > "$WORK/pull.out"
  record "$key"
  stop_pull_server
}
check_pull() {  # check_pull PENDING: the pull store holds the pulled events, then the pending ones rebased
  local pending=$1 state log
  state=$(ls "$PULLSTORE"/.lstore/branches/main/state*.db)
  log=$PULLSTORE/.lstore/branches/main/eventlog@4.db
  [ "$("$SQLITE3" "$log" "SELECT count(*) FROM eventlog")" = $((PULL_REMOTE + pending)) ] \
    || { echo "FAIL: the pull store does not hold the pulled and the pending events" >&2; exit 1; }
  [ "$("$SQLITE3" "$log" "SELECT min(seqNumGlobal) FROM eventlog WHERE clientId = 'local'")" = $((PULL_REMOTE + 1)) ] \
    || { echo "FAIL: the pending events were not rebased after the pulled ones" >&2; exit 1; }
  [ "$(changesets "$state")" = "$pending" ] \
    || { echo "FAIL: expected $pending changesets (the rebased pending events) in the pull store" >&2; exit 1; }
  "$LSTORE" -q -C "$PULLSTORE" fsck > /dev/null || { echo "FAIL: fsck of the pull store" >&2; exit 1; }
}

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
  say "repetition $rep of $REPS"
  if [ "$MIXED" = 1 ]; then
    run_reference
    run_import
    run_materialize
    run_replay
    run_replay_against
    run_diff
    run_export
    run_export_gzip
    run_log
    run_log_events
  fi
  run_half
done

# --- checks (not timed) ------------------------------------------------------------------
say "checking results"
same_table() {  # same_table REF_DB STATE_DB TABLE WHAT
  local a b
  a=$("$SQLITE3" "$1" "SELECT * FROM $3 ORDER BY id" | sha256sum)
  b=$("$SQLITE3" "$2" "SELECT * FROM $3 ORDER BY id" | sha256sum)
  [ "$a" = "$b" ] || { echo "FAIL: table $3 differs between $4 and the sqlite3 reference" >&2; exit 1; }
}
changesets() {  # changesets STATE_DB: rows with a changeset blob
  "$SQLITE3" "$1" "SELECT count(*) FROM __livestore_session_changeset WHERE changeset IS NOT NULL"
}
if [ "$MIXED" = 1 ]; then
  STATE=$(ls "$STORE"/.lstore/branches/main/state*.db)
  for table in todos uiState; do same_table "$WORK/ref.db" "$STATE" "$table" "lstore's state"; done
  # replay (exit 0 already checked by record): every event applied, the state equal to materialize's.
  python3 - "$WORK/replay.json" "$WORK/replay-against.json" "$N" <<'EOF'
import json, sys
n = int(sys.argv[3])
for path in sys.argv[1:3]:
    report = json.load(open(path))
    if report["outcome"] != "clean" or report["events"] != n or report["applied"] != n:
        sys.exit(f"FAIL: {path}: outcome {report['outcome']}, {report['applied']} of {report['events']} events applied (expected {n})")
against = json.load(open(sys.argv[2]))["against"]
if against is None or against["differs"]:
    sys.exit("FAIL: replay --against: the replayed state differs from materialize's")
EOF
  cmp -s <(gzip -dc "$EXPORT_IN" | tail -n +2) <(tail -n +2 "$WORK/out.ndjson") \
    || { echo "FAIL: export is not byte-identical to the imported file (apart from the header)" >&2; exit 1; }
  cmp -s <(gzip -dc "$WORK/out.ndjson.gz" | tail -n +2) <(tail -n +2 "$WORK/out.ndjson") \
    || { echo "FAIL: export --gzip differs from export" >&2; exit 1; }
fi
for store in "$HSTORE" "$HPSTORE" "$HCSTORE"; do
  same_table "$WORK/half-ref.db" "$(ls "$store"/.lstore/branches/main/state*.db)" todos "the state of $(basename "$store")"
done
[ "$(changesets "$(ls "$HSTORE"/.lstore/branches/main/state*.db)")" = 0 ] \
  || { echo "FAIL: the confirmed half store holds changesets" >&2; exit 1; }
for store in "$HPSTORE" "$HCSTORE"; do
  n=$(changesets "$(ls "$store"/.lstore/branches/main/state*.db)")
  [ "$n" = "$N" ] || { echo "FAIL: expected $N changesets in $(basename "$store"), found $n" >&2; exit 1; }
done

if [ "$PULL" = 1 ]; then
  say "pull of $PULL_REMOTE events into a store with $PULL_PENDING pending events (one repetition)"
  run_pull_pending "$PULL_PENDING" h-pull-pending
  check_pull "$PULL_PENDING"
  if [ "$N" -gt "$PULL_PENDING" ]; then
    # Memory flat in the pending events: the same pull into N of them, reporting with --json
    # (every renumbered pair), the largest report a pull writes.
    say "pull of $PULL_REMOTE events into a store with $N pending events, --json (one repetition)"
    run_pull_pending "$N" h-pull-pending-n --json
    check_pull "$N"
    python3 -c 'import json, sys
report = json.load(open(sys.argv[1]))
sys.exit(0 if len(report["renumbered"]) == report["rebased"] == int(sys.argv[2]) else "FAIL: pull --json does not list every renumbered event")' \
      "$WORK/pull.out" "$N"
  fi
  say "rebase of a commit of $N pending events over $PULL_REMOTE events (one repetition)"
  run_rebase_pending
fi

if [ "$PENDING" = 1 ] && [ "$MIXED" = 1 ]; then
  say "all-pending variant (one repetition)"
  run_import_pending
  run_materialize_pending
  n=$("$SQLITE3" "$(ls "$PSTORE"/.lstore/branches/main/state*.db)" "SELECT count(*) FROM __livestore_session_changeset")
  [ "$n" = "$N" ] || { echo "FAIL: expected $N changeset rows in the pending store, found $n" >&2; exit 1; }
fi

# --- report ------------------------------------------------------------------------------
python3 - "$RESULTS" "$N" "$SET/dataset.json" "$HSET/dataset.json" "$LOAD_BEFORE" "$PULL_PENDING" "$PULL_REMOTE" > "$WORK/report.md" <<'EOF'
import json, os, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss, cpu = line.split("\t")
    rows.setdefault(name, []).append((float(wall), int(rss), float(cpu)))
n = int(sys.argv[2])
med = {k: statistics.median(w for w, _, _ in v) for k, v in rows.items()}
cpu = {k: statistics.median(c for _, _, c in v) for k, v in rows.items()}
rss = {k: max(r for _, r, _ in v) / 1024 for k, v in rows.items()}
MB = 100
runs = max(len(v) for v in rows.values())
load = open('/proc/loadavg').read().split()[0]
print(f"median of {runs} runs (all-pending rows of the TodoMVC mix: 1 run), max RSS over runs; "
      f"load average before/after the runs: {sys.argv[5]} / {load} (2 cores: above 2, wall times include waiting for a CPU)")
print()

def table(ref, spec):
    """spec: (key, label, bar text, check on (events/s, ratio) or None, RSS bar applies)."""
    print("| benchmark | median s | events/s | ratio vs sqlite3 | CPU s (user+sys) | CPU ratio | max RSS MB | bar | met |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for key, label, bar, check, rss_bar in spec:
        if key not in med:
            continue
        ratio = med[key] / med[ref]
        ok = [] if check is None else [check(n / med[key], ratio)]
        if rss_bar:
            ok.append(rss[key] < MB)
            bar = (bar + "; " if bar else "") + f"RSS < {MB} MB"
        met = "" if not ok else ("yes" if all(ok) else "**NO**")
        print(f"| {label} | {med[key]:.2f} | {n / med[key]:,.0f} | {ratio:.2f} | {cpu[key]:.2f} | {cpu[key] / cpu[ref]:.2f} | "
              f"{rss[key]:.0f} | {bar or '(reported)'} | {met} |")
    print()

if os.path.exists(sys.argv[4]) and "h-sqlite3" in med:
    hs = json.load(open(sys.argv[4]))
    print(f"### Half v1.TodoCreated, half v1.TodoCompleted (issue 10): N = {n:,} events ({hs['commits']:,} commits in the export, "
          f"{hs['todos']:,} todos, mix {json.dumps(hs['mix'], sort_keys=True)})")
    print()
    table("h-sqlite3", [
        ("h-sqlite3", "sqlite3 CLI: equivalent SQL, one transaction", "reference", None, False),
        ("h-floor", "C floor: a pending commit's rows written by C, 32 to a statement (benchmarks/write_floor.c)", "", None, False),
        ("h-commit", "commit -m bulk --file (all pending: a changeset per event)", "≥ 250,000 ev/s", lambda eps, r: eps >= 250_000, True),
        ("h-import", "import, confirmed (backend head covers every event)", "≥ 300,000 ev/s", lambda eps, r: eps >= 300_000, True),
        ("h-import-pending", "import, all pending (a changeset per event)", "≥ 250,000 ev/s", lambda eps, r: eps >= 250_000, True),
        ("h-materialize", "materialize, confirmed", "ratio ≤ 0.40", lambda eps, r: r <= 0.40, True),
        ("h-materialize-pending", "materialize, all pending (a changeset per event)", "ratio ≤ 1.00", lambda eps, r: r <= 1.0, True),
    ])
    if "h-floor" in med and "h-commit" in med:
        print(f"The C floor writes {n / med['h-floor']:,.0f} events/s; commit --file takes {med['h-commit'] / med['h-floor']:.2f}× its time "
              f"({cpu['h-commit'] / cpu['h-floor']:.2f}× its CPU), import all pending {med.get('h-import-pending', 0) / med['h-floor']:.2f}×.")
        print()

if "h-pull-pending" in med:
    pending, remote = int(sys.argv[6]), int(sys.argv[7])
    print(f"### Pending events replayed: pull of {remote:,} events into {pending:,} pending ones (every pending event rolled back and replayed), the same into {n:,}, and a rebase")
    print()
    print("| benchmark | s | pending events replayed/s | CPU s (user+sys) | max RSS MB | bar | met |")
    print("|---|---:|---:|---:|---:|---|---|")
    key = "h-pull-pending"
    print(f"| lstore pull | {med[key]:.2f} | {pending / med[key]:,.0f} | {cpu[key]:.2f} | {rss[key]:.0f} | RSS < {MB} MB | "
          f"{'yes' if rss[key] < MB else '**NO**'} |")
    key = "h-rebase-n"
    if key in med:
        print(f"| lstore rebase: one commit of {n:,} pending events onto {remote:,} new ones (conflicts checked) | {med[key]:.2f} | {n / med[key]:,.0f} | {cpu[key]:.2f} | {rss[key]:.0f} | RSS < {MB} MB | "
              f"{'yes' if rss[key] < MB else '**NO**'} |")
    key = "h-pull-pending-n"
    if key in med:
        print(f"| lstore pull --json, {n:,} pending events (memory flat in them) | {med[key]:.2f} | {n / med[key]:,.0f} | {cpu[key]:.2f} | {rss[key]:.0f} | RSS < {MB} MB | "
              f"{'yes' if rss[key] < MB else '**NO**'} |")
    print()

if "sqlite3" in med:
    ds = json.load(open(sys.argv[3]))
    print(f"### TodoMVC mix: N = {n:,} events ({ds['commits']:,} commits, {ds['todos']:,} todos, mix {json.dumps(ds['mix'], sort_keys=True)})")
    print()
    table("sqlite3", [
        ("sqlite3", "sqlite3 CLI: equivalent SQL, one transaction", "reference", None, False),
        ("materialize", "lstore materialize (from scratch)", "ratio ≤ 1.00", lambda eps, r: r <= 1.0, True),
        ("replay", "lstore replay (same schema: scratch state and report)",
         f"time ≤ 1.2 × materialize ({med.get('replay', 0) / med['materialize']:.2f}×)" if "materialize" in med else "time ≤ 1.2 × materialize",
         lambda eps, r: med["replay"] <= 1.2 * med["materialize"], True),
        ("replay-against", "lstore replay --against the materialized state", "", None, True),
        ("diff", "lstore diff e(N/2) HEAD --json (two replays and a comparison)", "", None, True),
        ("import", "lstore import (gzip NDJSON)", "≥ 200,000 ev/s", lambda eps, r: eps >= 200_000, True),
        ("export", "lstore export -o file", "≥ 500,000 ev/s", lambda eps, r: eps >= 500_000, True),
        ("export-gzip", "lstore export --gzip -o file", "", None, False),
        ("log-oneline", "lstore log --oneline \\| cat", "< 2 s", lambda eps, r: n / eps < 2.0, True),
        ("log-oneline-events", "lstore log --oneline --events \\| cat", "< 2 s", lambda eps, r: n / eps < 2.0, True),
        ("import-pending", "import, every event pending (changesets)", "", None, True),
        ("materialize-pending", "materialize, every event pending (changesets)", "", None, True),
    ])
EOF
cat "$WORK/report.md"
cp "$WORK/report.md" "$DATA/report-$N.md"
if [ "${KEEP:-0}" != 1 ]; then
  rm -rf "$STORE" "$PSTORE" "$HSTORE" "$HPSTORE" "$HCSTORE" "$FLOORSTORE" "$PULLSTORE" "$REBASESTORE" "$WORK/pull-other" "$WORK/pull-serve" "$WORK/pull.out" "$WORK/out.ndjson" "$WORK/out.ndjson.gz" "$WORK/diff.json" "$WORK/ref.db" "$WORK/half-ref.db" \
    "$WORK/replay.json" "$WORK/replay-against.json"
fi
