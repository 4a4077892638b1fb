#!/usr/bin/env bash
# Version-control benchmarks, each beside git doing the same shape of work in the same run.
#
#   bash benchmarks/version-control.sh [COMMITS] [EVENTS_PER_COMMIT] [BASE_EVENTS] [BRANCH_EVENTS]
#
# Defaults: 1,000 branch commits of 10 events (10,000 events) rebased over 10,000 new base
# events (issue 6's bar: under 1 s), and branch creation at 1,000,000 events (bar: under
# 0.5 s). The rebase is also run at twice and four times the size, to show peak memory
# flat in the number of events. LSTORE=/path/to/lstore measures another binary (no build). Results go to stdout;
# docs/benchmarks.md records them with the machine they ran on.
set -euo pipefail

COMMITS=${1:-1000}
PER_COMMIT=${2:-10}
BASE_EVENTS=${3:-10000}
BRANCH_EVENTS=${4:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=$ROOT/bench-data/vc
SCHEMA=$ROOT/examples/todomvc/schema.yaml
GNU_TIME=/usr/bin/time
say() { printf '== %s\n' "$*" >&2; }
command -v git >/dev/null || { echo "git is needed for the reference" >&2; exit 1; }
[ -x "$GNU_TIME" ] || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo; $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

if [ -z "${LSTORE:-}" ]; then
  say "building lstore (release, scratch path .build-release)"
  (cd "$ROOT" && swift build -c release --scratch-path .build-release --product lstore >&2)
  LSTORE=$ROOT/.build-release/release/lstore
fi
export LSTORE_DATE=2026-01-01T00:00:00.000Z LSTORE_AUTHOR_NAME=bench LSTORE_AUTHOR_EMAIL=bench@example.com NO_COLOR=1

# Wall seconds, peak RSS (MiB) and CPU seconds (user + sys) of a command:
# "<seconds> <MiB> <cpu>". On a shared machine the CPU time is the steadier figure.
measure() {
  local out; out=$(mktemp)
  "$GNU_TIME" -f '%e %M %U %S' -o "$out" "$@" >/dev/null
  awk '{ printf "%.3f %.1f %.2f", $1, $2 / 1024, $3 + $4 }' "$out"; rm -f "$out"
}

# lstore: a branch of COMMITS commits × PER_COMMIT events, main gaining BASE events.
lstore_rebase() {
  local commits=$1 base=$2 dir=$DATA/lstore-$1-$2
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  "$LSTORE" -q init --schema "$SCHEMA" --store-id bench >/dev/null
  "$LSTORE" -q commit v1.TodoCreated '{"id":"root","text":"root"}' -m root >/dev/null
  "$LSTORE" -q branch exp >/dev/null
  python3 - "$base" > base.ndjson <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"name": "v1.TodoCreated", "args": {"id": f"m{i}", "text": f"main {i}"}}))
PY
  "$LSTORE" -q commit -m "main work" --file base.ndjson >/dev/null
  "$LSTORE" -q switch exp >/dev/null
  for ((c = 0; c < commits; c++)); do
    for ((e = 0; e < PER_COMMIT; e++)); do
      printf '{"name":"v1.TodoCreated","args":{"id":"b%d-%d","text":"branch"}}\n' "$c" "$e"
    done > c.ndjson
    "$LSTORE" -q commit -m "branch commit $c" --file c.ndjson >/dev/null
  done
  measure "$LSTORE" -q rebase main
  cd - >/dev/null
}

# git: the same shape (a commit per lstore commit, each adding one file), built with
# fast-import so that setting up is quick; then `git rebase main` on the branch.
git_rebase() {
  local commits=$1 base=$2 dir=$DATA/git-$1-$2
  rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
  git init -q -b main .
  python3 - "$commits" "$base" <<'PY' | git fast-import --quiet
import sys
commits, base = int(sys.argv[1]), int(sys.argv[2])
mark = 0
def commit(ref, message, path, parent=None):
    global mark
    mark += 1
    data = f"{path}\n"
    out = [f"commit {ref}", f"mark :{mark}", "committer bench <b@e> 1767225600 +0000",
           f"data {len(message)}", message]
    if parent: out.append(f"from :{parent}")
    out += [f"M 644 inline {path}", f"data {len(data)}", data]
    sys.stdout.write("\n".join(out) + "\n")
    return mark
root = commit("refs/heads/main", "root", "root")
# main gains one commit per lstore commit of base events would be too many files; one file
# per 10 events keeps the trees comparable with the branch's.
prev = root
for i in range(max(1, base // 10)):
    prev = commit("refs/heads/main", f"main {i}", f"main/{i}", prev)
prev = root
for i in range(commits):
    prev = commit("refs/heads/exp", f"branch commit {i}", f"exp/{i}", prev)
PY
  git checkout -q exp
  measure git -c user.name=bench -c user.email=b@e rebase -q main
  cd - >/dev/null
}

mkdir -p "$DATA"
say "rebase: $COMMITS commits x $PER_COMMIT events over $BASE_EVENTS base events"
read -r ls_s ls_m ls_c <<<"$(lstore_rebase "$COMMITS" "$BASE_EVENTS")"
read -r git_s git_m git_c <<<"$(git_rebase "$COMMITS" "$BASE_EVENTS")"
say "rebase at twice and four times the size"
read -r ls2_s ls2_m ls2_c <<<"$(lstore_rebase $((COMMITS * 2)) $((BASE_EVENTS * 2)))"
read -r ls4_s ls4_m ls4_c <<<"$(lstore_rebase $((COMMITS * 4)) $((BASE_EVENTS * 4)))"

say "branch creation at $BRANCH_EVENTS events"
dir=$DATA/branch-$BRANCH_EVENTS
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
"$LSTORE" -q init --schema "$SCHEMA" --store-id bench >/dev/null
python3 - "$BRANCH_EVENTS" > all.ndjson <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"name": "v1.TodoCreated", "args": {"id": f"t{i}", "text": f"todo {i}"}}))
PY
"$LSTORE" -q commit -m all --file all.ndjson >/dev/null
read -r br_s br_m br_c <<<"$(measure "$LSTORE" -q branch copy)"
read -r cp_s cp_m cp_c <<<"$(measure cp -r .lstore/branches/main cp-reference)"
size=$(du -sm .lstore/branches/main | cut -f1)
cd - >/dev/null
git_dir=$DATA/git-$COMMITS-$BASE_EVENTS
read -r gb_s gb_m gb_c <<<"$(cd "$git_dir" && measure git branch copy)"

row() { printf '%-58s %10s %10s %10s %10s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
row "measure" "seconds" "CPU s" "peak MiB" "ratio"
row "lstore rebase ($((COMMITS * PER_COMMIT)) events, $COMMITS commits, over $BASE_EVENTS)" "$ls_s" "$ls_c" "$ls_m" "$(ratio "$ls_s" "$git_s")"
row "git rebase (same shape)" "$git_s" "$git_c" "$git_m" "1.00"
row "lstore rebase at twice the size" "$ls2_s" "$ls2_c" "$ls2_m" "-"
row "lstore rebase at four times the size" "$ls4_s" "$ls4_c" "$ls4_m" "-"
row "lstore branch at $BRANCH_EVENTS events ($size MiB of files)" "$br_s" "$br_c" "$br_m" "$(ratio "$br_s" "$cp_s")"
row "cp -r of the branch files (reference)" "$cp_s" "$cp_c" "$cp_m" "1.00"
row "git branch (reference; shares history)" "$gb_s" "$gb_c" "$gb_m" "-"
echo
echo "bars: rebase < 1 s; branch creation < 0.5 s; peak memory flat (bounded: SQLite's page cache, 16 MiB a file, fills and stops)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
