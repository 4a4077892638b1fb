#!/usr/bin/env bash
# Installs the system packages lstore builds and tests with (Debian), when missing.
# Safe to run again: it only calls apt-get for what is not installed yet.
set -euo pipefail

packages=(libsqlite3-dev zlib1g-dev sqlite3 time curl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# --no-swift: for running an lstore already built (scripts/demo.sh --binary), not building one.
[[ "${1:-}" == "--no-swift" ]] || command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected Swift 6.x at /opt/swift)" >&2; exit 1; }
