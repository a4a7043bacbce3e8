#!/usr/bin/env bash
# The main job, on a fresh machine: set-up, validate the example project, then run the
# generator/reviewer example end to end. The run replays model answers recorded in
# pipelines/cassettes/article_review.json (scripted answers recorded through the real litellm
# path by scripts/record_demo.py), so it needs no API key and no network.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
"$root/.venv/bin/agentctl" validate
"$root/.venv/bin/agentctl" run pipelines/article_review.yaml \
  -i "topic=Idempotency keys in payment APIs" \
  --replay pipelines/cassettes/article_review.json
