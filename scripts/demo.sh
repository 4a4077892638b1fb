#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs lstore's main job end to end on the
# embedded defaults: build, create a store from the TodoMVC example schema, commit,
# read history, rebuild state, export, import into a second store, and sync both stores
# through an embedded `lstore serve` on a free loopback port.
# Leaves the demo stores in ./demo (removed and recreated on each run).
#
# Usage: bash scripts/demo.sh [--release | --binary PATH]
#   lstore is installed with scripts/install.sh into demo/.install (a debug build by default:
#   quicker to build; --release for release speed, as the README's figures are measured;
#   --binary to use an lstore already built). The output is the commands run, echoed so
#   they can be pasted back, and what they print; colors only on a terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

install_args=(--debug)
setup_args=()
case "${1:-}" in
  --release) install_args=() ;;
  --binary) install_args=(--binary "${2:?--binary needs a path}") setup_args=(--no-swift) ;;
  "") ;;
  *) echo "demo: unknown option '$1' (--release or --binary PATH)" >&2; exit 64 ;;
esac

# Bold command lines on a terminal only: a file or a pipe gets plain text.
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
# A word as a shell would need it to paste the line back: bare when safe, else quoted.
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
echo_command() {
  local line="" word
  for word in "$@"; do line+="${line:+ }$(quote "$word")"; done
  printf '\n%s$ %s%s\n' "$bold" "$line" "$plain"
}

# LSTORE_DEMO_DIR: somewhere else than ./demo (the tests run the demo in a sandbox).
demo="${LSTORE_DEMO_DIR:-$root/demo}"
bash scripts/setup.sh "${setup_args[@]}"  # silent unless a system package is missing
echo_command bash scripts/install.sh --prefix "$demo/.install" "${install_args[@]}"
rm -rf "$demo"
mkdir -p "$demo"
bash scripts/install.sh --prefix "$demo/.install" "${install_args[@]}" --quiet
export PATH="$demo/.install/bin:$PATH"
lstore="$demo/.install/bin/lstore"

mkdir -p "$demo/alice"
cd "$demo/alice"
export LSTORE_AUTHOR_NAME="Alice" LSTORE_AUTHOR_EMAIL="alice@example.com"
run() { echo_command lstore "$@"; "$lstore" "$@"; }

run init --schema "$root/examples/todomvc/schema.yaml" --store-id todos
run commit v1.TodoCreated '{"id":"t1","text":"Buy milk"}' -m "First todo"
cat >week.ndjson <<'NDJSON'
{"name":"v1.TodoCreated","args":{"id":"t2","text":"Plan the week"}}
{"name":"v1.TodoCreated","args":{"id":"t3","text":"Water the plants"}}
{"name":"uiStateSet","args":{"value":{"filter":"active"}}}
{"name":"v1.TodoCompleted","args":{"id":"t1"}}
NDJSON
run commit -m "Plan the week" --file week.ndjson
run log
run log --oneline --events
run status
run show e4
run materialize
run export --gzip -o "$demo/backup.ndjson.gz"

mkdir -p "$demo/bob"
run -C "$demo/bob" init --schema "$root/examples/todomvc/schema.yaml" --store-id todos
run -C "$demo/bob" import "$demo/backup.ndjson.gz"
run -C "$demo/bob" log --oneline
state=("$demo"/bob/.lstore/branches/main/state*@4.db)
echo_command sqlite3 -header -column "${state[0]}" "SELECT id, text, completed FROM todos ORDER BY id"
sqlite3 -header -column "${state[0]}" "SELECT id, text, completed FROM todos ORDER BY id"

# Sync: an embedded backend on a free loopback port; Alice pushes, Bob (who committed
# meanwhile) is refused, pulls (his event is rebased after Alice's), pushes; Alice pulls.
"$lstore" serve --port 0 --data "$demo/backend" 2>"$demo/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$demo/serve.log" 2>/dev/null | grep -o '[0-9]*$' || true)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$demo/serve.log" >&2; echo "demo: lstore serve did not start" >&2; exit 1; }
echo_command lstore serve --port 0 --data "$demo/backend"
printf '(in the background, listening on 127.0.0.1:%s)\n' "$port"
run -C "$demo/alice" remote add origin "ws://127.0.0.1:$port"
run -C "$demo/bob" remote add origin "ws://127.0.0.1:$port"
run -C "$demo/alice" commit v1.TodoCreated '{"id":"t5","text":"Book the dentist"}' -m "Alice's todo"
run -C "$demo/alice" push
LSTORE_AUTHOR_NAME=Bob run -C "$demo/bob" commit v1.TodoCreated '{"id":"t4","text":"Call mum"}' -m "Bob's todo"
run -C "$demo/bob" push || echo "(exit $?: the backend is ahead; pull first)"
run -C "$demo/bob" pull
run -C "$demo/bob" log --oneline
run -C "$demo/bob" push
run -C "$demo/alice" pull
run -C "$demo/alice" log --oneline --events
run -C "$demo/alice" status

printf '\nDemo stores are in %s (alice and bob; backend in %s/backend).\n' "$demo" "$demo"
