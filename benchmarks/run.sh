#!/usr/bin/env bash
# lstore benchmarks: one command, figures and ratios measured in one run.
#
#   bash benchmarks/run.sh [N]        N events (default 1000000)
#
# Environment: REPS (repetitions per measurement, default 3; the median is reported),
# PENDING=0 to skip the all-pending (changeset) variant, KEEP=1 to keep the stores,
# LSTORE=/path/to/lstore to measure another binary (no build; e.g. an older commit's).
# What each row measures is described in docs/benchmarks.md.
set -euo pipefail

N=${1:-1000000}
REPS=${REPS:-3}
PENDING=${PENDING:-1}
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

# --- measuring -------------------------------------------------------------------------
RESULTS=$WORK/results.tsv
: > "$RESULTS"
TIMEOUT=$WORK/time.out

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

run_reference() {
  rm -f "$WORK/ref.db"
  "$SQLITE3" "$WORK/ref.db" < "$WORK/ddl.sql"
  # Same storage settings lstore's rebuild uses (Rematerializer.swift): no journal, no sync.
  "$GNU_TIME" -v -o "$TIMEOUT" "$SQLITE3" -cmd "PRAGMA journal_mode=OFF" -cmd "PRAGMA synchronous=OFF" \
    -cmd "PRAGMA cache_size=-32768" "$WORK/ref.db" < "$REF_SQL" > /dev/null
  record sqlite3
}

new_store() {  # new_store DIR STORE_ID
  rm -rf "$1"; mkdir -p "$1"
  (cd "$1" && "$LSTORE" -q init --schema "$SCHEMA" --store-id "$2" >/dev/null)
}

STORE=$WORK/store
run_import() {
  new_store "$STORE" bench-todos
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" import "$EXPORT_IN" > /dev/null
  record import
}
run_materialize() {
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" materialize > /dev/null
  record materialize
}
run_export() {
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" export -o "$WORK/out.ndjson"
  record export
}
run_export_gzip() {
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -q -C "$STORE" export --gzip -o "$WORK/out.ndjson.gz"
  record export-gzip
}
run_log() {
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -C "$STORE" log --oneline | cat > /dev/null
  record log-oneline
}
run_log_events() {
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -C "$STORE" log --oneline --events | cat > /dev/null
  record log-oneline-events
}
PSTORE=$WORK/store-pending
run_import_pending() {
  # Another storeId: the export's backend head does not apply, so every event is pending
  # and gets a session changeset, as in a store that never pushed.
  new_store "$PSTORE" bench-todos-fork
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -q -C "$PSTORE" import "$EXPORT_IN" > /dev/null
  record import-pending
}
run_materialize_pending() {
  "$GNU_TIME" -v -o "$TIMEOUT" "$LSTORE" -q -C "$PSTORE" materialize > /dev/null
  record materialize-pending
}

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
  say "repetition $rep of $REPS"
  run_reference
  run_import
  run_materialize
  run_export
  run_export_gzip
  run_log
  run_log_events
done

# --- checks (not timed) ------------------------------------------------------------------
say "checking results"
STATE=$(ls "$STORE"/.lstore/branches/main/state*.db)
for table in todos uiState; do
  a=$("$SQLITE3" "$WORK/ref.db" "SELECT * FROM $table ORDER BY id" | sha256sum)
  b=$("$SQLITE3" "$STATE" "SELECT * FROM $table ORDER BY id" | sha256sum)
  [ "$a" = "$b" ] || { echo "FAIL: table $table differs between lstore's state and the sqlite3 reference" >&2; exit 1; }
done
cmp -s <(gzip -dc "$EXPORT_IN" | tail -n +2) <(tail -n +2 "$WORK/out.ndjson") \
  || { echo "FAIL: export is not byte-identical to the imported file (apart from the header)" >&2; exit 1; }
cmp -s <(gzip -dc "$WORK/out.ndjson.gz" | tail -n +2) <(tail -n +2 "$WORK/out.ndjson") \
  || { echo "FAIL: export --gzip differs from export" >&2; exit 1; }

if [ "$PENDING" = 1 ]; then
  say "all-pending variant (one repetition)"
  run_import_pending
  run_materialize_pending
  n=$("$SQLITE3" "$(ls "$PSTORE"/.lstore/branches/main/state*.db)" "SELECT count(*) FROM __livestore_session_changeset")
  [ "$n" = "$N" ] || { echo "FAIL: expected $N changeset rows in the pending store, found $n" >&2; exit 1; }
fi

# --- report ------------------------------------------------------------------------------
python3 - "$RESULTS" "$N" "$SET/dataset.json" "$LOAD_BEFORE" > "$WORK/report.md" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss, cpu = line.split("\t")
    rows.setdefault(name, []).append((float(wall), int(rss), float(cpu)))
n = int(sys.argv[2])
ds = json.load(open(sys.argv[3]))
med = {k: statistics.median(w for w, _, _ in v) for k, v in rows.items()}
cpu = {k: statistics.median(c for _, _, c in v) for k, v in rows.items()}
rss = {k: max(r for _, r, _ in v) / 1024 for k, v in rows.items()}
ref = med["sqlite3"]
MB = 100
bars = {
    "sqlite3": ("reference", None),
    "materialize": ("ratio ≤ 1.00", lambda: med["materialize"] / ref <= 1.0),
    "import": ("≥ 200,000 ev/s", lambda: n / med["import"] >= 200_000),
    "export": ("≥ 500,000 ev/s", lambda: n / med["export"] >= 500_000),
    "export-gzip": ("(reported)", None),
    "log-oneline": ("< 2 s", lambda: med["log-oneline"] < 2.0),
    "log-oneline-events": ("< 2 s", lambda: med["log-oneline-events"] < 2.0),
    "import-pending": ("(reported)", None),
    "materialize-pending": ("(reported)", None),
}
what = {
    "sqlite3": "sqlite3 CLI: equivalent SQL, one transaction",
    "materialize": "lstore materialize (from scratch)",
    "import": "lstore import (gzip NDJSON)",
    "export": "lstore export -o file",
    "export-gzip": "lstore export --gzip -o file",
    "log-oneline": "lstore log --oneline \\| cat",
    "log-oneline-events": "lstore log --oneline --events \\| cat",
    "import-pending": "import, every event pending (changesets)",
    "materialize-pending": "materialize, every event pending (changesets)",
}
print(f"N = {n:,} events ({ds['commits']:,} commits, {ds['todos']:,} todos, mix {json.dumps(ds['mix'], sort_keys=True)}); "
      f"median of {len(rows['sqlite3'])} runs, max RSS over runs")
print()
print(f"load average before/after the runs: {sys.argv[4]} / {open('/proc/loadavg').read().split()[0]} (2 cores: above 2, wall times include waiting for a CPU)")
print()
print("| benchmark | median s | events/s | ratio vs sqlite3 | CPU s (user+sys) | max RSS MB | bar | met |")
print("|---|---:|---:|---:|---:|---:|---|---|")
for k in what:
    if k not in med:
        continue
    label, check = bars[k]
    ok = [] if check is None else [check()]
    if k != "sqlite3" and k != "export-gzip" and not k.endswith("pending"):
        ok.append(rss[k] < MB)
    met = "" if not ok else ("yes" if all(ok) else "**NO**")
    if k != "sqlite3" and rss[k] >= MB:
        label += f"; RSS < {MB} MB"
    elif ok:
        label += f"; RSS < {MB} MB"
    print(f"| {what[k]} | {med[k]:.2f} | {n / med[k]:,.0f} | {med[k] / ref:.2f} | {cpu[k]:.2f} | {rss[k]:.0f} | {label} | {met} |")
EOF
cat "$WORK/report.md"
cp "$WORK/report.md" "$DATA/report-$N.md"
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$STORE" "$PSTORE" "$WORK/out.ndjson" "$WORK/out.ndjson.gz" "$WORK/ref.db"; fi
