#!/usr/bin/env bash
# Set up .venv (as the tests do), then add the pinned benchmark-only packages (LangGraph).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/.venv/bin/python" -m pip install -qq --disable-pip-version-check -r "$root/bench/requirements.lock"
