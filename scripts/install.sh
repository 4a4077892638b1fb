#!/usr/bin/env bash
# Builds lstore and installs it with its man pages and shell completions:
#   <prefix>/bin/lstore
#   <prefix>/share/man/man1/lstore.1, lstore-log.1, …          (man lstore-log)
#   <prefix>/share/bash-completion/completions/lstore
#   <prefix>/share/zsh/site-functions/_lstore
#   <prefix>/share/fish/vendor_completions.d/lstore.fish
#
# Usage: bash scripts/install.sh [--prefix DIR] [--debug | --binary PATH] [--quiet]
#   --prefix DIR    where to install (default: ~/.local; /usr/local needs sudo)
#   --debug         a debug build instead of the release build (faster to build, slower to run)
#   --binary PATH   install this lstore binary as it is, building nothing
#   --quiet         print nothing but errors
# The build's own output goes to a log file, shown only when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

prefix="${HOME}/.local"
configuration=release
binary=""
quiet=false
while (($#)); do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --debug) configuration=debug; shift ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --quiet) quiet=true; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown option '$1' (see 'bash scripts/install.sh --help')" >&2; exit 64 ;;
  esac
done
say() { $quiet || echo "$@"; }
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

if [[ -z "$binary" ]]; then
  bash scripts/setup.sh
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  say "install: swift build -c $configuration --product lstore (a few minutes the first time)"
  if ! swift build -c "$configuration" --product lstore >"$log" 2>&1; then
    cat "$log" >&2
    echo "install: the build failed" >&2
    exit 1
  fi
  binary="$(swift build -c "$configuration" --show-bin-path 2>/dev/null)/lstore"
fi
[[ -x "$binary" ]] || { echo "install: no lstore binary at $binary" >&2; exit 66; }

install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/man/man7" "$prefix/share/bash-completion/completions" \
  "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
# Copied to a temporary name and renamed, so a running lstore is never overwritten in place.
install -m 755 "$binary" "$prefix/bin/.lstore.new"
mv -f "$prefix/bin/.lstore.new" "$prefix/bin/lstore"
install -m 644 "$root"/man/*.1 "$prefix/share/man/man1/"
install -m 644 "$root"/man/*.7 "$prefix/share/man/man7/"
install -m 644 "$root/completions/lstore.bash" "$prefix/share/bash-completion/completions/lstore"
install -m 644 "$root/completions/_lstore" "$prefix/share/zsh/site-functions/_lstore"
install -m 644 "$root/completions/lstore.fish" "$prefix/share/fish/vendor_completions.d/lstore.fish"

say "install: installed lstore $("$prefix/bin/lstore" --version 2>/dev/null || true) as $prefix/bin/lstore, with man pages and completions"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) say "install: $prefix/bin is not on PATH; add it: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
