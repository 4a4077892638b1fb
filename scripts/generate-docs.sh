#!/usr/bin/env bash
# Regenerates man/ (one page per command) and completions/ (bash, zsh, fish) from the
# command tree. With --check, fails when the committed files are not current.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[[ "${1:-}" == "--check" ]] && check=true

swift build --product lstore >/dev/null
swift build --product generate-manual >/dev/null
bin="$(swift build --show-bin-path)"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/man" "$out/completions"
# A fixed date keeps the pages reproducible, so CI can compare them byte for byte.
"$bin/generate-manual" "$bin/lstore" --multi-page --date 2026-01-01 --output-directory "$out/man" >/dev/null
"$bin/lstore" --generate-completion-script bash >"$out/completions/lstore.bash"
"$bin/lstore" --generate-completion-script zsh >"$out/completions/_lstore"
"$bin/lstore" --generate-completion-script fish >"$out/completions/lstore.fish"

if $check; then
  if ! diff -r man "$out/man" >/dev/null || ! diff -r completions "$out/completions" >/dev/null; then
    diff -r man "$out/man" | head -20 || true
    diff -r completions "$out/completions" | head -20 || true
    echo "generate-docs: man/ or completions/ is out of date; run scripts/generate-docs.sh and commit" >&2
    exit 1
  fi
  echo "generate-docs: man/ and completions/ are current"
else
  rm -rf man completions
  cp -r "$out/man" man
  cp -r "$out/completions" completions
  echo "generate-docs: wrote man/ and completions/"
fi
