#!/usr/bin/env bash
# The whole test suite, on a fresh machine: set-up, then pytest on both cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
# The base install's wheels (pinned by the lock), for the pre-commit hook's own environment in
# tests/test_pre_commit.py, which then installs with no index: the test itself needs no network.
wheels=.venv/wheelhouse
want="$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$wheels/.stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$wheels"
  .venv/bin/python -m pip download -qq --disable-pip-version-check --only-binary :all: -d "$wheels" \
    -c requirements.lock . setuptools
  echo "$want" > "$wheels/.stamp"
fi
# Microsoft's SARIF Multitool (a .NET binary in an npm package, pinned) for tests/test_sarif.py,
# where npm is available on Linux; without it that test says why it skipped.
multitool=.venv/sarif-multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
if [ ! -x "$multitool" ] && [ "$(uname -s)" = Linux ] && command -v npm >/dev/null; then
  if npm install --silent --no-save --no-audit --no-fund --prefix .venv/sarif-multitool \
      @microsoft/sarif-multitool-linux@5.7.0 >/dev/null 2>&1; then
    chmod u+x "$multitool"
  else
    echo "note: npm could not install the SARIF Multitool; tests/test_sarif.py will skip it" >&2
  fi
fi
# yaml-language-server (the server behind VS Code's YAML extension, pinned) for tests/test_editor.py:
# what an editor shows with the schemas and the settings `agentctl init` writes.
yls=.venv/yaml-language-server/node_modules/.bin/yaml-language-server
if [ ! -e "$yls" ] && command -v npm >/dev/null; then
  npm install --silent --no-save --no-audit --no-fund --prefix .venv/yaml-language-server \
    yaml-language-server@1.19.2 >/dev/null 2>&1 \
    || echo "note: npm could not install yaml-language-server; tests/test_editor.py will skip" >&2
fi
exec "$root/.venv/bin/python" -m pytest -q -n 2 "$@"
