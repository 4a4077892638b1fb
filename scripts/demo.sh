#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs lstore's main job end to end on the
# embedded defaults: build, create a store from the TodoMVC example schema, commit,
# read history, rebuild state, export, and import into a second store.
# Leaves the demo stores in ./demo (removed and recreated on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

bash scripts/setup.sh
swift build --product lstore
lstore="$(swift build --show-bin-path)/lstore"

demo="$root/demo"
rm -rf "$demo"
mkdir -p "$demo/alice"
cd "$demo/alice"
export LSTORE_AUTHOR_NAME="Alice" LSTORE_AUTHOR_EMAIL="alice@example.com"
run() { printf '\n\033[1m$ lstore %s\033[0m\n' "$*"; "$lstore" "$@"; }

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
printf '\n\033[1m$ sqlite3 bob/.lstore/branches/main/state*.db "SELECT * FROM todos"\033[0m\n'
sqlite3 -header -column "$demo"/bob/.lstore/branches/main/state*@4.db "SELECT id, text, completed FROM todos ORDER BY id"

printf '\nDemo stores are in %s (alice and bob).\n' "$demo"
