#!/usr/bin/env bash
# Install the Debian packages Tailor needs, only those missing.
# As root: apt-get installs them. Otherwise: print the exact apt-get line and fail.
# Usage: scripts/ensure-debs.sh PACKAGE... (a package named cmd:NAME is satisfied by a NAME command)
set -euo pipefail
missing=()
for spec in "$@"; do
  case "$spec" in
    cmd:*) name=${spec#cmd:}; command -v "$name" >/dev/null 2>&1 || missing+=("$name") ;;
    *) dpkg-query -W -f='${Status}' "$spec" 2>/dev/null | grep -q "install ok installed" || missing+=("$spec") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Tailor needs these Debian packages. Run:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
