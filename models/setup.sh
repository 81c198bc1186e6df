#!/usr/bin/env bash
# Creates models/.venv with the pinned training requirements (models/requirements.txt).
# Index: PIP_INDEX_URL / PIP_EXTRA_INDEX_URL if set (e.g. a local wheel mirror), else pip's own configuration
# (PyPI on a machine with internet). The torch wheel is the CPU build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
args=()
if [ -n "${PIP_INDEX_URL:-}" ]; then args+=(--index-url "$PIP_INDEX_URL"); fi
if [ -n "${PIP_EXTRA_INDEX_URL:-}" ]; then
  for u in $PIP_EXTRA_INDEX_URL; do args+=(--extra-index-url "$u"); done
fi
if [ -z "${PIP_INDEX_URL:-}" ]; then args+=(--extra-index-url https://download.pytorch.org/whl/cpu); fi
# Offline (no DNS for PyPI), pip's retries of the unreachable indexes only add minutes of back-off before it uses the
# locally configured ones.
if ! getent hosts pypi.org >/dev/null 2>&1; then args+=(--retries 0); fi
"$here/.venv/bin/python" -m pip install "${args[@]}" -r "$here/requirements.txt"
"$here/.venv/bin/python" -c "import torch, onnx, onnxruntime, numpy; print('torch', torch.__version__, 'onnx', onnx.__version__, 'ort', onnxruntime.__version__)"
