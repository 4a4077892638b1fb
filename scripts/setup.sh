#!/usr/bin/env bash
# Installs the system packages lstore builds and tests with (Debian), when missing.
# Safe to run again: it only calls apt-get for what is not installed yet.
set -euo pipefail

#   --postgres  also PostgreSQL's server (initdb, pg_ctl), which the tests of the PostgreSQL
#               backend start a throwaway cluster with (scripts/postgres-cluster.sh); lstore
#               itself, the demo and `lstore serve` without --database never need it.
#   --no-swift  for running an lstore already built (scripts/demo.sh --binary), not building one.
packages=(libsqlite3-dev zlib1g-dev sqlite3 time curl)
need_swift=1
for arg in "$@"; do
  case "$arg" in
    --postgres) packages+=(postgresql) ;;
    --no-swift) need_swift=0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 64 ;;
  esac
done
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
((need_swift == 0)) || command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected Swift 6.x at /opt/swift)" >&2; exit 1; }
