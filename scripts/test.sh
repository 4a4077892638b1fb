#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run calls exactly this).
#   unit tests of the libraries, protocol and server tests, the end-to-end suite of the
#   built binary, and a check that man pages and shell completions are current.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --postgres
swift build --build-tests
bash scripts/generate-docs.sh --check

log="$(mktemp)"
# The PostgreSQL backend's tests (storage, two nodes, SIGKILL of a node) need a server: a
# throwaway cluster on a free loopback port, gone when the run ends.
source scripts/postgres-cluster.sh
trap 'postgres_cluster_stop; rm -f "$log"' EXIT
postgres_cluster_start
echo "test: PostgreSQL for the tests at ${LSTORE_TEST_POSTGRES_URL%%\?*}" >&2
status=0
# All tests are XCTest; Swift Testing's own (empty) run would only add a misleading
# "0 tests" closing line.
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
summary="$(grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -1 || true)"
if [[ -n "$summary" ]]; then
  total="$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")"
  failed="$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")"
  echo "tests: $((total - failed)) passed, $failed failed"
fi
# A PostgreSQL test that skipped here would be a test CI never runs.
if grep -E "Test Case .*(Postgres|TwoNode).* skipped" "$log"; then
  echo "test: PostgreSQL tests were skipped (see above); they must run" >&2
  status=1
fi
exit "$status"
