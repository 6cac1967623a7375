#!/usr/bin/env bash
# Install everything the tests need into .venv and run the whole test suite.
# Used as-is by CI (.ci/run). Needs ../shared beside the repository for the real
# models; tests that need it skip with a stated reason when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_into_venv dev

# The browser tests (tests/browser.py) open HTML in Debian's headless Chromium, driven by
# Playwright; Playwright's own browser downloads are never used. Installed here, when missing and
# we may (root or passwordless sudo), because CI runs this script on a clean machine. Otherwise
# those tests skip with a stated reason.
ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            echo "test.sh: /usr/bin/chromium is missing and we are not root: the browser tests will skip."
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "test.sh: /usr/bin/chromium is missing and there is no apt-get: the browser tests will skip."
        return 0
    fi
    echo "test.sh: installing Debian's chromium for the browser tests (once)..."
    # apt and dpkg chatter goes to a log; only its last line is shown, and only when the install fails.
    local log
    log="$(mktemp)"
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -qq && apt-get install -y -qq chromium' >"$log" 2>&1; then
        echo "test.sh: could not install chromium ($(tail -n 1 "$log")); the browser tests will skip (log: $log)."
        return 0
    fi
    rm -f "$log"
}
ensure_chromium

# No screen in CI: Qt draws offscreen.
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
