#!/usr/bin/env bash
# Install TFLite Inspector into .venv and open the bundled sample model.
# Extra arguments replace the sample: scripts/start.sh path/to/model.tflite
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_into_venv convert

# With no files the app opens the bundled sample model.
exec .venv/bin/tflite-inspector "$@"
