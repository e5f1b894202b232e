#!/usr/bin/env bash
# Create the virtualenv with Python 3.11 (installing python3-venv on a bare Debian when needed).
set -euo pipefail
venv=${1:-.venv}
[ -x "$venv/bin/python" ] && exit 0
py=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    py=$candidate; break
  fi
done
if [ -z "$py" ]; then
  echo "Python 3.11 is required (Debian 12: apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$py" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  "$py" -m venv "$venv"
fi
