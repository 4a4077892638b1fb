#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run calls exactly this).
#   unit tests of the library, protocol and server tests, the end-to-end suite of the
#   built binary, and a check that man pages and shell completions are current.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
swift build --build-tests
bash scripts/generate-docs.sh --check
swift test --skip-build
