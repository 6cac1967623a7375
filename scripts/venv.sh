# Sourced by start.sh and test.sh: create .venv if needed and install the
# project with the extras given ("convert", "dev").
#
# The install is editable, so changed sources need no reinstall: only a changed
# pyproject.toml does (dependencies, packages, entry points). A stamp in .venv
# records what was installed; when it matches, pip is not run at all, which
# makes a second start quick and keeps it working offline.
install_into_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-${extras//,/-}"
    local wanted
    wanted="$(.venv/bin/python -c 'import hashlib, sys; print(sys.version.split()[0], hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x .venv/bin/tflite-inspector ]; then
        return 0
    fi
    # Said before the long silent steps (a first install downloads about 2 GB); pip's own lines
    # stay off, its errors do not.
    echo "Installing TFLite Inspector with [${extras}] into .venv (first time: several minutes; later starts skip this)…" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet --progress-bar on -e ".[${extras}]"
    echo "$wanted" > "$stamp"
    echo "Installed." >&2
}
