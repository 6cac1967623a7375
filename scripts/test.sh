#!/usr/bin/env bash
# Install everything the tests need into .venv and run the whole test suite.
# Used as-is by CI (.ci/run). Needs ../shared beside the repository for the real
# models; tests that need it skip with a stated reason when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_into_venv dev

# No screen in CI: Qt draws offscreen.
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
