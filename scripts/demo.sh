#!/usr/bin/env bash
# The main job, on a fresh machine: set-up, then validate the example project and show the
# compiled graph of the travel planner with its worst-case bounds. No API key, no network.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
"$root/.venv/bin/agentctl" validate
"$root/.venv/bin/agentctl" graph pipelines/travel.yaml
