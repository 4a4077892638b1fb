#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run calls exactly this).
#   unit tests of the libraries, protocol and server tests, the end-to-end suite of the
#   built binary, and a check that man pages and shell completions are current.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build --build-tests
bash scripts/generate-docs.sh --check

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
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
exit "$status"
