#!/usr/bin/env bash
# The whole test suite, on a fresh machine: set-up, then pytest on both cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec "$root/.venv/bin/python" -m pytest -q -n 2 "$@"
