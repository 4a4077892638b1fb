#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs lstore's main job end to end on the
# embedded defaults: build, create a store from the TodoMVC example schema, commit,
# read history, rebuild state, export, import into a second store, and sync both stores
# through an embedded `lstore serve` on a free loopback port.
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
printf '\n\033[1m$ lstore serve --port 0 --data %s &\033[0m   (listening on 127.0.0.1:%s)\n' "$demo/backend" "$port"
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
