#!/usr/bin/env bash
# Install TFLite Inspector into .venv and open the bundled sample model.
# Extra arguments replace the sample: scripts/start.sh path/to/model.tflite
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_into_venv convert

if [ "$#" -eq 0 ]; then
    set -- tflite_inspector/resources/samples/shapes_int8.tflite
fi
# The desktop app is not built yet (issue 3); until then this prints the summary.
exec .venv/bin/tflite-inspector inspect "$@"
