#!/usr/bin/env bash
# Create .venv and install exactly what requirements.lock pins, then agentctl itself.
# Idempotent: skips the install when the lock has not changed since the last one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"

if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "agentctl needs Python 3.11 or newer; '$py' is $("$py" --version 2>&1)." >&2
  echo "Set PYTHON=/path/to/python3.11 and try again." >&2
  exit 2
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"

stamp="$venv/.lock-sha256"
want="$(cat "$root/requirements.lock" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install -qq --disable-pip-version-check -r "$root/requirements.lock"
  "$venv/bin/python" -m pip install -qq --disable-pip-version-check --no-deps --no-build-isolation -e "$root"
  echo "$want" > "$stamp"
fi
# Bytecode for agentctl itself: an editable install compiles nothing, and where
# PYTHONDONTWRITEBYTECODE is set (common in CI images) every command would recompile
# ~60 modules from source (~30 ms per start). compileall skips what is up to date.
"$venv/bin/python" -m compileall -q "$root/agentctl" > /dev/null

# litellm 1.82.7/1.82.8 shipped a litellm_init.pth that runs at every interpreter start.
if compgen -G "$venv/lib/python*/site-packages/litellm_init.pth" > /dev/null; then
  echo "refusing to continue: litellm_init.pth found in $venv (malicious litellm release)" >&2
  exit 1
fi
