#!/usr/bin/env bash
# Install everything the tests need into .venv and run the whole test suite.
# Used as-is by CI (.ci/run). Needs ../shared beside the repository for the real
# models; tests that need it skip with a stated reason when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

# No screen in CI: Qt draws offscreen.
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
